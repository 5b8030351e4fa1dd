"""Sessions as chat-format JSON Lines for evaluation and fine-tuning.

One conversation per line, in OpenAI's chat format:

    {"messages": [{"role": "system", ...}, {"role": "user", "content": "..."},
                  {"role": "assistant", "content": null, "tool_calls": [{"id", "type":
                   "function", "function": {"name", "arguments"}}]},
                  {"role": "tool", "tool_call_id": "...", "content": "..."}, ...],
     "metadata": {"sessionId": ..., "traceIds": [...], "userIds": [...]}}

Each turn's LLM calls (its GENERATION observations, else the trace's own input and output)
are read with the web UI's message parser (`skein.ui.messages`, which knows OpenAI,
Anthropic, LangChain, GenAI, Vercel and Gemini shapes). The history a call repeats is
left out: a call's input adds only the messages that follow what the conversation holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from skein.records import Observation
from skein.repair.edits import session_trace_ids
from skein.store.base import SessionQuery, Store, TraceDetail
from skein.ui.messages import TEXT, TOOL_CALL, TOOL_RESULT, Message, decode, parse_messages

MAX_SESSIONS_PAGE = 200


def dataset_lines(
    store: Store,
    project_id: str,
    session_ids: Sequence[str] = (),
    with_metadata: bool = True,
) -> Iterator[str]:
    """One line per session (all sessions when none are named) that has any messages."""
    for session_id in session_ids or _all_sessions(store, project_id):
        record = conversation(store, project_id, session_id, with_metadata)
        if record is not None:
            yield json.dumps(record, ensure_ascii=False) + "\n"


def _all_sessions(store: Store, project_id: str) -> Iterator[str]:
    cursor: str | None = None
    while True:
        query = SessionQuery(order_by="first_activity", descending=False,
                             limit=MAX_SESSIONS_PAGE, cursor=cursor, with_total=False)  # fmt: skip
        page = store.query_sessions(project_id, query)
        yield from (s.session_id for s in page.items)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def conversation(
    store: Store, project_id: str, session_id: str, with_metadata: bool = True
) -> dict[str, Any] | None:
    details = [
        store.get_trace_detail(project_id, t)
        for t in session_trace_ids(store, project_id, session_id)
    ]
    turns = [d for d in details if d is not None]
    messages: list[dict[str, Any]] = []
    for turn in turns:
        for call_input, call_output in turn_calls(turn):
            extend_conversation(messages, call_input, call_output)
    if not messages:
        return None
    record: dict[str, Any] = {"messages": messages}
    if with_metadata:
        record["metadata"] = {
            "sessionId": session_id,
            "traceIds": [t.trace.trace_id for t in turns],
            "userIds": sorted({t.trace.user_id for t in turns if t.trace.user_id}),
        }
    return record


def turn_calls(turn: TraceDetail) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(input messages, output messages) of each LLM call of a turn, in start order."""
    generations = [o for o in turn.observations if o.type == "GENERATION" and not _nested(o, turn)]
    if generations:
        return [(_openai(o.input, "input"), _openai(o.output, "output")) for o in generations]
    return [(_openai(turn.io.input, "input"), _openai(turn.io.output, "output"))]


def _nested(observation: Observation, turn: TraceDetail) -> bool:
    """A generation inside another generation (e.g. a framework wrapping a provider call)."""
    by_id = {o.id: o for o in turn.observations}
    parent = by_id.get(observation.parent_id or "")
    while parent is not None:
        if parent.type == "GENERATION":
            return True
        parent = by_id.get(parent.parent_id or "")
    return False


def extend_conversation(
    messages: list[dict[str, Any]],
    call_input: list[dict[str, Any]],
    call_output: list[dict[str, Any]],
) -> None:
    """Add what a call's input adds to the conversation so far, then its output."""
    messages.extend(call_input[_repeated(messages, call_input) :])
    messages.extend(call_output)


def _repeated(messages: list[dict[str, Any]], call_input: list[dict[str, Any]]) -> int:
    """How many leading input messages the conversation already ends with or holds."""
    for size in range(min(len(messages), len(call_input)), 0, -1):
        if _same(messages[-size:], call_input[:size]) or _same(messages[:size], call_input[:size]):
            return size
    return 0


def _same(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> bool:
    return [_key(m) for m in left] == [_key(m) for m in right]


def _key(message: dict[str, Any]) -> str:
    return json.dumps(message, sort_keys=True)


# -- OpenAI's chat format -----------------------------------------------------------------------


def _openai(text: str | None, side: str) -> list[dict[str, Any]]:
    parsed = parse_messages(decode(text), side) if text else None
    found: list[dict[str, Any]] = []
    for message in parsed or ():
        found.extend(openai_messages(message))
    return found


def openai_messages(message: Message) -> list[dict[str, Any]]:
    """A parsed message in OpenAI's format: tool results become `tool` messages."""
    results = [p for p in message.parts if p.kind == TOOL_RESULT]
    calls = [p for p in message.parts if p.kind == TOOL_CALL]
    text = "\n".join(p.text for p in message.parts if p.kind == TEXT)
    found: list[dict[str, Any]] = []
    if text or calls or not results:
        shaped: dict[str, Any] = {"role": _role(message.role), "content": text or None}
        if calls:
            shaped["tool_calls"] = [
                {"id": c.call_id or f"call_{i}", "type": "function",
                 "function": {"name": c.name or "", "arguments": _compact(c.text)}}
                for i, c in enumerate(calls)
            ]  # fmt: skip
        if message.name and shaped["role"] != "tool":
            shaped["name"] = message.name
        found.append(shaped)
    for result in results:
        found.append({"role": "tool", "tool_call_id": result.call_id or "", "content": result.text})
    return found


def _role(role: str) -> str:
    return role if role in ("system", "user", "assistant", "tool", "developer") else "user"


def _compact(arguments: str) -> str:
    """Tool-call arguments as OpenAI sends them: compact JSON text (or the text as it was)."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return arguments
