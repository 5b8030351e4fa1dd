"""Prompts are not managed by Skein: every prompt name answers a clean 404 in the error shape,
so an SDK's `get_prompt(..., fallback=...)` falls back at once instead of failing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from skein.api.access import project_of
from skein.errors import NotFound


async def get_prompt(request: Request) -> JSONResponse:
    await project_of(request)
    name = request.path_params["name"]
    raise NotFound(f"prompt {name!r} not found: Skein does not manage prompts")


async def list_prompts(request: Request) -> JSONResponse:
    await project_of(request)
    raise NotFound("prompts are not managed by Skein")
