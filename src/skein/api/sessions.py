"""`/api/public/sessions`: list, get and delete sessions, with their rollups.

Langfuse's `Session` objects plus Skein's: every session carries its rollups (trace count,
activity, duration, tokens, cost, errors, users, tags, score aggregates, where its id came
from); the list sorts and filters on them; a session's traces come paginated.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from skein.api.access import in_thread, project_of, store_of
from skein.api.params import Paging, Params, page_meta
from skein.api.shapes import session_json, trace_json
from skein.errors import NotFound
from skein.store.base import MAX_PAGE_SIZE, SessionQuery, Store, TraceQuery

# `orderBy` fields → the store's sort.
SESSION_ORDER_FIELDS = {
    "lastActivity": "last_activity",
    "firstActivity": "first_activity",
    "createdAt": "first_activity",
    "totalCost": "cost",
    "cost": "cost",
    "totalTokens": "tokens",
    "tokens": "tokens",
    "duration": "duration",
    "traceCount": "trace_count",
    "errors": "errors",
    "errorCount": "errors",
}
# Langfuse lists sessions newest first by creation.
DEFAULT_SESSION_ORDER = "createdAt.desc"
# A session's traces per page when `tracesLimit` is not given (Langfuse returns them all).
DEFAULT_TRACES_LIMIT = MAX_PAGE_SIZE


def session_query(params: Params, paging: Paging, **overrides: Any) -> SessionQuery:
    """The SessionQuery of a request's filter, sort and paging parameters."""
    order_by, descending = params.order("orderBy", SESSION_ORDER_FIELDS, DEFAULT_SESSION_ORDER)
    fields: dict[str, Any] = {
        "user_id": params.text("userId"),
        "environment": params.texts("environment"),
        "tag": params.text("tag"),
        "from_ns": params.timestamp("fromTimestamp"),
        "to_ns": params.timestamp("toTimestamp"),
        "has_errors": params.boolean("hasErrors"),
        "min_traces": params.optional_integer("minTraces", 0),
        "id_prefix": params.text("idPrefix"),
        "id_contains": params.text("idContains"),
        "order_by": order_by,
        "descending": descending,
        "limit": paging.limit,
        "cursor": paging.cursor,
        "offset": paging.offset,
    }
    fields.update(overrides)
    return SessionQuery(**fields)


async def list_sessions(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    params = Params(request.query_params)
    paging = params.paging()
    query = session_query(params, paging)
    page = await in_thread(store_of(request).query_sessions, project_id, query)
    data = [session_json(project_id, session) for session in page.items]
    return JSONResponse({"data": data, "meta": page_meta(paging, page.total, page.next_cursor)})


async def get_session(request: Request) -> JSONResponse:
    """Langfuse's `SessionWithTraces`: its traces in time order, one page of them
    (`tracesLimit`, `tracesPage` or `tracesCursor`; `tracesMeta` says what follows)."""
    project_id = await project_of(request)
    session_id = request.path_params["session_id"]
    params = Params(request.query_params)
    paging = Paging(
        page=params.integer("tracesPage", 1, 1),
        limit=params.integer("tracesLimit", DEFAULT_TRACES_LIMIT, 1, MAX_PAGE_SIZE),
        cursor=params.text("tracesCursor"),
    )
    shaped = await in_thread(session_with_traces, store_of(request), project_id, session_id, paging)
    return JSONResponse(shaped)


def session_with_traces(
    store: Store, project_id: str, session_id: str, paging: Paging
) -> dict[str, Any]:
    session = store.get_session(project_id, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found in this project")
    query = TraceQuery(
        session_id=session_id, order_by="timestamp", descending=False, limit=paging.limit,
        cursor=paging.cursor, offset=paging.offset,
    )  # fmt: skip
    page = store.query_traces(project_id, query)
    io = store.get_trace_io(project_id, [t.trace_id for t in page.items])
    shaped = session_json(project_id, session)
    shaped["traces"] = [trace_json(project_id, t, io.get(t.trace_id)) for t in page.items]
    shaped["tracesMeta"] = page_meta(paging, page.total, page.next_cursor)
    return shaped


async def delete_session(request: Request) -> JSONResponse:
    """Delete a session: all its traces, their observations and warnings, set-wise."""
    project_id = await project_of(request)
    session_id = request.path_params["session_id"]
    deleted = await in_thread(store_of(request).delete_session, project_id, session_id)
    if not deleted:
        raise NotFound(f"session {session_id} not found in this project")
    return JSONResponse({"message": "Session deleted successfully", "deletedTraces": deleted})
