"""PostgreSQL: session repair's assignments, audit log, rules and backfill candidates (the
statements of `sqlite_repair` in PostgreSQL's dialect)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import psycopg
from psycopg.rows import TupleRow

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
    retired_sessions,
    reversed_move,
    rule_json,
)
from skein.store.sqlite_repair import AUDIT_COLUMNS, audit_from_row, audit_row

Connection = psycopg.Connection[TupleRow]

# Session data attached to a session id (moved when an edit retires the id).
SELECT_SESSION_SCORE_IDS = (
    "SELECT id FROM scores WHERE project_id = %s AND session_id = %s ORDER BY id"
)
SELECT_SESSION_COMMENT_IDS = (
    "SELECT id FROM comments WHERE project_id = %s AND object_type = 'session'"
    " AND object_id = %s ORDER BY id"
)
SELECT_BOOKMARK = "SELECT 1 FROM session_bookmarks WHERE project_id = %s AND session_id = %s"
MOVE_SCORES = (
    "UPDATE scores SET session_id = %s WHERE project_id = %s AND session_id = %s"
    " AND id = ANY(%s) RETURNING id"
)
MOVE_COMMENTS = (
    "UPDATE comments SET object_id = %s WHERE project_id = %s AND object_type = 'session'"
    " AND object_id = %s AND id = ANY(%s) RETURNING id"
)
DELETE_BOOKMARK = "DELETE FROM session_bookmarks WHERE project_id = %s AND session_id = %s"
INSERT_BOOKMARK = (
    "INSERT INTO session_bookmarks (project_id, session_id, created_ns) VALUES (%s, %s, %s)"
    " ON CONFLICT (project_id, session_id) DO NOTHING"
)

SELECT_ASSIGNMENTS = (
    "SELECT trace_id, session_id, source FROM session_assignments"
    " WHERE project_id = %s AND trace_id = ANY(%s)"
)
UPSERT_ASSIGNMENT = (
    "INSERT INTO session_assignments (project_id, trace_id, session_id, source, audit_id,"
    " created_ns) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (project_id, trace_id) DO UPDATE"
    " SET session_id = EXCLUDED.session_id, source = EXCLUDED.source,"
    " audit_id = EXCLUDED.audit_id, created_ns = EXCLUDED.created_ns"
)
DELETE_ASSIGNMENTS = "DELETE FROM session_assignments WHERE project_id = %s AND trace_id = ANY(%s)"
SELECT_TRACE_SESSIONS = (
    "SELECT trace_id, session_id FROM traces WHERE project_id = %s AND trace_id = ANY(%s)"
)
INSERT_AUDIT = (
    f"INSERT INTO session_audit (project_id, {AUDIT_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (project_id, id) DO NOTHING"
)
INSERT_AUDIT_SESSION = (
    "INSERT INTO session_audit_sessions (project_id, session_id, audit_id)"
    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
)
SELECT_AUDIT = f"SELECT {AUDIT_COLUMNS} FROM session_audit WHERE project_id = %s AND id = %s"
SELECT_PROJECT_AUDIT = (
    f"SELECT {AUDIT_COLUMNS} FROM session_audit WHERE project_id = %s"
    " ORDER BY created_ns DESC, id DESC LIMIT %s"
)
SELECT_SESSION_AUDIT = (
    f"SELECT {', '.join('a.' + c.strip() for c in AUDIT_COLUMNS.split(','))}"
    " FROM session_audit_sessions s JOIN session_audit a"
    " ON a.project_id = s.project_id AND a.id = s.audit_id"
    " WHERE s.project_id = %s AND s.session_id = %s"
    " ORDER BY a.created_ns DESC, a.id DESC LIMIT %s"
)
MARK_UNDONE = "UPDATE session_audit SET undone_by = %s WHERE project_id = %s AND id = %s"
SELECT_RULES = "SELECT rules FROM session_rules WHERE project_id = %s"
UPSERT_RULES = (
    "INSERT INTO session_rules (project_id, rules, updated_ns) VALUES (%s, %s, %s)"
    " ON CONFLICT (project_id) DO UPDATE SET rules = EXCLUDED.rules,"
    " updated_ns = EXCLUDED.updated_ns"
)
SELECT_CANDIDATES = (
    "SELECT t.trace_id, t.start_ns, t.end_ns, t.user_id, t.session_id, t.session_source"
    " FROM traces t LEFT JOIN session_assignments a"
    " ON a.project_id = t.project_id AND a.trace_id = t.trace_id"
    " WHERE t.project_id = %(project)s"
    " AND (%(from)s::bigint IS NULL OR t.start_ns >= %(from)s)"
    " AND (%(to)s::bigint IS NULL OR t.start_ns < %(to)s)"
    " AND (%(user)s::text IS NULL OR t.user_id = %(user)s)"
    " AND ((t.session_id IS NULL AND a.trace_id IS NULL)"
    f" OR (%(inferred)s AND a.source LIKE '{INFER_SOURCE_PREFIX}%%'))"
    " ORDER BY t.start_ns, t.trace_id"
)
SELECT_CANDIDATE_METADATA = (
    "SELECT trace_id, trace_metadata, metadata FROM observations"
    " WHERE project_id = %s AND trace_id = ANY(%s)"
    " ORDER BY trace_id, type != 'TRACE', NOT is_root, start_ns, id"
)


def assignments(
    connection: Connection, project_id: str, trace_ids: Iterable[str]
) -> dict[str, Assignment]:
    rows = connection.execute(SELECT_ASSIGNMENTS, (project_id, list(trace_ids)))
    return {trace_id: Assignment(session_id, source) for trace_id, session_id, source in rows}


def apply_to_traces(
    connection: Connection, project_id: str, traces: list[TraceSummary]
) -> list[TraceSummary]:
    found = assignments(connection, project_id, (t.trace_id for t in traces))
    if not found:
        return traces
    return [
        replace(t, session_id=a.session_id, session_source=a.source)
        if (a := found.get(t.trace_id))
        else t
        for t in traces
    ]


def trace_sessions(
    connection: Connection, project_id: str, trace_ids: Iterable[str]
) -> dict[str, str | None]:
    rows = connection.execute(SELECT_TRACE_SESSIONS, (project_id, list(trace_ids)))
    return {trace_id: session_id for trace_id, session_id in rows}


def previous_states(
    connection: Connection, project_id: str, trace_ids: Sequence[str]
) -> dict[str, PreviousState]:
    found = assignments(connection, project_id, trace_ids)
    sessions = trace_sessions(connection, project_id, trace_ids)
    return {t: PreviousState(found.get(t), sessions.get(t)) for t in trace_ids}


def write_assignments(
    connection: Connection,
    project_id: str,
    changes: Mapping[str, Assignment | None],
    audit_id: str,
    now_ns: int,
) -> None:
    rows = [
        (project_id, trace_id, a.session_id, a.source, audit_id, now_ns)
        for trace_id, a in changes.items()
        if a is not None
    ]
    with connection.cursor() as cursor:
        cursor.executemany(UPSERT_ASSIGNMENT, rows)
    removed = [t for t, a in changes.items() if a is None]
    if removed:
        connection.execute(DELETE_ASSIGNMENTS, (project_id, removed))


def delete_assignments(connection: Connection, project_id: str, trace_ids: Sequence[str]) -> None:
    connection.execute(DELETE_ASSIGNMENTS, (project_id, list(trace_ids)))


def move_session_data(
    connection: Connection,
    project_id: str,
    entry: AuditEntry,
    restore: Sequence[SessionDataMove],
    now_ns: int,
) -> tuple[SessionDataMove, ...]:
    """Move the session data `entry` retires, and put back what `restore` (an undone entry's
    moves) moved; what moved (as `sqlite_repair.move_session_data`)."""
    retired = retired_sessions(entry.operation, entry.parameters)
    plans = [_whole_session(connection, project_id, old, new) for old, new in retired.items()]
    moved = (perform_move(connection, project_id, m, now_ns) for m in plans)
    back = (perform_move(connection, project_id, reversed_move(m), now_ns) for m in restore)
    return tuple(m for m in moved if _moved_anything(m)) + tuple(back)


def _moved_anything(move: SessionDataMove) -> bool:
    return bool(move.score_ids or move.comment_ids or move.bookmark_removed)


def _whole_session(connection: Connection, project_id: str, old: str, new: str) -> SessionDataMove:
    scores = connection.execute(SELECT_SESSION_SCORE_IDS, (project_id, old)).fetchall()
    comments = connection.execute(SELECT_SESSION_COMMENT_IDS, (project_id, old)).fetchall()
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
    connection: Connection, project_id: str, move: SessionDataMove, now_ns: int
) -> SessionDataMove:
    """Move the named rows still under `from_session_id`; the bookmark is removed (added)
    only where `move` says so. Returns what actually moved."""
    old, new = move.from_session_id, move.to_session_id
    scores = connection.execute(MOVE_SCORES, (new, project_id, old, list(move.score_ids)))
    score_ids = tuple(sorted(row[0] for row in scores.fetchall()))
    comments = connection.execute(MOVE_COMMENTS, (new, project_id, old, list(move.comment_ids)))
    comment_ids = tuple(sorted(row[0] for row in comments.fetchall()))
    removed = move.bookmark_removed and _changed(connection, DELETE_BOOKMARK, (project_id, old))
    added = move.bookmark_added and _changed(connection, INSERT_BOOKMARK, (project_id, new, now_ns))
    return SessionDataMove(old, new, score_ids, comment_ids, removed, added)


def _changed(connection: Connection, statement: str, parameters: tuple[Any, ...]) -> bool:
    return connection.execute(statement, parameters).rowcount > 0


def record_audit(connection: Connection, project_id: str, entry: AuditEntry) -> bool:
    inserted = connection.execute(INSERT_AUDIT, (project_id, *audit_row(entry))).rowcount > 0
    with connection.cursor() as cursor:
        cursor.executemany(
            INSERT_AUDIT_SESSION, [(project_id, s, entry.id) for s in entry.sessions]
        )
    return inserted


def get_audit(connection: Connection, project_id: str, audit_id: str) -> AuditEntry | None:
    row = connection.execute(SELECT_AUDIT, (project_id, audit_id)).fetchone()
    return audit_from_row(row) if row else None


def list_audit(
    connection: Connection, project_id: str, session_id: str | None, limit: int
) -> list[AuditEntry]:
    if session_id is None:
        rows = connection.execute(SELECT_PROJECT_AUDIT, (project_id, limit))
    else:
        rows = connection.execute(SELECT_SESSION_AUDIT, (project_id, session_id, limit))
    return [audit_from_row(row) for row in rows]


def mark_undone(connection: Connection, project_id: str, audit_id: str, undone_by: str) -> None:
    connection.execute(MARK_UNDONE, (undone_by, project_id, audit_id))


def get_rules(connection: Connection, project_id: str) -> list[dict[str, Any]]:
    row = connection.execute(SELECT_RULES, (project_id,)).fetchone()
    return list(json.loads(row[0])) if row else []


def set_rules(
    connection: Connection, project_id: str, rules: Sequence[SessionRule], now_ns: int
) -> None:
    text = json.dumps([rule_json(rule) for rule in rules])
    connection.execute(UPSERT_RULES, (project_id, text, now_ns))


def candidates(connection: Connection, project_id: str, query: CandidateQuery) -> list[Candidate]:
    parameters = {
        "project": project_id, "from": query.from_ns, "to": query.to_ns,
        "user": query.user_id, "inferred": query.include_inferred,
    }  # fmt: skip
    found = [Candidate(*row) for row in connection.execute(SELECT_CANDIDATES, parameters)]
    if not query.with_metadata or not found:
        return found
    metadata: dict[str, list[Mapping[str, Any]]] = {}
    rows = connection.execute(SELECT_CANDIDATE_METADATA, (project_id, [c.trace_id for c in found]))
    for trace_id, trace_metadata, span_metadata in rows:
        metadata.setdefault(trace_id, []).extend(
            (json.loads(trace_metadata), json.loads(span_metadata))
        )
    return [replace(c, metadata=tuple(metadata.get(c.trace_id, ()))) for c in found]
