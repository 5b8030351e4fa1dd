"""The sessions list: one row per session, filtered, sorted, paged by cursor, live."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import Response

from skein.fold import SessionSummary
from skein.store.base import SESSION_SORTS, Page, SessionQuery, Store, TraceQuery
from skein.ui import filters
from skein.ui.live import project_version
from skein.ui.values import preview
from skein.ui.web import UI, Call, redirect

SORT_COLUMNS = (
    ("first_activity", "Started"),
    ("last_activity", "Last activity"),
    ("duration", "Duration"),
    ("trace_count", "Turns"),
    ("tokens", "Tokens"),
    ("cost", "Cost"),
    ("errors", "Errors"),
)


@dataclass(frozen=True, slots=True)
class SessionRow:
    session: SessionSummary
    preview: str
    bookmarked: bool


@dataclass(frozen=True, slots=True)
class SessionList:
    rows: tuple[SessionRow, ...]
    next_cursor: str | None
    total: int | None
    sort: filters.Sort
    range: filters.TimeRange
    bookmarked_only: bool
    score_names: tuple[str, ...]


def sessions_page(ui: UI, call: Call) -> Response:
    listing = load_sessions(
        call.viewer.store, call.viewer.project.id, call, ui.options.rows_per_page
    )
    version = project_version(call.viewer.store, call.viewer.project.id)
    context = {"listing": listing, "query": call.query, "sort_columns": SORT_COLUMNS,
               "range_labels": filters.RANGE_LABELS, "live_version": version}  # fmt: skip
    return ui.render(call, "sessions.html", context)


def load_sessions(store: Store, project_id: str, call: Call, limit: int) -> SessionList:
    query = call.query
    sort = filters.sort_of(query, SESSION_SORTS, "last_activity")
    window = filters.time_range(query, time.time_ns())
    bookmarked_only = filters.flag(query, "bookmarked")
    if bookmarked_only:
        page = _bookmarked_sessions(store, project_id)
    else:
        page = store.query_sessions(project_id, _session_query(query, sort, window, limit))
    sessions = page.items
    marked = store.bookmarked(project_id, [s.session_id for s in sessions])
    previews = first_inputs(store, project_id, sessions)
    rows = tuple(
        SessionRow(s, previews.get(s.session_id, ""), s.session_id in marked) for s in sessions
    )
    names = tuple(sorted({name for s in sessions for name in s.scores}))
    return SessionList(rows, page.next_cursor, page.total, sort, window, bookmarked_only, names)


def _session_query(
    query: Mapping[str, str], sort: filters.Sort, window: filters.TimeRange, limit: int
) -> SessionQuery:
    environment = filters.text(query, "env")
    return SessionQuery(
        user_id=filters.text(query, "user"),
        environment=(environment,) if environment else (),
        tag=filters.text(query, "tag"),
        from_ns=window.from_ns,
        to_ns=window.to_ns,
        has_errors=True if filters.flag(query, "errors") else None,
        id_contains=filters.text(query, "q"),
        order_by=sort.key,
        descending=sort.descending,
        limit=limit,
        cursor=filters.text(query, "cursor"),
    )


def _bookmarked_sessions(store: Store, project_id: str) -> Page[SessionSummary]:
    found = (store.get_session(project_id, sid) for sid in store.list_bookmarks(project_id))
    sessions = tuple(s for s in found if s is not None)
    return Page(sessions, None, len(sessions))


def first_inputs(
    store: Store, project_id: str, sessions: tuple[SessionSummary, ...]
) -> dict[str, str]:
    """Each session's first input, as one line."""
    firsts: dict[str, str] = {}
    for session in sessions:
        query = TraceQuery(
            session_id=session.session_id, descending=False, limit=1, with_total=False
        )
        page = store.query_traces(project_id, query)
        if page.items:
            firsts[page.items[0].trace_id] = session.session_id
    io = store.get_trace_io(project_id, list(firsts))
    return {firsts[trace_id]: preview(value.input) for trace_id, value in io.items()}


def bookmark_action(ui: UI, call: Call) -> Response:
    """Star or unstar a session (`on=1` or `on=0`), then go back where the form came from."""
    session_id = call.path("session_id")
    call.viewer.store.set_bookmark(call.viewer.project.id, session_id, call.form.get("on") == "1")
    if call.form.get("fetch") == "1":
        return Response(status_code=204)
    return redirect(_back(call.form.get("back"), f"/sessions/{session_id}"))


def _back(target: str | None, default: str) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return default
