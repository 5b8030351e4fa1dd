"""Live updates: server-sent events that tell an open page its data changed.

`GET /ui/events?session=ID` watches one session, `GET /ui/events` the project's sessions.
The stream polls the store cheaply (one indexed row) every `poll_seconds` and sends
`event: change` with the new version when it differs; the page then fetches a fragment.
Each event's `id` is the version, so a reconnecting browser (`Last-Event-ID`) resumes where
it was; the page passes the version it was rendered with as `since`, so nothing that
happened between rendering and connecting is missed.

A stream ends after `stream_seconds` and the browser reconnects (`retry`): no connection
outlives a server shutdown by long.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from skein.fold import SessionSummary
from skein.store.base import SessionQuery, Store
from skein.ui.web import UI, LoginNeeded, UIOptions

RETRY_MS = 1000
Probe = Callable[[], str]


def session_version(store: Store, project_id: str, session_id: str) -> str:
    """What changes when a session gets a trace, a span or a later end."""
    return version_of(store.get_session(project_id, session_id))


def version_of(session: SessionSummary | None) -> str:
    if session is None:
        return "none"
    return f"{session.trace_count}.{session.observation_count}.{session.last_ns}"


def project_version(store: Store, project_id: str) -> str:
    """What changes when any session of a project gets new data (it becomes the newest)."""
    query = SessionQuery(limit=1, with_total=False)
    newest = store.query_sessions(project_id, query).items
    if not newest:
        return "none"
    return f"{newest[0].session_id}.{version_of(newest[0])}"


async def events_endpoint(ui: UI, request: Request) -> Response:
    try:
        viewer = await run_in_threadpool(ui.viewer, request)
    except LoginNeeded:
        return Response("login required", status_code=401)
    store, project_id = viewer.store, viewer.project.id
    session_id = request.query_params.get("session")

    def probe() -> str:
        if session_id:
            return session_version(store, project_id, session_id)
        return project_version(store, project_id)

    since = request.headers.get("last-event-id") or request.query_params.get("since")
    stream = changes(probe, ui.options, since, request.is_disconnected)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def changes(
    probe: Probe,
    options: UIOptions,
    since: str | None,
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """The event stream: a change event whenever the probe's version moves on."""
    yield f"retry: {RETRY_MS}\n\n"
    last = since or await run_in_threadpool(probe)
    started = beat = time.monotonic()
    while time.monotonic() - started < options.stream_seconds:
        current = await run_in_threadpool(probe)
        if current != last:
            last = current
            yield change_event(current)
        elif time.monotonic() - beat >= options.heartbeat_seconds:
            beat = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(options.poll_seconds)
        if await disconnected():
            return


def change_event(version: str) -> str:
    return f"id: {version}\nevent: change\ndata: {json.dumps({'version': version})}\n\n"
