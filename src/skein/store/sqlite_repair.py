"""SQL of session repair (migration 0006): assignments, the audit log, session rules and
backfill candidates. Plain functions over a connection; `SQLiteStore` calls them inside its
transactions and refolds what they change."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from skein.fold import TraceSummary
from skein.repair.model import (
    INFER_SOURCE_PREFIX,
    Assignment,
    AuditEntry,
    Candidate,
    CandidateQuery,
    PreviousState,
    SessionDataMove,
    SessionRule,
    moves_from_json,
    moves_json,
    previous_from_json,
    previous_json,
    retired_sessions,
    reversed_move,
    rule_json,
)

IDS = "(SELECT value FROM json_each(?))"

SELECT_ASSIGNMENTS = (
    "SELECT trace_id, session_id, source FROM session_assignments"
    f" WHERE project_id = ? AND trace_id IN {IDS}"
)
UPSERT_ASSIGNMENT = (
    "INSERT INTO session_assignments (project_id, trace_id, session_id, source, audit_id,"
    " created_ns) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, trace_id) DO UPDATE SET"
    " session_id = excluded.session_id, source = excluded.source,"
    " audit_id = excluded.audit_id, created_ns = excluded.created_ns"
)
DELETE_ASSIGNMENT = "DELETE FROM session_assignments WHERE project_id = ? AND trace_id = ?"
DELETE_ASSIGNMENTS = f"DELETE FROM session_assignments WHERE project_id = ? AND trace_id IN {IDS}"
SELECT_TRACE_SESSIONS = (
    f"SELECT trace_id, session_id FROM traces WHERE project_id = ? AND trace_id IN {IDS}"
)
AUDIT_COLUMNS = "id, created_ns, actor, operation, parameters, sessions, previous, undone_by, moved"
INSERT_AUDIT = (
    f"INSERT OR IGNORE INTO session_audit (project_id, {AUDIT_COLUMNS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_AUDIT_SESSION = (
    "INSERT OR IGNORE INTO session_audit_sessions (project_id, session_id, audit_id)"
    " VALUES (?, ?, ?)"
)
SELECT_AUDIT = f"SELECT {AUDIT_COLUMNS} FROM session_audit WHERE project_id = ? AND id = ?"
SELECT_PROJECT_AUDIT = (
    f"SELECT {AUDIT_COLUMNS} FROM session_audit WHERE project_id = ?"
    " ORDER BY created_ns DESC, id DESC LIMIT ?"
)
SELECT_SESSION_AUDIT = (
    f"SELECT {', '.join('a.' + c.strip() for c in AUDIT_COLUMNS.split(','))}"
    " FROM session_audit_sessions s JOIN session_audit a"
    " ON a.project_id = s.project_id AND a.id = s.audit_id"
    " WHERE s.project_id = ? AND s.session_id = ? ORDER BY a.created_ns DESC, a.id DESC LIMIT ?"
)
MARK_UNDONE = "UPDATE session_audit SET undone_by = ? WHERE project_id = ? AND id = ?"
SELECT_RULES = "SELECT rules FROM session_rules WHERE project_id = ?"
UPSERT_RULES = (
    "INSERT INTO session_rules (project_id, rules, updated_ns) VALUES (?, ?, ?)"
    " ON CONFLICT (project_id) DO UPDATE SET rules = excluded.rules,"
    " updated_ns = excluded.updated_ns"
)
# Traces a backfill may assign: no session and no assignment; optionally the inferred ones.
SELECT_CANDIDATES = (
    "SELECT t.trace_id, t.start_ns, t.end_ns, t.user_id, t.session_id, t.session_source"
    " FROM traces t LEFT JOIN session_assignments a"
    " ON a.project_id = t.project_id AND a.trace_id = t.trace_id"
    " WHERE t.project_id = ?1 AND (?2 IS NULL OR t.start_ns >= ?2)"
    " AND (?3 IS NULL OR t.start_ns < ?3) AND (?4 IS NULL OR t.user_id = ?4)"
    " AND ((t.session_id IS NULL AND a.trace_id IS NULL)"
    f" OR (?5 AND a.source LIKE '{INFER_SOURCE_PREFIX}%'))"
    " ORDER BY t.start_ns, t.trace_id"
)
# Per span of the traces: its trace metadata and metadata, roots first, then by start.
SELECT_CANDIDATE_METADATA = (
    "SELECT trace_id, trace_metadata, metadata FROM observations"
    f" WHERE project_id = ? AND trace_id IN {IDS}"
    " ORDER BY trace_id, type != 'TRACE', NOT is_root, start_ns, id"
)

# Session data attached to a session id (moved when an edit retires the id).
SELECT_SESSION_SCORE_IDS = (
    "SELECT id FROM scores WHERE project_id = ? AND session_id = ? ORDER BY id"
)
SELECT_SESSION_COMMENT_IDS = (
    "SELECT id FROM comments WHERE project_id = ? AND object_type = 'session' AND object_id = ?"
    " ORDER BY id"
)
MOVE_SCORES = (
    f"UPDATE scores SET session_id = ? WHERE project_id = ? AND session_id = ? AND id IN {IDS}"
    " RETURNING id"
)
MOVE_COMMENTS = (
    "UPDATE comments SET object_id = ? WHERE project_id = ? AND object_type = 'session'"
    f" AND object_id = ? AND id IN {IDS} RETURNING id"
)
SELECT_BOOKMARK = "SELECT 1 FROM session_bookmarks WHERE project_id = ? AND session_id = ?"
DELETE_BOOKMARK = "DELETE FROM session_bookmarks WHERE project_id = ? AND session_id = ?"
INSERT_BOOKMARK = (
    "INSERT INTO session_bookmarks (project_id, session_id, created_ns) VALUES (?, ?, ?)"
    " ON CONFLICT (project_id, session_id) DO NOTHING"
)

Row = tuple[Any, ...]


def _ids(values: Iterable[str]) -> str:
    return json.dumps(list(values))


# -- Assignments -------------------------------------------------------------------------------


def assignments(
    connection: sqlite3.Connection, project_id: str, trace_ids: Iterable[str]
) -> dict[str, Assignment]:
    rows = connection.execute(SELECT_ASSIGNMENTS, (project_id, _ids(trace_ids)))
    return {trace_id: Assignment(session_id, source) for trace_id, session_id, source in rows}


def apply_to_traces(
    connection: sqlite3.Connection, project_id: str, traces: list[TraceSummary]
) -> list[TraceSummary]:
    """The folded traces with each one's assignment, if any, in place of its session."""
    found = assignments(connection, project_id, (t.trace_id for t in traces))
    if not found:
        return traces
    return [_assigned(t, found.get(t.trace_id)) for t in traces]


