"""The records of session repair, shared by the store, the API and the CLI.

A trace's session is its *assignment* when it has one (a manual edit, a backfill or an
inference rule wrote it), else the value folded from its spans (`skein.fold.fold_trace`).
An assignment with `session_id` None says "explicitly in no session". Every change of
assignments is one audit entry that remembers each affected trace's previous assignment, so
undoing it restores exactly what was there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RULE_KINDS = ("metadata_key", "infer")
# Where inferred sessions come from: their assignments' source starts with this.
INFER_SOURCE_PREFIX = "infer:"


@dataclass(frozen=True, slots=True)
class Assignment:
    """The session a trace is put in (None: in none), and what put it there."""

    session_id: str | None
    source: str


@dataclass(frozen=True, slots=True)
class PreviousState:
    """One affected trace before an audited change: its assignment (None: it had none) and
    the session it was in then."""

    assignment: Assignment | None
    session_id: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change of session assignments: who, when, what, and what it replaced.

    `sessions` lists every session the change touched (before or after), for per-session
    listings; `previous` is filled in by the store when the change is applied.
    """

    id: str
    created_ns: int
    actor: str
    operation: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    sessions: tuple[str, ...] = ()
    previous: Mapping[str, PreviousState] = field(default_factory=dict)
    undone_by: str | None = None
    moved: tuple[SessionDataMove, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionDataMove:
    """Data attached to a session id that an audited change moved to another id: the
    session-level scores and session comments (by id) and the bookmark, which was removed
    from `from_session_id` (`bookmark_removed`) and added to `to_session_id` when that one
    had none (`bookmark_added`). Undo performs `reversed_move` of it."""

    from_session_id: str
    to_session_id: str
    score_ids: tuple[str, ...] = ()
    comment_ids: tuple[str, ...] = ()
    bookmark_removed: bool = False
    bookmark_added: bool = False


@dataclass(frozen=True, slots=True)
class SessionRule:
    """A project's rule for spans without a session id.

    "metadata_key": use the value at `key` (an attribute or metadata key, or a dotted path
    into metadata) as the session id. "infer": put consecutive traces of one user less than
    `gap_seconds` apart into one session.
    """

    kind: str
    key: str | None = None
    gap_seconds: float | None = None
    confirm_history: bool = False


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """Which traces a backfill looks at: those without a session (and without an explicit
    assignment), plus, with `include_inferred`, those an inference put in a session.
    `with_metadata` loads each trace's span metadata (for key backfills)."""

    from_ns: int | None = None
    to_ns: int | None = None
    with_metadata: bool = False
    include_inferred: bool = False
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A trace a backfill may assign. `metadata` holds, per span (roots first, then by
    start), the maps a key is looked up in: trace metadata, then observation metadata."""

    trace_id: str
    start_ns: int
    end_ns: int
    user_id: str | None
    session_id: str | None
    session_source: str | None
    metadata: tuple[Mapping[str, Any], ...] = ()


# -- JSON shapes (the API's, the archive's and the store's) -----------------------------------


def assignment_json(assignment: Assignment | None) -> dict[str, Any] | None:
    if assignment is None:
        return None
    return {"sessionId": assignment.session_id, "source": assignment.source}


def assignment_from_json(data: Mapping[str, Any] | None) -> Assignment | None:
    if data is None:
        return None
    return Assignment(session_id=data.get("sessionId"), source=str(data["source"]))


def previous_json(previous: Mapping[str, PreviousState]) -> dict[str, Any]:
    return {
        trace_id: {"assignment": assignment_json(state.assignment), "sessionId": state.session_id}
        for trace_id, state in sorted(previous.items())
    }


def previous_from_json(data: Mapping[str, Any]) -> dict[str, PreviousState]:
    return {
        trace_id: PreviousState(assignment_from_json(state.get("assignment")), state["sessionId"])
        for trace_id, state in data.items()
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "createdNs": entry.created_ns,
        "actor": entry.actor,
        "operation": entry.operation,
        "parameters": dict(entry.parameters),
        "sessions": list(entry.sessions),
        "previous": previous_json(entry.previous),
        "movedSessionData": moves_json(entry.moved),
        "undoneBy": entry.undone_by,
    }


def audit_from_json(data: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=str(data["id"]),
        created_ns=int(data["createdNs"]),
        actor=str(data["actor"]),
        operation=str(data["operation"]),
        parameters=dict(data.get("parameters") or {}),
        sessions=tuple(data.get("sessions") or ()),
        previous=previous_from_json(data.get("previous") or {}),
        undone_by=data.get("undoneBy"),
        moved=moves_from_json(data.get("movedSessionData") or ()),
    )


def rule_json(rule: SessionRule) -> dict[str, Any]:
    shaped: dict[str, Any] = {"kind": rule.kind}
    if rule.kind == "metadata_key":
        shaped["key"] = rule.key
    else:
        shaped["gapSeconds"] = rule.gap_seconds
        shaped["confirmHistory"] = rule.confirm_history
    return shaped


def retired_sessions(operation: str, parameters: Mapping[str, Any]) -> dict[str, str]:
    """The session ids an edit retires, each with the id its session data moves to: a
    rename's old id, a merge's merged-away ids. Split and move keep their sessions."""
    if operation == "rename":
        pairs = [(parameters["sessionId"], parameters["newSessionId"])]
    elif operation == "merge":
        pairs = [(source, parameters["into"]) for source in parameters["sessionIds"]]
    else:
        return {}
    return {str(old): str(new) for old, new in pairs if old != new}


def reversed_move(move: SessionDataMove) -> SessionDataMove:
    """The move that puts `move`'s rows back (the bookmark only where `move` changed it)."""
    return SessionDataMove(
        from_session_id=move.to_session_id,
        to_session_id=move.from_session_id,
        score_ids=move.score_ids,
        comment_ids=move.comment_ids,
        bookmark_removed=move.bookmark_added,
        bookmark_added=move.bookmark_removed,
    )


def moved_sessions(moves: Sequence[SessionDataMove]) -> set[str]:
    """Every session id some of `moves` took data from or gave data to."""
    return {s for m in moves for s in (m.from_session_id, m.to_session_id)}


def moves_json(moves: Sequence[SessionDataMove]) -> list[dict[str, Any]]:
    return [
        {
            "fromSessionId": m.from_session_id,
            "toSessionId": m.to_session_id,
            "scoreIds": list(m.score_ids),
            "commentIds": list(m.comment_ids),
            "bookmarkRemoved": m.bookmark_removed,
            "bookmarkAdded": m.bookmark_added,
        }
        for m in moves
    ]


def moves_from_json(data: Sequence[Mapping[str, Any]]) -> tuple[SessionDataMove, ...]:
    return tuple(
        SessionDataMove(
            from_session_id=str(m["fromSessionId"]),
            to_session_id=str(m["toSessionId"]),
            score_ids=tuple(m.get("scoreIds") or ()),
            comment_ids=tuple(m.get("commentIds") or ()),
            bookmark_removed=bool(m.get("bookmarkRemoved")),
            bookmark_added=bool(m.get("bookmarkAdded")),
        )
        for m in data
    )


class AlreadyUndone(Exception):
    """The audit entry was undone before (by the entry named in the message)."""
