"""What every read endpoint starts with: the caller's project, and the store to ask."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from skein.errors import BadRequest
from skein.services import Services
from skein.store.base import Store

Result = TypeVar("Result")


async def project_of(request: Request) -> str:
    """The project id of the request's key (401 without a valid one)."""
    services: Services = request.app.state.services
    return await services.authenticate(request)


def store_of(request: Request) -> Store:
    services: Services = request.app.state.services
    return services.store


async def in_thread(call: Callable[..., Result], *args: Any) -> Result:
    """Run a blocking store call off the event loop."""
    return await run_in_threadpool(call, *args)


def refuse_structured_filter(request: Request) -> None:
    """Langfuse's JSON `filter` parameter is not supported: refuse rather than ignore it."""
    if request.query_params.get("filter"):
        raise BadRequest("parameter 'filter' is not supported; use the simple filter parameters")
