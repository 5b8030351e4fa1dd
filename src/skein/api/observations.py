"""`/api/public/observations` (v1, page-numbered) and `/api/public/v2/observations` (cursor,
field groups), the path Langfuse's Python SDK 4.x/5.x reads through.

`sessionId` and `userId` select by the observation's trace: an observation is in the session
its trace folded into, whether or not it carried the id itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from skein.api.access import in_thread, project_of, refuse_structured_filter, store_of
from skein.api.params import Params, page_meta
from skein.api.shapes import (
    DEFAULT_OBSERVATION_FIELDS,
    OBSERVATION_FIELD_GROUPS,
    observation_json,
    observation_v2_json,
)
from skein.errors import BadRequest, NotFound
from skein.fold import TraceSummary
from skein.records import Observation
from skein.store.base import ObservationQuery, Store, TraceQuery

ORDER_FIELDS = {"startTime": "start"}
# Groups that read the observation's trace.
TRACE_GROUPS = frozenset({"basic", "trace_context"})
# Groups that need the stored I/O and metadata text.
TEXT_GROUPS = frozenset({"io", "metadata"})


def observation_filters(params: Params) -> dict[str, Any]:
    """The ObservationQuery fields of the filter parameters both versions share."""
    return {
        "trace_id": params.text("traceId"),
        "session_id": params.text("sessionId"),
        "user_id": params.text("userId"),
        "type": _upper(params.text("type")),
        "name": params.text("name"),
        "level": _upper(params.text("level")),
        "parent_id": params.text("parentObservationId"),
        "environment": params.texts("environment"),
        "version": params.text("version"),
        "from_ns": params.timestamp("fromStartTime"),
        "to_ns": params.timestamp("toStartTime"),
    }


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


def _descending(params: Params) -> bool:
    return params.order("orderBy", ORDER_FIELDS, "startTime.desc")[1]


async def list_observations(request: Request) -> JSONResponse:
    """v1: Langfuse's `ObservationsViews`, newest first, page-numbered."""
    project_id = await project_of(request)
    refuse_structured_filter(request)
    params = Params(request.query_params)
    paging = params.paging()
    query = ObservationQuery(
        **observation_filters(params), descending=_descending(params), limit=paging.limit,
        cursor=paging.cursor, offset=paging.offset, with_total=True,
    )  # fmt: skip
    page = await in_thread(store_of(request).query_observations, project_id, query)
    data = [observation_json(project_id, o) for o in page.items]
    return JSONResponse({"data": data, "meta": page_meta(paging, page.total, page.next_cursor)})


async def get_observation(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    observation_id = request.path_params["observation_id"]
    found = await in_thread(store_of(request).get_observation, project_id, observation_id)
    if found is None:
        raise NotFound(f"observation {observation_id} not found in this project")
    return JSONResponse(observation_json(project_id, found))


async def list_observations_v2(request: Request) -> JSONResponse:
    """v2: `{data, meta: {cursor?}}`, with the field groups asked for (core and basic by
    default), newest first unless `orderBy=startTime.asc`."""
    project_id = await project_of(request)
    refuse_structured_filter(request)
    params = Params(request.query_params)
    if params.boolean("parseIoAsJson"):
        raise BadRequest("parameter 'parseIoAsJson' is no longer supported; leave it out")
    groups = params.fields("fields", OBSERVATION_FIELD_GROUPS, DEFAULT_OBSERVATION_FIELDS)
    query = ObservationQuery(
        **observation_filters(params), is_root=params.boolean("isRootObservation"),
        descending=_descending(params), limit=params.integer("limit", 50, 1, 1000),
        cursor=params.text("cursor"), with_io=bool(groups & TEXT_GROUPS),
    )  # fmt: skip
    expand = params.texts("expandMetadata")
    body = await in_thread(v2_page, store_of(request), project_id, query, groups, expand)
    return JSONResponse(body)


def v2_page(
    store: Store,
    project_id: str,
    query: ObservationQuery,
    groups: Collection[str],
    expand: Collection[str],
) -> dict[str, Any]:
    page = store.query_observations(project_id, query)
    traces = traces_of(store, project_id, page.items) if TRACE_GROUPS & set(groups) else {}
    data = [
        observation_v2_json(project_id, o, traces.get(o.trace_id), groups, expand)
        for o in page.items
    ]
    meta = {"cursor": page.next_cursor} if page.next_cursor else {}
    return {"data": data, "meta": meta}


def traces_of(
    store: Store, project_id: str, observations: Sequence[Observation]
) -> dict[str, TraceSummary]:
    """The folded trace of each observation, read in one query."""
    ids = tuple({o.trace_id for o in observations})
    if not ids:
        return {}
    page = store.query_traces(project_id, TraceQuery(ids=ids, limit=len(ids), with_total=False))
    return {trace.trace_id: trace for trace in page.items}
