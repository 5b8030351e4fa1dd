"""Inferring sessions: consecutive traces of one user, less than a gap apart, are one session.

Optionally each joining turn must confirm it: its input repeats the previous turn's history
(chat apps send the whole conversation again every turn). Traces an earlier inference put in
a session take part, so running it again, or on new traces, extends the same sessions
rather than making new ones: a group keeps the session of its earliest inferred member, and
a new group's id is derived from its user and first trace (the same every run).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from skein.repair.model import INFER_SOURCE_PREFIX, Assignment, Candidate

# Confirms that `current` continues `previous` (e.g. repeats its history).
Confirm = Callable[[Candidate, Candidate], bool]
# A new inferred session's id: this prefix and a hash of its user and first trace.
INFERRED_ID_PREFIX = "inferred-"
MIN_GROUP_TRACES = 2


def infer_groups(
    candidates: Sequence[Candidate], gap_ns: int, confirm: Confirm | None = None
) -> list[list[Candidate]]:
    """Each user's traces in start order, cut wherever a gap reaches `gap_ns` (or a turn is
    not confirmed). Traces without a user are left out."""
    by_user: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.user_id is not None:
            by_user[candidate.user_id].append(candidate)
    groups: list[list[Candidate]] = []
    for user_id in sorted(by_user):
        groups.extend(_cut(sorted(by_user[user_id], key=_order), gap_ns, confirm))
    return groups


def _order(candidate: Candidate) -> tuple[int, str]:
    return candidate.start_ns, candidate.trace_id


def _cut(traces: list[Candidate], gap_ns: int, confirm: Confirm | None) -> list[list[Candidate]]:
    groups: list[list[Candidate]] = []
    for trace in traces:
        if groups and _continues(groups[-1], trace, gap_ns, confirm):
            groups[-1].append(trace)
        else:
            groups.append([trace])
    return groups


def _continues(
    group: list[Candidate], trace: Candidate, gap_ns: int, confirm: Confirm | None
) -> bool:
    last_end = max(member.end_ns for member in group)
    if trace.start_ns - last_end >= gap_ns:
        return False
    return confirm is None or confirm(group[-1], trace)


def inferred_changes(groups: Sequence[Sequence[Candidate]], source: str) -> dict[str, Assignment]:
    """The assignment of each trace whose inferred session changes."""
    changes: dict[str, Assignment] = {}
    for group in groups:
        session_id = group_session(group)
        if session_id is None:
            continue
        for member in group:
            if member.session_id != session_id:
                changes[member.trace_id] = Assignment(session_id, source)
    return changes


def group_session(group: Sequence[Candidate]) -> str | None:
    """The session a group is (or goes) in; None for a lone trace never inferred before."""
    existing = [m.session_id for m in group if _inferred(m) and m.session_id]
    if existing:
        return existing[0]
    if len(group) < MIN_GROUP_TRACES:
        return None
    return inferred_session_id(group[0].user_id or "", group[0].trace_id)


def _inferred(candidate: Candidate) -> bool:
    return (candidate.session_source or "").startswith(INFER_SOURCE_PREFIX)


def inferred_session_id(user_id: str, first_trace_id: str) -> str:
    digest = hashlib.sha256(f"{user_id}\n{first_trace_id}".encode()).hexdigest()
    return INFERRED_ID_PREFIX + digest[:16]


# -- Confirming by history ---------------------------------------------------------------------


def history_confirmation(inputs: Mapping[str, str | None]) -> Confirm:
    """A Confirm over the traces' input text (by trace id)."""
    return lambda previous, current: repeats_history(
        inputs.get(previous.trace_id), inputs.get(current.trace_id)
    )


def repeats_history(previous_input: str | None, current_input: str | None) -> bool:
    """Whether `current_input` repeats the conversation `previous_input` sent: its messages
    start with the previous messages, or it contains the previous turn's last message."""
    if not previous_input or not current_input:
        return False
    before, now = messages_of(previous_input), messages_of(current_input)
    if before and now and len(now) > len(before) and now[: len(before)] == before:
        return True
    last = _last_text(before) if before else previous_input.strip()
    return bool(last) and (last in current_input or json.dumps(last)[1:-1] in current_input)


def messages_of(text: str) -> list[Any]:
    """The chat messages in an input (a list, or an object with `messages`), else []."""
    try:
        value = json.loads(text)
    except ValueError:
        return []
    if isinstance(value, dict):
        value = value.get("messages")
    return value if isinstance(value, list) else []


def _last_text(messages: list[Any]) -> str:
    last = messages[-1]
    content = last.get("content") if isinstance(last, dict) else last
    return content.strip() if isinstance(content, str) else ""
