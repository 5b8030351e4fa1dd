"""The ASGI application factory and every route Skein serves."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from skein.api import public, reads, repair, writes
from skein.errors import SkeinError, error_body
from skein.ingest.receiver import receive_traces
from skein.repair.rule_job import infer_rule_job
from skein.retention import retention_job
from skein.services import open_services
from skein.settings import Settings
from skein.store.base import Store
from skein.ui import ui_routes

logger = logging.getLogger(__name__)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/public/otel/v1/traces", receive_traces, methods=["POST"]),
        Route("/v1/traces", receive_traces, methods=["POST"]),
        Route("/api/public/otel/v1/metrics", public.otel_metrics, methods=["POST"]),
        Route("/api/public/health", public.health, methods=["GET"]),
        Route("/api/public/ready", public.ready, methods=["GET"]),
        Route("/api/public/projects", public.projects, methods=["GET"]),
        *reads.routes(),
        *writes.routes(),
        *repair.routes(),
        *ui_routes(),
    ]


def create_app(settings: Settings, store: Store | None = None) -> Starlette:
    """A Skein server. Resources open in the lifespan; `store`, when given, is not closed."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with open_services(settings, store) as services:
            app.state.services = services
            async with retention_job(services), infer_rule_job(services.store):
                yield

    return Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={
            SkeinError: skein_error,
            HTTPException: http_error,
            ClientDisconnect: client_gone,
            Exception: unexpected_error,
        },
    )


def create_app_from_environment() -> Starlette:
    """The app with settings read from the environment: what each worker process of
    `skein serve --workers N` builds (the parent puts its flags into the environment)."""
    from_environment: dict[str, Any] = {}
    return create_app(Settings(**from_environment))


async def skein_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SkeinError)
    body = error_body(exc.status, exc.code, exc.message, exc.details)
    return JSONResponse(body, status_code=exc.status, headers=exc.headers())


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    body = error_body(exc.status_code, code, str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up while sending its request: nobody reads the answer, nothing broke."""
    logger.debug("client disconnected during %s %s", request.method, request.url.path)
    body = error_body(400, "client_disconnected", "the client disconnected mid-request")
    return JSONResponse(body, status_code=400)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    body = error_body(500, "internal_error", "internal server error")
    return JSONResponse(body, status_code=500)
