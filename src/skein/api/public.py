"""Langfuse-compatible public endpoints: health (liveness), readiness, and the project of the
caller's key."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from skein import __version__
from skein.errors import NotFound, Overloaded
from skein.services import Services

logger = logging.getLogger(__name__)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "OK", "version": __version__})


async def ready(request: Request) -> JSONResponse:
    """Readiness for a load balancer: the store answers a trivial query and the write queue
    is below its bound; 503 (the error shape) otherwise. `health` stays liveness."""
    services: Services = request.app.state.services
    pending = services.writer.pending_spans
    if pending >= services.settings.queue_max_spans:
        raise Overloaded(f"not ready: write queue is full ({pending} spans)", retry_after=2)
    try:
        await run_in_threadpool(services.store.get_project, "")
    except Exception as error:
        logger.warning("readiness check: the database does not answer: %s", error)
        raise Overloaded("not ready: the database does not answer", retry_after=5) from error
    answer = {"status": "READY", "version": __version__, "pendingSpans": pending}
    if services.ingest_pool is not None:
        counts = services.ingest_pool.counts
        answer["ingestion"] = {
            "workers": services.ingest_pool.processes,
            "requests": counts.requests,
            "groups": counts.groups,
        }
    return JSONResponse(answer)


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
                    "retentionDays": project.retention_days,
                }
            ]
        }
    )


async def otel_metrics(request: Request) -> JSONResponse:
    """OTLP metrics are accepted and dropped (as Langfuse does), so exporters stay quiet."""
    services: Services = request.app.state.services
    await services.authenticate(request)
    return JSONResponse({})
