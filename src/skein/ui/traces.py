"""The traces list, with filters, sorting and cursor paging."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import Response

from skein.fold import TraceSummary
from skein.store.base import TRACE_SORTS, Store, TraceQuery
from skein.ui import filters
from skein.ui.values import preview
from skein.ui.web import UI, Call

SORT_COLUMNS = (
    ("timestamp", "Started"),
    ("name", "Name"),
    ("latency", "Latency"),
    ("observations", "Observations"),
    ("tokens", "Tokens"),
    ("cost", "Cost"),
    ("errors", "Errors"),
)


@dataclass(frozen=True, slots=True)
class TraceRow:
    trace: TraceSummary
    input: str
    output: str


@dataclass(frozen=True, slots=True)
class TraceList:
    rows: tuple[TraceRow, ...]
    next_cursor: str | None
    total: int | None
    sort: filters.Sort
    range: filters.TimeRange


def traces_page(ui: UI, call: Call) -> Response:
    listing = load_traces(
        call.viewer.store, call.viewer.project.id, call.query, ui.options.rows_per_page
    )
    context = {"listing": listing, "query": call.query, "sort_columns": SORT_COLUMNS,
               "range_labels": filters.RANGE_LABELS}  # fmt: skip
    return ui.render(call, "traces.html", context)


def load_traces(store: Store, project_id: str, query: Mapping[str, str], limit: int) -> TraceList:
    sort = filters.sort_of(query, TRACE_SORTS, "timestamp")
    window = filters.time_range(query, time.time_ns())
    page = store.query_traces(project_id, trace_query(query, sort, window, limit))
    io = store.get_trace_io(project_id, [t.trace_id for t in page.items])
    rows = tuple(
        TraceRow(
            t,
            preview(io[t.trace_id].input if t.trace_id in io else None, "input"),
            preview(io[t.trace_id].output if t.trace_id in io else None, "output"),
        )
        for t in page.items
    )
    return TraceList(rows, page.next_cursor, page.total, sort, window)


def trace_query(
    query: Mapping[str, str], sort: filters.Sort, window: filters.TimeRange, limit: int
) -> TraceQuery:
    environment = filters.text(query, "env")
    tag = filters.text(query, "tag")
    return TraceQuery(
        session_id=filters.text(query, "session"),
        user_id=filters.text(query, "user"),
        name=filters.text(query, "name"),
        tags=(tag,) if tag else (),
        environment=(environment,) if environment else (),
        release=filters.text(query, "release"),
        from_ns=window.from_ns,
        to_ns=window.to_ns,
        has_errors=True if filters.flag(query, "errors") else None,
        order_by=sort.key,
        descending=sort.descending,
        limit=limit,
        cursor=filters.text(query, "cursor"),
    )
