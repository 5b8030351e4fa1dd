"""PostgreSQL: scores, and the score aggregates of sessions (see `skein.store.sqlite_scores`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from skein.fold import ScoreAggregate, aggregate_scores
from skein.records import Score
from skein.scores import ScoreQuery
from skein.store.base import Page
from skein.store.sqlite_scores import FILTERS, SCORE_COLUMNS, _score_row, score_from_row

Connection = psycopg.Connection[TupleRow]

UPSERT_SCORE = (
    f"INSERT INTO scores (project_id, {', '.join(SCORE_COLUMNS)})"
    f" VALUES ({', '.join(['%s'] * (len(SCORE_COLUMNS) + 1))})"
    " ON CONFLICT (project_id, id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in SCORE_COLUMNS if c not in ("id", "created_ns"))
)
SELECT_SCORE = f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE project_id = %s AND id = %s"
SELECT_TARGETS = "SELECT trace_id, session_id FROM scores WHERE project_id = %s AND id = ANY(%s)"
SELECT_SESSIONS_OF_TRACES = (
    "SELECT DISTINCT session_id FROM traces WHERE project_id = %s AND trace_id = ANY(%s)"
    " AND session_id IS NOT NULL"
)
HAS_SCORES = "SELECT EXISTS (SELECT 1 FROM scores WHERE project_id = %s)"
SELECT_SESSION_SCORES = (
    "SELECT session_id, name, data_type, value, string_value FROM scores"
    " WHERE project_id = %(project)s AND session_id = ANY(%(ids)s)"
    " UNION ALL SELECT t.session_id, s.name, s.data_type, s.value, s.string_value"
    " FROM traces t JOIN scores s ON s.project_id = t.project_id AND s.trace_id = t.trace_id"
    " WHERE t.project_id = %(project)s AND t.session_id = ANY(%(ids)s)"
)
DELETE_SCORE = "DELETE FROM scores WHERE project_id = %s AND id = %s"
DELETE_SCORES_OF_TRACES = "DELETE FROM scores WHERE project_id = %s AND trace_id = ANY(%s)"


def write_scores(connection: Connection, project_id: str, scores: Sequence[Score]) -> set[str]:
    """Upsert scores; return the sessions whose aggregates change (old and new targets)."""
    ids = [score.id for score in scores]
    sessions = affected_sessions(connection, project_id, _targets(connection, project_id, ids))
    with connection.cursor() as cursor:
        cursor.executemany(UPSERT_SCORE, [_score_row(project_id, s) for s in scores])
    new_targets = [(s.trace_id, s.session_id) for s in scores]
    return sessions | affected_sessions(connection, project_id, new_targets)


def delete_score(connection: Connection, project_id: str, score_id: str) -> set[str] | None:
    targets = _targets(connection, project_id, [score_id])
    if not targets:
        return None
    connection.execute(DELETE_SCORE, (project_id, score_id))
    return affected_sessions(connection, project_id, targets)


def delete_scores_of_traces(
    connection: Connection, project_id: str, trace_ids: Sequence[str]
) -> None:
    connection.execute(DELETE_SCORES_OF_TRACES, (project_id, list(trace_ids)))


def affected_sessions(
    connection: Connection, project_id: str, targets: Iterable[tuple[str | None, str | None]]
) -> set[str]:
    trace_ids: set[str] = set()
    sessions: set[str] = set()
    for trace_id, session_id in targets:
        if session_id is not None:
            sessions.add(session_id)
        if trace_id is not None:
            trace_ids.add(trace_id)
    if trace_ids:
        rows = connection.execute(SELECT_SESSIONS_OF_TRACES, (project_id, list(trace_ids)))
        sessions.update(row[0] for row in rows)
    return sessions


def _targets(
    connection: Connection, project_id: str, score_ids: Sequence[str]
) -> list[tuple[str | None, str | None]]:
    rows = connection.execute(SELECT_TARGETS, (project_id, list(score_ids)))
    return [(row[0], row[1]) for row in rows]


def session_aggregates(
    connection: Connection, project_id: str, session_ids: Iterable[str]
) -> dict[str, dict[str, ScoreAggregate]]:
    has_scores = connection.execute(HAS_SCORES, (project_id,)).fetchone()
    if not has_scores or not has_scores[0]:
        return {}
    by_session: dict[str, list[Score]] = defaultdict(list)
    parameters = {"project": project_id, "ids": list(session_ids)}
    for session_id, name, data_type, value, string_value in connection.execute(
        SELECT_SESSION_SCORES, parameters
    ):
        by_session[session_id].append(Score("", name, data_type, value, string_value, 0))
    return {sid: aggregate_scores(scores) for sid, scores in by_session.items()}


def get_score(connection: Connection, project_id: str, score_id: str) -> Score | None:
    row = connection.execute(SELECT_SCORE, (project_id, score_id)).fetchone()
    return score_from_row(row) if row else None


def score_page(connection: Connection, project_id: str, query: ScoreQuery) -> Page[Score]:
    """Matching scores, newest first (then by id), one page, and how many match in all
    (both statements in one round trip)."""
    where, parameters = _where(project_id, query)
    with connection.pipeline():
        total = connection.execute(f"SELECT count(*) FROM scores WHERE {where}", parameters)
        rows = connection.execute(
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores WHERE {where}"
            " ORDER BY timestamp_ns DESC, id DESC LIMIT %s OFFSET %s",
            [*parameters, query.limit, query.offset],
        )
    count = total.fetchone()
    return Page(tuple(score_from_row(row) for row in rows), None, count[0] if count else 0)


def _where(project_id: str, query: ScoreQuery) -> tuple[str, list[Any]]:
    clauses = ["project_id = %s"]
    parameters: list[Any] = [project_id]
    for attribute, column in FILTERS:
        values = getattr(query, attribute)
        if values:
            clauses.append(f"{column} = ANY(%s)")
            parameters.append(list(values))
    if query.from_ns is not None:
        clauses.append("timestamp_ns >= %s")
        parameters.append(query.from_ns)
    if query.to_ns is not None:
        clauses.append("timestamp_ns < %s")
        parameters.append(query.to_ns)
    return " AND ".join(clauses), parameters
