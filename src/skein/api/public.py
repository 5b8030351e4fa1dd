"""Langfuse-compatible public endpoints: health and the project of the caller's key."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from skein import __version__
from skein.errors import NotFound
from skein.services import Services


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "OK", "version": __version__})


async def projects(request: Request) -> JSONResponse:
    """The caller's project, in the shape `Langfuse().auth_check()` validates."""
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    project = await run_in_threadpool(services.store.get_project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} no longer exists")
    return JSONResponse(
        {
            "data": [
                {
                    "id": project.id,
                    "name": project.name,
                    "organization": {"id": "skein", "name": "Skein"},
                    "metadata": {},
                    "retentionDays": None,
                }
            ]
        }
    )


async def otel_metrics(request: Request) -> JSONResponse:
    """OTLP metrics are accepted and dropped (as Langfuse does), so exporters stay quiet."""
    services: Services = request.app.state.services
    await services.authenticate(request)
    return JSONResponse({})
