"""SQL of per-project retention: the retention period, and the traces it has expired."""

from __future__ import annotations

import sqlite3

SET_RETENTION = "UPDATE projects SET retention_days = ? WHERE id = ?"
# Every trace ends at or after it starts: the (project_id, start_ns) index narrows the search.
SELECT_EXPIRED_TRACES = (
    "SELECT trace_id FROM traces WHERE project_id = :project AND start_ns < :before"
    " AND end_ns < :before ORDER BY start_ns LIMIT :limit"
)


def set_retention_days(connection: sqlite3.Connection, project_id: str, days: int | None) -> bool:
    """Set (or with None clear) a project's retention; False if there is no such project."""
    return connection.execute(SET_RETENTION, (days, project_id)).rowcount > 0


def expired_trace_ids(
    connection: sqlite3.Connection, project_id: str, before_ns: int, limit: int
) -> list[str]:
    """Up to `limit` of the project's traces whose last activity is before `before_ns`,
    oldest first."""
    parameters = {"project": project_id, "before": before_ns, "limit": limit}
    rows = connection.execute(SELECT_EXPIRED_TRACES, parameters)
    return [row[0] for row in rows]
