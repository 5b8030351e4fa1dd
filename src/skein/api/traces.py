"""`/api/public/traces`: list, get and delete traces (Langfuse's shapes, Skein's sorts)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skein.api.access import in_thread, project_of, refuse_structured_filter, store_of
from skein.api.params import Paging, Params, page_meta
from skein.api.scores import score_json
from skein.api.shapes import TRACE_FIELD_GROUPS, trace_json, without_metrics
from skein.api.trace_text import trace_text
from skein.errors import BadRequest, NotFound
from skein.fold import TraceSummary
from skein.records import Score
from skein.request_body import read_body
from skein.scores import ScoreQuery
from skein.store.base import Store, TraceIO, TraceQuery
from skein.store.rows import Row

# `orderBy` fields (Langfuse's names, and Skein's own) → the store's sort.
TRACE_ORDER_FIELDS = {
    "timestamp": "timestamp",
    "id": "id",
    "name": "name",
    "userId": "user_id",
    "sessionId": "session_id",
    "release": "release",
    "version": "version",
    "latency": "latency",
    "totalCost": "cost",
    "cost": "cost",
    "totalTokens": "tokens",
    "tokens": "tokens",
    "errors": "errors",
    "observations": "observations",
}
MAX_DELETE_IDS = 1000
# Room for MAX_DELETE_IDS ids of any sensible length in a bulk delete body.
MAX_DELETE_BODY_BYTES = 1024 * 1024
SCORE_PAGE_SIZE = 1000


def trace_query(params: Params, paging: Paging, **overrides: Any) -> TraceQuery:
    """The TraceQuery of a request's filter, sort and paging parameters."""
    order_by, descending = params.order("orderBy", TRACE_ORDER_FIELDS, "timestamp.desc")
    fields: dict[str, Any] = {
        "session_id": params.text("sessionId"),
        "user_id": params.text("userId"),
        "name": params.text("name"),
        "tags": params.texts("tags"),
        "environment": params.texts("environment"),
        "release": params.text("release"),
        "version": params.text("version"),
        "from_ns": params.timestamp("fromTimestamp"),
        "to_ns": params.timestamp("toTimestamp"),
        "has_errors": params.boolean("hasErrors"),
        "order_by": order_by,
        "descending": descending,
        "limit": paging.limit,
        "cursor": paging.cursor,
        "offset": paging.offset,
    }
    fields.update(overrides)
    return TraceQuery(**fields)


async def list_traces(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    refuse_structured_filter(request)
    params = Params(request.query_params)
    paging = params.paging()
    query = trace_query(params, paging)
    groups = params.fields("fields", TRACE_FIELD_GROUPS, TRACE_FIELD_GROUPS)
    store = store_of(request)
    page = await in_thread(store.query_traces, project_id, query)
    data = await in_thread(listed_traces, store, project_id, page.items, groups)
    return JSONResponse({"data": data, "meta": page_meta(paging, page.total, page.next_cursor)})


def listed_traces(
    store: Store, project_id: str, traces: Sequence[TraceSummary], groups: Collection[str]
) -> list[dict[str, Any]]:
    """Langfuse's `TraceWithDetails` of each trace: observation ids, I/O and metrics by group."""
    ids = [t.trace_id for t in traces]
    io = store.get_trace_io(project_id, ids) if "io" in groups else {}
    observations = store.get_observation_ids(project_id, ids) if "observations" in groups else {}
    scores: dict[str, list[str]] = {}
    for score in trace_scores(store, project_id, ids) if "scores" in groups else []:
        scores.setdefault(score.trace_id or "", []).append(score.id)
    listed = []
    for trace in traces:
        shaped = trace_json(project_id, trace, io.get(trace.trace_id))
        shaped["observations"] = observations.get(trace.trace_id, [])
        shaped["scores"] = scores.get(trace.trace_id, [])
        listed.append(shaped if "metrics" in groups else without_metrics(shaped))
    return listed


def trace_scores(store: Store, project_id: str, trace_ids: Sequence[str]) -> list[Score]:
    """Every score on the traces or their observations, newest first."""
    found: list[Score] = []
    while trace_ids:
        query = ScoreQuery(trace_ids=tuple(trace_ids), limit=SCORE_PAGE_SIZE, offset=len(found))
        page = store.query_scores(project_id, query)
        found.extend(page.items)
        if len(page.items) < SCORE_PAGE_SIZE:
            break
    return found


async def get_trace(request: Request) -> Response:
    project_id = await project_of(request)
    trace_id = request.path_params["trace_id"]
    groups = Params(request.query_params).fields("fields", TRACE_FIELD_GROUPS, TRACE_FIELD_GROUPS)
    body = await in_thread(full_trace, store_of(request), project_id, trace_id, groups)
    return Response(body, media_type=JSONResponse.media_type)


def full_trace(store: Store, project_id: str, trace_id: str, groups: Collection[str]) -> bytes:
    """Langfuse's `TraceWithFullDetails` as JSON: the trace with its observations and scores,
    written from the stored rows (`trace_text`)."""
    trace, io, observations = _trace_rows(store, project_id, trace_id, groups)
    scores = trace_scores(store, project_id, [trace_id]) if "scores" in groups else []
    return trace_text(
        project_id,
        trace,
        io if "io" in groups else None,
        observations,
        [score_json(score, project_id) for score in scores],
        metrics="metrics" in groups,
    )


def _trace_rows(
    store: Store, project_id: str, trace_id: str, groups: Collection[str]
) -> tuple[TraceSummary, TraceIO, Sequence[Row]]:
    """The trace, its I/O and its observation rows; the observations only when asked for."""
    if "observations" in groups:
        rows = store.get_trace_rows(project_id, trace_id)
        if rows is not None:
            return rows.trace, rows.io, rows.observations
    elif (trace := store.get_trace(project_id, trace_id)) is not None:
        io = store.get_trace_io(project_id, [trace_id]) if "io" in groups else {}
        return trace, io.get(trace_id, TraceIO()), ()
    raise NotFound(f"trace {trace_id} not found in this project")


async def delete_trace(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    trace_id = request.path_params["trace_id"]
    deleted = await in_thread(store_of(request).delete_traces, project_id, [trace_id])
    if not deleted:
        raise NotFound(f"trace {trace_id} not found in this project")
    return JSONResponse({"message": "Trace deleted successfully"})


async def delete_traces(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    trace_ids = delete_ids(await read_body(request, MAX_DELETE_BODY_BYTES))
    deleted = await in_thread(store_of(request).delete_traces, project_id, trace_ids)
    return JSONResponse({"message": "Traces deleted successfully", "deleted": deleted})


def delete_ids(body: bytes) -> list[str]:
    """The `traceIds` of a bulk delete body: 1 to MAX_DELETE_IDS strings."""
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise BadRequest('the body must be JSON: {"traceIds": [...]}') from None
    ids = payload.get("traceIds") if isinstance(payload, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("field 'traceIds' must be a list of trace id strings")
    if not 1 <= len(ids) <= MAX_DELETE_IDS:
        raise BadRequest(f"field 'traceIds' must hold 1 to {MAX_DELETE_IDS} ids")
    return ids
