"""`/api/public/export/{sessions,traces}`: every matching row as JSON, JSONL or CSV, streamed.

The body is produced page by page (keyset pages of EXPORT_PAGE_SIZE rows), so memory stays
flat however many rows match; every row carries its session id. The filters and `orderBy` are
those of the list endpoints. `X-Total-Count` says how many rows will follow (for progress).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from skein.api.access import in_thread, project_of, refuse_structured_filter, store_of
from skein.api.params import Paging, Params
from skein.api.sessions import session_query
from skein.api.shapes import NS_PER_MS, iso, json_value
from skein.api.traces import trace_query
from skein.fold import SessionSummary, TraceSummary
from skein.store.base import SessionQuery, Store, TraceIO, TraceQuery

logger = logging.getLogger(__name__)

EXPORT_PAGE_SIZE = 500
FORMATS = ("jsonl", "json", "csv")
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "json": "application/json", "csv": "text/csv"}
SESSION_COLUMNS = (
    "sessionId", "traceCount", "firstActivity", "lastActivity", "durationMs",
    "observationCount", "errorCount", "inputTokens", "outputTokens", "totalTokens",
    "totalCost", "userIds", "tags", "environments", "sessionSources",
)  # fmt: skip
TRACE_COLUMNS = (
    "traceId", "sessionId", "name", "timestamp", "endTime", "latencyMs", "userId",
    "environment", "release", "version", "tags", "public", "observationCount", "errorCount",
    "inputTokens", "outputTokens", "totalTokens", "totalCost", "input", "output", "metadata",
)  # fmt: skip
EXPORT_PAGING = Paging(page=1, limit=EXPORT_PAGE_SIZE, cursor=None)

Row = dict[str, Any]


# -- Rows ------------------------------------------------------------------------------------


def session_row(s: SessionSummary) -> Row:
    return {
        "sessionId": s.session_id,
        "traceCount": s.trace_count,
        "firstActivity": iso(s.first_ns),
        "lastActivity": iso(s.last_ns),
        "durationMs": s.duration_ns / NS_PER_MS,
        "observationCount": s.observation_count,
        "errorCount": s.error_count,
        "inputTokens": s.input_tokens,
        "outputTokens": s.output_tokens,
        "totalTokens": s.total_tokens,
        "totalCost": s.total_cost,
        "userIds": list(s.user_ids),
        "tags": list(s.tags),
        "environments": list(s.environments),
        "sessionSources": list(s.sources),
    }


def trace_row(t: TraceSummary, trace_io: TraceIO | None) -> Row:
    text = trace_io or TraceIO()
    return {
        "traceId": t.trace_id,
        "sessionId": t.session_id,
        "name": t.name,
        "timestamp": iso(t.start_ns),
        "endTime": iso(t.end_ns),
        "latencyMs": t.duration_ns / NS_PER_MS,
        "userId": t.user_id,
        "environment": t.environment,
        "release": t.release,
        "version": t.version,
        "tags": list(t.tags),
        "public": t.public,
        "observationCount": t.observation_count,
        "errorCount": t.error_count,
        "inputTokens": t.input_tokens,
        "outputTokens": t.output_tokens,
        "totalTokens": t.total_tokens,
        "totalCost": t.total_cost,
        "input": json_value(text.input),
        "output": json_value(text.output),
        "metadata": dict(t.metadata),
    }


def session_pages(store: Store, project_id: str, query: SessionQuery) -> Iterator[list[Row]]:
    """The rows of every matching session, one keyset page at a time."""
    cursor: str | None = None
    while True:
        paged = dataclasses.replace(query, cursor=cursor, with_total=False, offset=0)
        page = store.query_sessions(project_id, paged)
        yield [session_row(s) for s in page.items]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def trace_pages(store: Store, project_id: str, query: TraceQuery) -> Iterator[list[Row]]:
    """The rows of every matching trace with its I/O, one keyset page at a time."""
    cursor: str | None = None
    while True:
        paged = dataclasses.replace(query, cursor=cursor, with_total=False, offset=0)
        page = store.query_traces(project_id, paged)
        texts = store.get_trace_io(project_id, [t.trace_id for t in page.items])
        yield [trace_row(t, texts.get(t.trace_id)) for t in page.items]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# -- Formats ---------------------------------------------------------------------------------


def encode(pages: Iterator[list[Row]], form: str, columns: Sequence[str]) -> Iterator[bytes]:
    """The export body in `form`, one chunk per page."""
    encoders: dict[str, Callable[[Iterator[list[Row]], Sequence[str]], Iterator[str]]] = {
        "jsonl": _jsonl,
        "json": _json_array,
        "csv": _csv,
    }
    for chunk in encoders[form](pages, columns):
        if chunk:
            yield chunk.encode("utf-8")


def _dumps(row: Row) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def _jsonl(pages: Iterator[list[Row]], columns: Sequence[str]) -> Iterator[str]:
    for rows in pages:
        yield "".join(_dumps(row) + "\n" for row in rows)


def _json_array(pages: Iterator[list[Row]], columns: Sequence[str]) -> Iterator[str]:
    yield "["
    first = True
    for rows in pages:
        if rows:
            yield ("\n" if first else ",\n") + ",\n".join(_dumps(row) for row in rows)
            first = False
    yield "\n]\n"


def _csv(pages: Iterator[list[Row]], columns: Sequence[str]) -> Iterator[str]:
    yield _csv_lines([list(columns)])
    for rows in pages:
        yield _csv_lines([[_cell(row[c]) for c in columns] for row in rows])


def _csv_lines(lines: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell: text as it is, numbers as written, lists and objects as JSON, null empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- Endpoints -------------------------------------------------------------------------------


async def export_sessions(request: Request) -> StreamingResponse:
    project_id = await project_of(request)
    params = Params(request.query_params)
    form = params.choice("format", FORMATS, "jsonl")
    query = session_query(params, EXPORT_PAGING)
    store = store_of(request)
    total = await in_thread(_session_total, store, project_id, query)
    body = encode(session_pages(store, project_id, query), form, SESSION_COLUMNS)
    return _streamed(body, form, "sessions", total)


async def export_traces(request: Request) -> StreamingResponse:
    project_id = await project_of(request)
    refuse_structured_filter(request)
    params = Params(request.query_params)
    form = params.choice("format", FORMATS, "jsonl")
    query = trace_query(params, EXPORT_PAGING)
    store = store_of(request)
    total = await in_thread(_trace_total, store, project_id, query)
    body = encode(trace_pages(store, project_id, query), form, TRACE_COLUMNS)
    return _streamed(body, form, "traces", total)


def _session_total(store: Store, project_id: str, query: SessionQuery) -> int:
    page = store.query_sessions(project_id, dataclasses.replace(query, limit=1, with_total=True))
    return page.total or 0


def _trace_total(store: Store, project_id: str, query: TraceQuery) -> int:
    page = store.query_traces(project_id, dataclasses.replace(query, limit=1, with_total=True))
    return page.total or 0


def _streamed(body: Iterator[bytes], form: str, what: str, total: int) -> StreamingResponse:
    headers = {
        "Content-Disposition": f'attachment; filename="skein-{what}.{form}"',
        "X-Total-Count": str(total),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(body, media_type=MEDIA_TYPES[form], headers=headers)