def _assigned(trace: TraceSummary, assignment: Assignment | None) -> TraceSummary:
    if assignment is None:
        return trace
    return replace(trace, session_id=assignment.session_id, session_source=assignment.source)


def trace_sessions(
    connection: sqlite3.Connection, project_id: str, trace_ids: Iterable[str]
) -> dict[str, str | None]:
    """The session each stored trace is in now (traces not stored are left out)."""
    rows = connection.execute(SELECT_TRACE_SESSIONS, (project_id, _ids(trace_ids)))
    return dict(rows.fetchall())


def previous_states(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> dict[str, PreviousState]:
    found = assignments(connection, project_id, trace_ids)
    sessions = trace_sessions(connection, project_id, trace_ids)
    return {t: PreviousState(found.get(t), sessions.get(t)) for t in trace_ids}


def write_assignments(
    connection: sqlite3.Connection,
    project_id: str,
    changes: Mapping[str, Assignment | None],
    audit_id: str,
    now_ns: int,
) -> None:
    """Set each trace's assignment; None removes it (the folded session applies again)."""
    connection.executemany(
        UPSERT_ASSIGNMENT,
        [
            (project_id, trace_id, a.session_id, a.source, audit_id, now_ns)
            for trace_id, a in changes.items()
            if a is not None
        ],
    )
    connection.executemany(
        DELETE_ASSIGNMENT, [(project_id, t) for t, a in changes.items() if a is None]
    )


def delete_assignments(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> None:
    connection.execute(DELETE_ASSIGNMENTS, (project_id, _ids(trace_ids)))


# -- Session data of retired session ids -------------------------------------------------------


def move_session_data(
    connection: sqlite3.Connection,
    project_id: str,
    entry: AuditEntry,
    restore: Sequence[SessionDataMove],
    now_ns: int,
) -> tuple[SessionDataMove, ...]:
    """Move the session data `entry` retires, and put back what `restore` (an undone entry's
    moves) moved; what moved."""
    retired = retired_sessions(entry.operation, entry.parameters)
    moved = retire_sessions(connection, project_id, retired, now_ns)
    back = (perform_move(connection, project_id, reversed_move(m), now_ns) for m in restore)
    return moved + tuple(back)


def retire_sessions(
    connection: sqlite3.Connection, project_id: str, retired: Mapping[str, str], now_ns: int
) -> tuple[SessionDataMove, ...]:
    """Move each retired id's session data to its new id; what moved (ids with nothing to
    move are left out)."""
    moves = (_whole_session(connection, project_id, old, new) for old, new in retired.items())
    done = (perform_move(connection, project_id, m, now_ns) for m in moves)
    return tuple(
        m for m in done if m.score_ids or m.comment_ids or m.bookmark_removed or m.bookmark_added
    )


def _whole_session(
    connection: sqlite3.Connection, project_id: str, old: str, new: str
) -> SessionDataMove:
    scores = connection.execute(SELECT_SESSION_SCORE_IDS, (project_id, old))
    comments = connection.execute(SELECT_SESSION_COMMENT_IDS, (project_id, old))
    bookmarked = connection.execute(SELECT_BOOKMARK, (project_id, old)).fetchone() is not None
    return SessionDataMove(
        from_session_id=old,
        to_session_id=new,
        score_ids=tuple(row[0] for row in scores),
        comment_ids=tuple(row[0] for row in comments),
        bookmark_removed=bookmarked,
        bookmark_added=bookmarked,
    )


def perform_move(
    connection: sqlite3.Connection, project_id: str, move: SessionDataMove, now_ns: int
) -> SessionDataMove:
    """Move the named rows still under `from_session_id`; the bookmark is removed (added)
    only where `move` says so. Returns what actually moved."""
    old, new = move.from_session_id, move.to_session_id
    scores = connection.execute(MOVE_SCORES, (new, project_id, old, _ids(move.score_ids)))
    score_ids = tuple(sorted(row[0] for row in scores))
    comments = connection.execute(MOVE_COMMENTS, (new, project_id, old, _ids(move.comment_ids)))
    comment_ids = tuple(sorted(row[0] for row in comments))
    removed = move.bookmark_removed and _delete_bookmark(connection, project_id, old)
    added = move.bookmark_added and _add_bookmark(connection, project_id, new, now_ns)
    return SessionDataMove(old, new, score_ids, comment_ids, removed, added)


def _delete_bookmark(connection: sqlite3.Connection, project_id: str, session_id: str) -> bool:
    return connection.execute(DELETE_BOOKMARK, (project_id, session_id)).rowcount > 0


def _add_bookmark(
    connection: sqlite3.Connection, project_id: str, session_id: str, now_ns: int
) -> bool:
    return connection.execute(INSERT_BOOKMARK, (project_id, session_id, now_ns)).rowcount > 0


# -- The audit log -----------------------------------------------------------------------------


def record_audit(connection: sqlite3.Connection, project_id: str, entry: AuditEntry) -> bool:
    """Store an entry (an id already stored is left alone: False)."""
    inserted = connection.execute(INSERT_AUDIT, (project_id, *audit_row(entry))).rowcount > 0
    connection.executemany(
        INSERT_AUDIT_SESSION, [(project_id, s, entry.id) for s in entry.sessions]
    )
    return inserted


def get_audit(connection: sqlite3.Connection, project_id: str, audit_id: str) -> AuditEntry | None:
    row = connection.execute(SELECT_AUDIT, (project_id, audit_id)).fetchone()
    return audit_from_row(row) if row else None


def list_audit(
    connection: sqlite3.Connection, project_id: str, session_id: str | None, limit: int
) -> list[AuditEntry]:
    if session_id is None:
        rows = connection.execute(SELECT_PROJECT_AUDIT, (project_id, limit))
    else:
        rows = connection.execute(SELECT_SESSION_AUDIT, (project_id, session_id, limit))
    return [audit_from_row(row) for row in rows]


def mark_undone(
    connection: sqlite3.Connection, project_id: str, audit_id: str, undone_by: str
) -> None:
    connection.execute(MARK_UNDONE, (undone_by, project_id, audit_id))


def audit_row(entry: AuditEntry) -> Row:
    return (
        entry.id,
        entry.created_ns,
        entry.actor,
        entry.operation,
        json.dumps(dict(entry.parameters), sort_keys=True),
        json.dumps(list(entry.sessions)),
        json.dumps(previous_json(entry.previous)),
        entry.undone_by,
        json.dumps(moves_json(entry.moved)),
    )


def audit_from_row(row: Row) -> AuditEntry:
    id, created_ns, actor, operation, parameters, sessions, previous, undone_by, moved = row
    return AuditEntry(
        id=id,
        created_ns=created_ns,
        actor=actor,
        operation=operation,
        parameters=json.loads(parameters),
        sessions=tuple(json.loads(sessions)),
        previous=previous_from_json(json.loads(previous)),
        undone_by=undone_by,
        moved=moves_from_json(json.loads(moved)),
    )


# -- Rules and candidates ----------------------------------------------------------------------


def get_rules(connection: sqlite3.Connection, project_id: str) -> list[dict[str, Any]]:
    """The project's rules as stored (JSON objects; `skein.repair.rules` reads them)."""
    row = connection.execute(SELECT_RULES, (project_id,)).fetchone()
    return list(json.loads(row[0])) if row else []


def set_rules(
    connection: sqlite3.Connection, project_id: str, rules: Sequence[SessionRule], now_ns: int
) -> None:
    text = json.dumps([rule_json(rule) for rule in rules])
    connection.execute(UPSERT_RULES, (project_id, text, now_ns))


def candidates(
    connection: sqlite3.Connection, project_id: str, query: CandidateQuery
) -> list[Candidate]:
    parameters = (project_id, query.from_ns, query.to_ns, query.user_id, query.include_inferred)
    found = [Candidate(*row) for row in connection.execute(SELECT_CANDIDATES, parameters)]
    if not query.with_metadata or not found:
        return found
    metadata = _span_metadata(connection, project_id, [c.trace_id for c in found])
    return [replace(c, metadata=tuple(metadata.get(c.trace_id, ()))) for c in found]


def _span_metadata(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    rows = connection.execute(SELECT_CANDIDATE_METADATA, (project_id, _ids(trace_ids)))
    for trace_id, trace_metadata, metadata in rows:
        maps = found.setdefault(trace_id, [])
        maps.append(json.loads(trace_metadata))
        maps.append(json.loads(metadata))
    return found
