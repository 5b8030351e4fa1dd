"""PostgreSQL: the session-id diagnostics (the queries of `sqlite_diagnostics`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from skein.records import TRACE_CARRIER_TYPE
from skein.store.base import Coverage, SessionConflict, SessionSource
from skein.store.sqlite_diagnostics import _coverage, _window

Connection = psycopg.Connection[TupleRow]

GROUPS = {
    "": "''",
    "name": "coalesce(t.name, '')",
    "environment": "t.environment",
    "sdk": (
        "(SELECT coalesce(o.metadata::jsonb #>> '{scope,name}', '')"
        " FROM observations o WHERE o.project_id = t.project_id AND o.trace_id = t.trace_id"
        " AND o.id = t.root_id)"
    ),
}
WINDOW = "t.project_id = %s AND t.start_ns >= %s AND t.start_ns < %s"
CARRIED = (
    "SELECT o.trace_id, count(*) AS n FROM observations o"
    " WHERE o.project_id = %s AND o.trace_session_id IS NOT NULL AND o.type != %s"
    " AND o.trace_id IN (SELECT t.trace_id FROM traces t WHERE " + WINDOW + ")"
    " GROUP BY o.trace_id"
)
IN_SESSION = "CASE WHEN t.session_id IS NOT NULL THEN {} ELSE 0 END"
COVERAGE = (
    "SELECT {group} AS key, count(*),"
    " count(t.session_id),"
    " sum(t.observation_count)::bigint,"
    f" sum({IN_SESSION.format('t.observation_count')})::bigint,"
    " sum(coalesce(c.n, 0))::bigint,"
    " sum(t.total_tokens)::bigint,"
    f" sum({IN_SESSION.format('t.total_tokens')})::bigint,"
    " sum(t.total_cost),"
    f" sum({IN_SESSION.format('t.total_cost')})"
    " FROM traces t LEFT JOIN (" + CARRIED + ") c ON c.trace_id = t.trace_id"
    " WHERE " + WINDOW + " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT %s"
)
SOURCES = (
    "SELECT t.session_source, count(*), count(DISTINCT t.session_id) FROM traces t"
    " WHERE " + WINDOW + " AND t.session_id IS NOT NULL"
    " GROUP BY t.session_source ORDER BY count(*) DESC"
)
CONFLICTS = (
    "SELECT t.trace_id, t.start_ns, t.session_id, array_agg(DISTINCT o.trace_session_id)"
    " FROM traces t JOIN observations o"
    " ON o.project_id = t.project_id AND o.trace_id = t.trace_id"
    " WHERE " + WINDOW + " AND o.trace_session_id IS NOT NULL"
    " GROUP BY t.trace_id, t.start_ns, t.session_id"
    " HAVING count(DISTINCT o.trace_session_id) > 1"
    " ORDER BY t.start_ns DESC LIMIT %s"
)
WITHOUT_SESSION = (
    "SELECT {columns} FROM traces t WHERE t.project_id = %s AND t.session_id IS NULL"
    " AND t.start_ns >= %s AND t.start_ns < %s ORDER BY t.start_ns DESC, t.trace_id DESC"
    " LIMIT %s"
)


def coverage(
    connection: Connection,
    project_id: str,
    by: str,
    from_ns: int | None,
    to_ns: int | None,
    limit: int,
) -> list[Coverage]:
    if by not in GROUPS:
        raise ValueError(f"unknown coverage grouping {by!r}")
    window = _window(project_id, from_ns, to_ns)
    statement = COVERAGE.replace("{group}", GROUPS[by])
    rows = connection.execute(statement, (project_id, TRACE_CARRIER_TYPE, *window, *window, limit))
    return [_coverage(row) for row in rows if row[1]]


def sources(
    connection: Connection, project_id: str, from_ns: int | None, to_ns: int | None
) -> list[SessionSource]:
    rows = connection.execute(SOURCES, _window(project_id, from_ns, to_ns))
    return [SessionSource(source, traces, sessions) for source, traces, sessions in rows]


def conflicts(
    connection: Connection,
    project_id: str,
    from_ns: int | None,
    to_ns: int | None,
    limit: int,
) -> list[SessionConflict]:
    rows = connection.execute(CONFLICTS, (*_window(project_id, from_ns, to_ns), limit))
    return [
        SessionConflict(trace_id, start_ns, chosen, tuple(sorted(ids)))
        for trace_id, start_ns, chosen, ids in rows
    ]


def without_session(
    connection: Connection,
    project_id: str,
    columns: Sequence[str],
    from_ns: int | None,
    to_ns: int | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    statement = WITHOUT_SESSION.format(columns=", ".join(f"t.{c}" for c in columns))
    return connection.execute(statement, (*_window(project_id, from_ns, to_ns), limit)).fetchall()
