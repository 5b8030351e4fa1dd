"""The session replay page: the conversation turn by turn, paged, with its rollups, scores,
comments, downloads and a waterfall per turn on demand."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

from starlette.responses import Response

from skein.fold import SessionSummary, TraceSummary
from skein.records import Observation, Score
from skein.scores import ScoreQuery
from skein.store.base import Comment, ObservationQuery, Store, TraceIO, TraceQuery
from skein.ui import filters
from skein.ui.live import version_of
from skein.ui.repair_panel import session_history
from skein.ui.replay import IO_STEP_TYPES, Context, Turn, build_turns, context_of
from skein.ui.web import UI, Call, PageError, redirect

MAX_OBSERVATIONS = 5000
OBSERVATION_PAGE = 1000
MAX_COMMENT_CHARS = 10_000
LAST_PAGE = 10**9  # clamped to the session's last page


@dataclass(frozen=True, slots=True)
class Replay:
    session: SessionSummary
    turns: tuple[Turn, ...]
    page: int
    pages: int
    per_page: int
    comments: tuple[Comment, ...]
    bookmarked: bool
    scores: tuple[Score, ...] = ()  # on the session itself

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.per_page + 1


def session_page(ui: UI, call: Call) -> Response:
    return render_session(ui, call)


def render_session(ui: UI, call: Call, repair_error: str = "", status: int = 200) -> Response:
    """The page; `repair_error` says why an edit form could not be done."""
    store, project_id = call.viewer.store, call.viewer.project.id
    session_id = call.path("session_id")
    per_page = ui.options.turns_per_page
    replay = load_replay(store, project_id, session_id, _page(call), per_page)
    context = {
        "replay": replay,
        "query": call.query,
        "live_version": version_of(replay.session),
        "history": session_history(store, project_id, session_id),
        "repair_error": repair_error,
    }
    return ui.render(call, "session.html", context, status=status)


def _page(call: Call) -> int:
    """The page asked for; `page=last` is the one with the newest turns."""
    if call.query.get("page") == "last":
        return LAST_PAGE
    return filters.page_number(call.query)


def load_replay(store: Store, project_id: str, session_id: str, page: int, per_page: int) -> Replay:
    session = store.get_session(project_id, session_id)
    if session is None:
        raise PageError(404, "Session not found", f"There is no session {session_id!r} here.")
    pages = max(1, math.ceil(session.trace_count / per_page))
    page = min(max(page, 1), pages)
    offset = (page - 1) * per_page
    turns = load_turns(store, project_id, session_id, offset, per_page)
    comments = tuple(store.list_comments(project_id, "session", session_id))
    bookmarked = session_id in store.bookmarked(project_id, [session_id])
    scores = load_scores(store, project_id, ScoreQuery(session_ids=(session_id,), limit=200))
    return Replay(session, tuple(turns), page, pages, per_page, comments, bookmarked, tuple(scores))


def load_turns(
    store: Store, project_id: str, session_id: str, offset: int, limit: int
) -> list[Turn]:
    """Turns `offset` to `offset + limit` of a session, with the turn before for context."""
    start = max(offset - 1, 0)
    query = TraceQuery(
        session_id=session_id,
        descending=False,
        limit=limit + (offset - start),
        offset=start,
        with_total=False,
    )
    traces = list(store.query_traces(project_id, query).items)
    io = store.get_trace_io(project_id, [t.trace_id for t in traces])
    before: Context | None = None
    if offset > 0 and traces:
        first = traces.pop(0)
        before = context_of(first, io.get(first.trace_id) or TraceIO())
    observations = load_observations(store, project_id, traces)
    scores = load_scores(store, project_id, ScoreQuery(trace_ids=_ids(traces), limit=1000))
    return build_turns(traces, io, observations, offset, before, scores)


def load_observations(
    store: Store, project_id: str, traces: list[TraceSummary]
) -> list[Observation]:
    """The observations of some traces (up to MAX_OBSERVATIONS): I/O only for the tools and
    retrievers, which a turn shows in one line each."""
    if not traces:
        return []
    found = {o.id: o for o in _observations(store, project_id, traces, None)}
    for kind in IO_STEP_TYPES:
        found.update((o.id, o) for o in _observations(store, project_id, traces, kind))
    return list(found.values())


def _observations(
    store: Store, project_id: str, traces: list[TraceSummary], kind: str | None
) -> list[Observation]:
    found: list[Observation] = []
    cursor: str | None = None
    while len(found) < MAX_OBSERVATIONS:
        query = ObservationQuery(
            trace_ids=_ids(traces), type=kind, with_io=kind is not None,
            limit=OBSERVATION_PAGE, cursor=cursor,
        )  # fmt: skip
        page = store.query_observations(project_id, query)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


def load_scores(store: Store, project_id: str, query: ScoreQuery) -> list[Score]:
    return list(store.query_scores(project_id, query).items)


def _ids(traces: list[TraceSummary]) -> tuple[str, ...]:
    return tuple(t.trace_id for t in traces)


def comment_action(ui: UI, call: Call) -> Response:
    session_id = call.path("session_id")
    body = call.form.get("body", "").strip()[:MAX_COMMENT_CHARS]
    if body:
        comment = Comment(
            id=secrets.token_hex(8),
            object_type="session",
            object_id=session_id,
            body=body,
            author=author_of(call),
            created_ns=time.time_ns(),
        )
        call.viewer.store.add_comment(call.viewer.project.id, comment)
    return redirect(f"/sessions/{_quoted(session_id)}#comments")


def delete_comment_action(ui: UI, call: Call) -> Response:
    call.viewer.store.delete_comment(call.viewer.project.id, call.path("comment_id"))
    return redirect(f"/sessions/{_quoted(call.path('session_id'))}#comments")


def author_of(call: Call) -> str:
    login = call.viewer.login
    if login is None:
        return "local"
    return "admin" if login.is_admin else (login.public_key or "key")


def _quoted(session_id: str) -> str:
    return quote(session_id, safe="")
