"""Editing sessions after the fact: rename (re-key), merge, split at a turn, move traces.

Each edit becomes assignments for the traces it affects, applied in one transaction with
one audit entry (`Store.apply_assignments`); `undo` restores the previous assignments.
A session's turns are its traces in start order (turn 0 first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from skein.repair.backfill import new_entry
from skein.repair.keys import session_id_of
from skein.repair.model import Assignment, AuditEntry
from skein.store.base import MAX_PAGE_SIZE, Store, TraceQuery

EDIT_SOURCE_PREFIX = "edit:"


class EditError(ValueError):
    """An edit that cannot be made; `missing` when it names what does not exist."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True, slots=True)
class Rename:
    session_id: str
    new_session_id: str


@dataclass(frozen=True, slots=True)
class Merge:
    session_ids: tuple[str, ...]
    into: str


@dataclass(frozen=True, slots=True)
class Split:
    """Turns from `at_turn` on (0-based) go to `new_session_id`."""

    session_id: str
    at_turn: int
    new_session_id: str


@dataclass(frozen=True, slots=True)
class Move:
    """Traces into `to_session_id`, or out of every session (None)."""

    trace_ids: tuple[str, ...]
    to_session_id: str | None


Edit = Rename | Merge | Split | Move


def perform(store: Store, project_id: str, edit: Edit, actor: str) -> AuditEntry:
    """Apply one edit as one audited change."""
    operation, parameters, changes = plan_edit(store, project_id, edit)
    entry = new_entry(actor, operation, parameters)
    return store.apply_assignments(project_id, entry, changes)


def undo(store: Store, project_id: str, audit_id: str, actor: str) -> AuditEntry:
    """Restore what an audit entry replaced (AlreadyUndone if it was undone before)."""
    entry = new_entry(actor, "undo", {"auditId": audit_id})
    undone = store.undo_audit(project_id, audit_id, entry)
    if undone is None:
        raise EditError(f"no audit entry {audit_id} in this project", missing=True)
    return undone


def plan_edit(
    store: Store, project_id: str, edit: Edit
) -> tuple[str, dict[str, Any], dict[str, Assignment | None]]:
    """(operation, parameters, assignments) of an edit, checked against what is stored."""
    if isinstance(edit, Rename):
        return _rename(store, project_id, edit)
    if isinstance(edit, Merge):
        return _merge(store, project_id, edit)
    if isinstance(edit, Split):
        return _split(store, project_id, edit)
    return _move(store, project_id, edit)


def _rename(
    store: Store, project_id: str, edit: Rename
) -> tuple[str, dict[str, Any], dict[str, Assignment | None]]:
    target = _valid_id(edit.new_session_id)
    traces = session_trace_ids(store, project_id, edit.session_id)
    parameters = {"sessionId": edit.session_id, "newSessionId": target}
    return "rename", parameters, _all_to(traces, target, "rename")


def _merge(
    store: Store, project_id: str, edit: Merge
) -> tuple[str, dict[str, Any], dict[str, Assignment | None]]:
    target = _valid_id(edit.into)
    sources = [s for s in dict.fromkeys(edit.session_ids) if s != target]
    if not sources:
        raise EditError("name at least one session to merge into another")
    traces = [t for s in sources for t in session_trace_ids(store, project_id, s)]
    parameters = {"sessionIds": sources, "into": target}
    return "merge", parameters, _all_to(traces, target, "merge")


def _split(
    store: Store, project_id: str, edit: Split
) -> tuple[str, dict[str, Any], dict[str, Assignment | None]]:
    target = _valid_id(edit.new_session_id)
    traces = session_trace_ids(store, project_id, edit.session_id)
    if not 0 < edit.at_turn < len(traces):
        raise EditError(f"split at a turn between 1 and {len(traces) - 1}, not {edit.at_turn}")
    if target == edit.session_id:
        raise EditError("the new session must have another id")
    parameters = {"sessionId": edit.session_id, "atTurn": edit.at_turn, "newSessionId": target}
    return "split", parameters, _all_to(traces[edit.at_turn :], target, "split")


def _move(
    store: Store, project_id: str, edit: Move
) -> tuple[str, dict[str, Any], dict[str, Assignment | None]]:
    target = None if edit.to_session_id is None else _valid_id(edit.to_session_id)
    if not edit.trace_ids:
        raise EditError("name at least one trace to move")
    page = store.query_traces(project_id, TraceQuery(ids=edit.trace_ids, limit=MAX_PAGE_SIZE))
    missing = set(edit.trace_ids) - {t.trace_id for t in page.items}
    if missing:
        raise EditError(f"no trace {sorted(missing)[0]} in this project", missing=True)
    parameters = {"traceIds": list(edit.trace_ids), "toSessionId": target}
    return "move", parameters, _all_to(edit.trace_ids, target, "move")


def _all_to(
    trace_ids: Sequence[str], session_id: str | None, operation: str
) -> dict[str, Assignment | None]:
    source = EDIT_SOURCE_PREFIX + operation
    return {trace_id: Assignment(session_id, source) for trace_id in trace_ids}


def _valid_id(session_id: str) -> str:
    valid = session_id_of(session_id)
    if valid is None or valid != session_id:
        raise EditError(f"not a usable session id: {session_id!r}")
    return valid


def session_trace_ids(store: Store, project_id: str, session_id: str) -> list[str]:
    """A session's traces in turn (start) order; EditError if it has none."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        query = TraceQuery(
            session_id=session_id, order_by="timestamp", descending=False,
            limit=MAX_PAGE_SIZE, cursor=cursor, with_total=False,
        )  # fmt: skip
        page = store.query_traces(project_id, query)
        found.extend(t.trace_id for t in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    if not found:
        raise EditError(f"no session {session_id} in this project", missing=True)
    return found
