"""A session downloaded as JSON (everything stored) or as a Markdown transcript.

Both stream: the traces are read a batch at a time, so a 10,000-turn session downloads in
constant memory.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from skein.fold import SessionSummary, TraceSummary
from skein.records import Observation
from skein.store.base import ObservationQuery, Store, TraceIO, TraceQuery
from skein.ui import format
from skein.ui.messages import TEXT, THINKING, TOOL_CALL, TOOL_RESULT, Message, decode
from skein.ui.replay import Context, Turn, build_turns, context_of
from skein.ui.values import MESSAGES, Shown
from skein.ui.web import UI, Call, PageError

BATCH = 200
MAX_OBSERVATIONS_PER_BATCH = 1000


def export_json(ui: UI, call: Call) -> Response:
    store, project_id, session = _session(call)
    body = session_json(store, project_id, session)
    return _download(body, session.session_id, "json", "application/json")


def export_markdown(ui: UI, call: Call) -> Response:
    store, project_id, session = _session(call)
    body = session_markdown(store, project_id, session)
    return _download(body, session.session_id, "md", "text/markdown; charset=utf-8")


def _session(call: Call) -> tuple[Store, str, SessionSummary]:
    store, project_id = call.viewer.store, call.viewer.project.id
    session_id = call.path("session_id")
    session = store.get_session(project_id, session_id)
    if session is None:
        raise PageError(404, "Session not found", f"There is no session {session_id!r} here.")
    return store, project_id, session


def _download(body: Iterator[str], session_id: str, extension: str, media: str) -> Response:
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in session_id)[:80]
    encoded = quote(f"session-{session_id}.{extension}")
    disposition = f"attachment; filename=\"session-{name}.{extension}\"; filename*=UTF-8''{encoded}"
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    return StreamingResponse(body, media_type=media, headers=headers)


# -- JSON ------------------------------------------------------------------------------------


def session_json(store: Store, project_id: str, session: SessionSummary) -> Iterator[str]:
    """The session, its comments and every trace with its I/O and observations, as JSON."""
    comments = store.list_comments(project_id, "session", session.session_id)
    yield '{"session": ' + _dumps(_plain(session))
    yield ', "comments": ' + _dumps([_plain(c) for c in comments])
    yield ', "traces": ['
    first = True
    for traces, io, observations in _batches(store, project_id, session.session_id, True):
        by_trace: dict[str, list[Observation]] = {}
        for o in observations:
            by_trace.setdefault(o.trace_id, []).append(o)
        for trace in traces:
            trace_io = io.get(trace.trace_id)
            record = _plain(trace) | {
                "input": decode(trace_io.input) if trace_io else None,
                "output": decode(trace_io.output) if trace_io else None,
                "observations": [_observation(o) for o in by_trace.get(trace.trace_id, [])],
            }
            yield ("" if first else ", ") + _dumps(record)
            first = False
    yield "]}\n"


def _observation(o: Observation) -> dict[str, Any]:
    record = _plain(o)
    for name in ("input", "output", "model_parameters"):
        record[name] = decode(record[name])
    trace = record.get("trace", {})
    for name in ("input", "output"):
        if name in trace:
            trace[name] = decode(trace[name])
    return record


def _plain(value: Any) -> dict[str, Any]:
    found: dict[str, Any] = dataclasses.asdict(value)
    return found


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# -- Markdown -----------------------------------------------------------------------------------


def session_markdown(store: Store, project_id: str, session: SessionSummary) -> Iterator[str]:
    """A readable transcript: each turn's new messages, tool calls and results."""
    yield f"# Session {session.session_id}\n\n"
    yield _summary_lines(session) + "\n"
    before: Context | None = None
    index = 0
    for traces, io, _ in _batches(store, project_id, session.session_id, False):
        for turn in build_turns(traces, io, (), index, before):
            yield turn_markdown(turn)
        if traces:
            last = traces[-1]
            before = context_of(last, io.get(last.trace_id) or TraceIO())
        index += len(traces)


def _summary_lines(session: SessionSummary) -> str:
    lines = [
        f"- Users: {', '.join(session.user_ids) or '—'}",
        f"- Started: {format.timestamp(session.first_ns)} UTC",
        f"- Last activity: {format.timestamp(session.last_ns)} UTC",
        f"- Turns: {session.trace_count}",
        f"- Tokens: {session.input_tokens:,} in, {session.output_tokens:,} out",
        f"- Cost: {format.cost(session.total_cost)}",
        f"- Errors: {session.error_count}",
    ]
    return "\n".join(lines) + "\n"


def turn_markdown(turn: Turn) -> str:
    trace = turn.trace
    head = f"## Turn {turn.number} · {format.timestamp(trace.start_ns)} UTC"
    if trace.name:
        head += f" · {trace.name}"
    lines = [head, ""]
    if turn.gap_ns:
        lines[0:0] = [f"*… {format.duration(turn.gap_ns)} later …*", ""]
    lines += _shown_markdown(turn.input, "User")
    lines += _shown_markdown(turn.output, "Assistant")
    if trace.error_count:
        lines += [f"> ⚠ {trace.error_count} error(s) in this turn", ""]
    return "\n".join(lines) + "\n"


def _shown_markdown(shown: Shown, default_role: str) -> list[str]:
    if shown.kind == MESSAGES:
        return [line for m in shown.messages for line in message_markdown(m)]
    if shown.body is None:
        return []
    return [f"**{default_role}**", "", "```", shown.body.text, "```", ""]


def message_markdown(message: Message) -> list[str]:
    title = message.role.capitalize() + (f" ({message.name})" if message.name else "")
    lines = [f"**{title}**", ""]
    for part in message.parts:
        if part.kind == TEXT:
            lines += [part.text, ""]
        elif part.kind == TOOL_CALL:
            lines += [f"→ tool call `{part.name or '?'}`", "", "```json", part.text, "```", ""]
        elif part.kind == TOOL_RESULT:
            label = "tool error" if part.is_error else "tool result"
            lines += [f"← {label}" + (f" `{part.name}`" if part.name else ""), ""]
            lines += ["```", part.text, "```", ""]
        elif part.kind == THINKING:
            lines += ["> " + line for line in part.text.splitlines()] + [""]
        else:
            lines += ["```", part.text, "```", ""]
    return lines


# -- Reading in batches ----------------------------------------------------------------------------


Batch = tuple[list[TraceSummary], dict[str, TraceIO], list[Observation]]


def _batches(
    store: Store, project_id: str, session_id: str, with_observations: bool
) -> Iterator[Batch]:
    cursor: str | None = None
    while True:
        query = TraceQuery(
            session_id=session_id, descending=False, limit=BATCH, cursor=cursor, with_total=False
        )
        page = store.query_traces(project_id, query)
        traces = list(page.items)
        io = store.get_trace_io(project_id, [t.trace_id for t in traces])
        observations = _observations(store, project_id, traces) if with_observations else []
        yield traces, io, observations
        cursor = page.next_cursor
        if cursor is None or not traces:
            return


def _observations(store: Store, project_id: str, traces: list[TraceSummary]) -> list[Observation]:
    found: list[Observation] = []
    cursor: str | None = None
    ids = tuple(t.trace_id for t in traces)
    while ids:
        query = ObservationQuery(trace_ids=ids, limit=MAX_OBSERVATIONS_PER_BATCH, cursor=cursor)
        page = store.query_observations(project_id, query)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found
