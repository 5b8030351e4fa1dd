"""SQLite: scores, and the score aggregates of sessions.

A session's aggregates cover the scores on the session and on its traces and their
observations (`skein.fold.aggregate_scores`). They are recomputed whenever the session is
refolded: when its traces change, and when a score on it or on one of its traces is
written, replaced or deleted (`affected_sessions` names those).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from skein.fold import ScoreAggregate, aggregate_scores
from skein.records import Score
from skein.scores import ScoreQuery
from skein.store.base import Page

IDS = "(SELECT value FROM json_each(?))"
SCORE_COLUMNS = (
    "id", "name", "data_type", "value", "string_value", "timestamp_ns", "trace_id",
    "observation_id", "session_id", "source", "comment", "config_id", "environment",
    "metadata", "created_ns", "updated_ns",
)  # fmt: skip
UPSERT_SCORE = (
    f"INSERT INTO scores (project_id, {', '.join(SCORE_COLUMNS)})"
    f" VALUES ({', '.join('?' * (len(SCORE_COLUMNS) + 1))})"
    " ON CONFLICT (project_id, id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SCORE_COLUMNS if c not in ("id", "created_ns"))
)
SELECT_SCORE = f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE project_id = ? AND id = ?"
SELECT_TARGETS = f"SELECT trace_id, session_id FROM scores WHERE project_id = ? AND id IN {IDS}"
# Each trace found by its primary key: with `trace_id IN (…)` and DISTINCT, SQLite walked
# the project's whole `traces_by_session` index instead, a cost that grew with the database.
SELECT_SESSIONS_OF_TRACES = (
    "SELECT t.session_id FROM json_each(?2) AS j CROSS JOIN traces AS t"
    " ON t.project_id = ?1 AND t.trace_id = j.value WHERE t.session_id IS NOT NULL"
)
HAS_SCORES = "SELECT EXISTS (SELECT 1 FROM scores WHERE project_id = ?)"
AGGREGATED = "name, data_type, value, string_value"
SELECT_SESSION_SCORES = (
    f"SELECT session_id, {AGGREGATED} FROM scores"
    f" WHERE project_id = ?1 AND session_id IN {IDS.replace('?', '?2')}"
    f" UNION ALL SELECT t.session_id, {', '.join('s.' + c for c in AGGREGATED.split(', '))}"
    " FROM traces t JOIN scores s ON s.project_id = t.project_id AND s.trace_id = t.trace_id"
    f" WHERE t.project_id = ?1 AND t.session_id IN {IDS.replace('?', '?2')}"
)
DELETE_SCORE = "DELETE FROM scores WHERE project_id = ? AND id = ?"
DELETE_SCORES_OF_TRACES = f"DELETE FROM scores WHERE project_id = ? AND trace_id IN {IDS}"
# Filters of a ScoreQuery: (its field, the column it matches).
FILTERS = (
    ("ids", "id"),
    ("trace_ids", "trace_id"),
    ("observation_ids", "observation_id"),
    ("session_ids", "session_id"),
    ("names", "name"),
    ("data_types", "data_type"),
    ("sources", "source"),
    ("environments", "environment"),
    ("config_ids", "config_id"),
)

Row = tuple[Any, ...]


def write_scores(
    connection: sqlite3.Connection, project_id: str, scores: Sequence[Score]
) -> set[str]:
    """Upsert scores (a known id is replaced; it keeps its created time); return the sessions
    whose aggregates change: those of the old and the new targets."""
    ids = [score.id for score in scores]
    sessions = affected_sessions(connection, project_id, _targets(connection, project_id, ids))
    connection.executemany(UPSERT_SCORE, [_score_row(project_id, s) for s in scores])
    new_targets = [(s.trace_id, s.session_id) for s in scores]
    return sessions | affected_sessions(connection, project_id, new_targets)


def delete_score(connection: sqlite3.Connection, project_id: str, score_id: str) -> set[str] | None:
    """Delete one score; the sessions whose aggregates change, or None if there was none."""
    targets = _targets(connection, project_id, [score_id])
    if not targets:
        return None
    connection.execute(DELETE_SCORE, (project_id, score_id))
    return affected_sessions(connection, project_id, targets)


def delete_scores_of_traces(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> None:
    connection.execute(DELETE_SCORES_OF_TRACES, (project_id, _json_ids(trace_ids)))


def affected_sessions(
    connection: sqlite3.Connection,
    project_id: str,
    targets: Iterable[tuple[str | None, str | None]],
) -> set[str]:
    """The sessions that (trace id, session id) score targets count towards."""
    trace_ids: set[str] = set()
    sessions: set[str] = set()
    for trace_id, session_id in targets:
        if session_id is not None:
            sessions.add(session_id)
        if trace_id is not None:
            trace_ids.add(trace_id)
    if trace_ids:
        rows = connection.execute(SELECT_SESSIONS_OF_TRACES, (project_id, _json_ids(trace_ids)))
        sessions.update(row[0] for row in rows)
    return sessions


def _targets(
    connection: sqlite3.Connection, project_id: str, score_ids: Sequence[str]
) -> list[tuple[str | None, str | None]]:
    rows = connection.execute(SELECT_TARGETS, (project_id, _json_ids(score_ids)))
    return [(row[0], row[1]) for row in rows]


def session_aggregates(
    connection: sqlite3.Connection, project_id: str, session_ids: Iterable[str]
) -> dict[str, dict[str, ScoreAggregate]]:
    """The score aggregates of each session that has scores."""
    if not connection.execute(HAS_SCORES, (project_id,)).fetchone()[0]:
        return {}
    by_session: dict[str, list[Score]] = defaultdict(list)
    rows = connection.execute(SELECT_SESSION_SCORES, (project_id, _json_ids(session_ids)))
    for session_id, name, data_type, value, string_value in rows:
        by_session[session_id].append(Score("", name, data_type, value, string_value, 0))
    return {sid: aggregate_scores(scores) for sid, scores in by_session.items()}


# -- Reads -----------------------------------------------------------------------------------


def get_score(connection: sqlite3.Connection, project_id: str, score_id: str) -> Score | None:
    row = connection.execute(SELECT_SCORE, (project_id, score_id)).fetchone()
    return score_from_row(row) if row else None


def score_page(connection: sqlite3.Connection, project_id: str, query: ScoreQuery) -> Page[Score]:
    """Matching scores, newest first (then by id), one page, and how many match in all."""
    where, parameters = _where(project_id, query)
    total = connection.execute(f"SELECT count(*) FROM scores WHERE {where}", parameters)
    rows = connection.execute(
        f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE {where}"
        " ORDER BY timestamp_ns DESC, id DESC LIMIT ? OFFSET ?",
        [*parameters, query.limit, query.offset],
    )
    return Page(tuple(score_from_row(row) for row in rows), None, total.fetchone()[0])


def _where(project_id: str, query: ScoreQuery) -> tuple[str, list[Any]]:
    clauses = ["project_id = ?"]
    parameters: list[Any] = [project_id]
    for attribute, column in FILTERS:
        values = getattr(query, attribute)
        if values:
            clauses.append(f"{column} IN {IDS}")
            parameters.append(_json_ids(values))
    if query.from_ns is not None:
        clauses.append("timestamp_ns >= ?")
        parameters.append(query.from_ns)
    if query.to_ns is not None:
        clauses.append("timestamp_ns < ?")
        parameters.append(query.to_ns)
    return " AND ".join(clauses), parameters


# -- Rows ------------------------------------------------------------------------------------


def _score_row(project_id: str, s: Score) -> Row:
    return (
        project_id, s.id, s.name, s.data_type, s.value, s.string_value, s.timestamp_ns,
        s.trace_id, s.observation_id, s.session_id, s.source, s.comment, s.config_id,
        s.environment, json.dumps(dict(s.metadata), ensure_ascii=False), s.created_ns,
        s.updated_ns,
    )  # fmt: skip


def score_from_row(row: Row) -> Score:
    values = list(row)
    values[13] = json.loads(values[13])  # metadata
    return Score(*values)


def _json_ids(ids: Iterable[str]) -> str:
    return json.dumps(list(ids), ensure_ascii=False)
