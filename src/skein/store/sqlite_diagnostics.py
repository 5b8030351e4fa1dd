"""SQLite queries behind the diagnostics page: how well session ids reach the data.

Every figure is over the traces that started in a time window (`traces_by_start`), and the
observations of those traces (the primary key). "In a session" is Skein's fold (the trace
has a session, so all its observations count); "carrying" counts the spans that sent a
session id themselves, which shows how far the SDK's own propagation got.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from skein.records import TRACE_CARRIER_TYPE
from skein.store.base import Coverage, SessionConflict, SessionSource

# What a trace is grouped by, as an SQL expression over `traces t`.
GROUPS = {
    "": "''",
    "name": "coalesce(t.name, '')",
    "environment": "t.environment",
    "sdk": (
        "(SELECT coalesce(json_extract(o.metadata, '$.scope.name'), '')"
        " FROM observations o WHERE o.project_id = t.project_id AND o.trace_id = t.trace_id"
        " AND o.id = t.root_id)"
    ),
}

WINDOW = "t.project_id = ? AND t.start_ns >= ? AND t.start_ns < ?"
CARRIED = (
    "SELECT o.trace_id, count(*) AS n FROM observations o"
    " WHERE o.project_id = ? AND o.trace_session_id IS NOT NULL AND o.type != ?"
    " AND o.trace_id IN (SELECT t.trace_id FROM traces t WHERE " + WINDOW + ")"
    " GROUP BY o.trace_id"
)
COVERAGE = (
    "SELECT {group} AS key, count(*),"
    " sum(t.session_id IS NOT NULL),"
    " sum(t.observation_count),"
    " sum(CASE WHEN t.session_id IS NOT NULL THEN t.observation_count ELSE 0 END),"
    " sum(coalesce(c.n, 0)),"
    " sum(t.total_tokens),"
    " sum(CASE WHEN t.session_id IS NOT NULL THEN t.total_tokens ELSE 0 END),"
    " sum(t.total_cost),"
    " sum(CASE WHEN t.session_id IS NOT NULL THEN t.total_cost ELSE 0 END)"
    " FROM traces t LEFT JOIN (" + CARRIED + ") c ON c.trace_id = t.trace_id"
    " WHERE " + WINDOW + " GROUP BY key ORDER BY count(*) DESC, key LIMIT ?"
)
SOURCES = (
    "SELECT t.session_source, count(*), count(DISTINCT t.session_id) FROM traces t"
    " WHERE " + WINDOW + " AND t.session_id IS NOT NULL"
    " GROUP BY t.session_source ORDER BY count(*) DESC"
)
CONFLICTS = (
    "SELECT t.trace_id, t.start_ns, t.session_id, json_group_array(DISTINCT o.trace_session_id)"
    " FROM traces t JOIN observations o"
    " ON o.project_id = t.project_id AND o.trace_id = t.trace_id"
    " WHERE " + WINDOW + " AND o.trace_session_id IS NOT NULL"
    " GROUP BY t.trace_id HAVING count(DISTINCT o.trace_session_id) > 1"
    " ORDER BY t.start_ns DESC LIMIT ?"
)
WITHOUT_SESSION = (
    "SELECT {columns} FROM traces t WHERE t.project_id = ? AND t.session_id IS NULL"
    " AND t.start_ns >= ? AND t.start_ns < ? ORDER BY t.start_ns DESC, t.trace_id DESC LIMIT ?"
)
MAX_NS = 2**63 - 1


def coverage(
    connection: sqlite3.Connection,
    project_id: str,
    by: str,
    from_ns: int | None,
    to_ns: int | None,
    limit: int,
) -> list[Coverage]:
    """Coverage of the window's traces, overall (by="") or per trace name, SDK, environment."""
    if by not in GROUPS:
        raise ValueError(f"unknown coverage grouping {by!r}")
    window = _window(project_id, from_ns, to_ns)
    statement = COVERAGE.format(group=GROUPS[by])
    rows = connection.execute(statement, (project_id, TRACE_CARRIER_TYPE, *window, *window, limit))
    return [_coverage(row) for row in rows if row[1]]


def sources(
    connection: sqlite3.Connection, project_id: str, from_ns: int | None, to_ns: int | None
) -> list[SessionSource]:
    rows = connection.execute(SOURCES, _window(project_id, from_ns, to_ns))
    return [SessionSource(source, traces, sessions) for source, traces, sessions in rows]


def conflicts(
    connection: sqlite3.Connection,
    project_id: str,
    from_ns: int | None,
    to_ns: int | None,
    limit: int,
) -> list[SessionConflict]:
    rows = connection.execute(CONFLICTS, (*_window(project_id, from_ns, to_ns), limit))
    return [
        SessionConflict(trace_id, start_ns, chosen, tuple(sorted(json.loads(ids))))
        for trace_id, start_ns, chosen, ids in rows
    ]


def without_session(
    connection: sqlite3.Connection,
    project_id: str,
    columns: Sequence[str],
    from_ns: int | None,
    to_ns: int | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """Rows (`columns` of traces) of the newest traces that have no session."""
    statement = WITHOUT_SESSION.format(columns=", ".join(f"t.{c}" for c in columns))
    return connection.execute(statement, (*_window(project_id, from_ns, to_ns), limit)).fetchall()


def _window(project_id: str, from_ns: int | None, to_ns: int | None) -> tuple[str, int, int]:
    return (
        project_id,
        from_ns if from_ns is not None else 0,
        to_ns if to_ns is not None else MAX_NS,
    )


def _coverage(row: tuple[Any, ...]) -> Coverage:
    key, traces, in_session, observations, observed_in_session, carrying = row[:6]
    tokens, tokens_in_session, cost, cost_in_session = row[6:]
    return Coverage(
        key=key or "",
        traces=traces,
        traces_in_session=in_session or 0,
        observations=observations or 0,
        observations_in_session=observed_in_session or 0,
        observations_carrying=carrying or 0,
        tokens=tokens or 0,
        tokens_in_session=tokens_in_session or 0,
        cost=cost or 0.0,
        cost_in_session=cost_in_session or 0.0,
    )
