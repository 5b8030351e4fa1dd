"""PostgreSQL: per-project retention (the statements of `sqlite_retention`)."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

Connection = psycopg.Connection[TupleRow]

SET_RETENTION = "UPDATE projects SET retention_days = %s WHERE id = %s"
SELECT_EXPIRED_TRACES = (
    "SELECT trace_id FROM traces WHERE project_id = %(project)s AND start_ns < %(before)s"
    " AND end_ns < %(before)s ORDER BY start_ns LIMIT %(limit)s"
)


def set_retention_days(connection: Connection, project_id: str, days: int | None) -> bool:
    return connection.execute(SET_RETENTION, (days, project_id)).rowcount > 0


def expired_trace_ids(
    connection: Connection, project_id: str, before_ns: int, limit: int
) -> list[str]:
    parameters = {"project": project_id, "before": before_ns, "limit": limit}
    return [row[0] for row in connection.execute(SELECT_EXPIRED_TRACES, parameters)]
