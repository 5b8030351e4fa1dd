"""PostgreSQL: applying, undoing and importing session assignments inside one transaction
(the refold through `postgres_write`, which locks the traces and sessions it folds)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import psycopg
from psycopg.rows import TupleRow

from skein.repair.model import (
    AlreadyUndone,
    Assignment,
    AuditEntry,
    SessionDataMove,
    moved_sessions,
)
from skein.store import postgres_repair, postgres_write

Connection = psycopg.Connection[TupleRow]


def apply_changes(
    connection: Connection,
    project_id: str,
    entry: AuditEntry,
    changes: Mapping[str, Assignment | None],
    restore: Sequence[SessionDataMove] = (),
) -> AuditEntry:
    """Apply assignments and move the session data of the session ids `entry` retires (or put
    back what an undone entry moved: `restore`), then refold; one audit entry."""
    ids, now_ns = sorted(changes), time.time_ns()
    previous = postgres_repair.previous_states(connection, project_id, ids)
    postgres_repair.write_assignments(connection, project_id, changes, entry.id, now_ns)
    moved = postgres_repair.move_session_data(connection, project_id, entry, restore, now_ns)
    postgres_write.refold(
        connection, project_id, {}, also_traces=ids, also_sessions=moved_sessions(moved)
    )
    after = postgres_repair.trace_sessions(connection, project_id, ids)
    touched = {p.session_id for p in previous.values()} | set(after.values()) | set(entry.sessions)
    touched |= moved_sessions(moved)
    sessions = tuple(sorted(s for s in touched if s))
    stored = replace(entry, previous=previous, sessions=sessions, moved=moved)
    postgres_repair.record_audit(connection, project_id, stored)
    return stored


def undo(
    connection: Connection, project_id: str, audit_id: str, entry: AuditEntry
) -> AuditEntry | None:
    original = postgres_repair.get_audit(connection, project_id, audit_id)
    if original is None:
        return None
    if original.undone_by is not None:
        raise AlreadyUndone(f"audit entry {audit_id} was undone by {original.undone_by}")
    changes = {t: state.assignment for t, state in original.previous.items()}
    stored = apply_changes(connection, project_id, entry, changes, original.moved)
    postgres_repair.mark_undone(connection, project_id, audit_id, stored.id)
    return stored


def import_changes(
    connection: Connection, project_id: str, assignments: Mapping[str, Assignment]
) -> int:
    current = postgres_repair.assignments(connection, project_id, assignments)
    changed = {t: a for t, a in assignments.items() if current.get(t) != a}
    if changed:
        postgres_repair.write_assignments(connection, project_id, changed, "import", time.time_ns())
        postgres_write.refold(connection, project_id, {}, also_traces=changed)
    return len(changed)
