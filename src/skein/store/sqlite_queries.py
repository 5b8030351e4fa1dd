"""The SQL of the read API on SQLite: filtered, sorted, keyset-paged lists, and deletes.

Functions take a connection and return rows; `skein.store.sqlite.SQLiteStore` decodes them.
Every list is ordered by (sort value, tie-break key) in one direction, and a cursor continues
with a row-value comparison `(value, key) < (?, ?)`, which SQLite answers from the index of
that sort (migration 0003), so a page reads only the rows it returns.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from skein.errors import BadRequest
from skein.records import TRACE_CARRIER_TYPE
from skein.store.base import (
    MAX_PAGE_SIZE,
    SESSION_SORTS,
    TRACE_SORTS,
    ObservationQuery,
    Page,
    SessionQuery,
    TraceQuery,
)
from skein.store.keyset import Position, decode_cursor, encode_cursor

Row = tuple[Any, ...]

# A set of values bound as one JSON array.
IDS = "(SELECT value FROM json_each(?))"

SESSION_SORT_VALUES = {
    "last_activity": "last_ns",
    "first_activity": "first_ns",
    "cost": "total_cost",
    "tokens": "total_tokens",
    "duration": "(last_ns - first_ns)",
    "trace_count": "trace_count",
    "errors": "error_count",
}
TRACE_SORT_VALUES = {
    "timestamp": "start_ns",
    "latency": "(end_ns - start_ns)",
    "cost": "total_cost",
    "tokens": "total_tokens",
    "errors": "error_count",
    "observations": "observation_count",
    "id": "trace_id",
    "name": "coalesce(name, '')",
    "user_id": "coalesce(user_id, '')",
    "session_id": "coalesce(session_id, '')",
    "release": "coalesce(release, '')",
    "version": "coalesce(version, '')",
}
OBSERVATION_SORT = "start"
# Left out of observation rows when a query asks for no I/O (the decoder reads them as empty).
OBSERVATION_IO_COLUMNS = {
    "input": "NULL",
    "output": "NULL",
    "trace_input": "NULL",
    "trace_output": "NULL",
    "metadata": "'{}'",
}
# The largest Unicode code point: `prefix <= id < prefix + TOP` selects ids starting with it.
TOP = "\U0010ffff"

TRACE_IO = (
    "SELECT t.trace_id,"
    " (SELECT coalesce(o.trace_input, o.input) FROM observations o WHERE o.project_id ="
    " t.project_id AND o.trace_id = t.trace_id AND o.id = t.input_id),"
    " (SELECT coalesce(o.trace_output, o.output) FROM observations o WHERE o.project_id ="
    " t.project_id AND o.trace_id = t.trace_id AND o.id = t.output_id)"
    f" FROM traces t WHERE t.project_id = ? AND t.trace_id IN {IDS}"
)
SELECT_OBSERVATION_IDS = (
    f"SELECT trace_id, id FROM observations WHERE project_id = ? AND trace_id IN {IDS}"
    f" AND type != '{TRACE_CARRIER_TYPE}' ORDER BY trace_id, start_ns, id"
)
SELECT_SESSION_TRACE_IDS = "SELECT trace_id FROM traces WHERE project_id = ? AND session_id = ?"
SELECT_SESSIONS_OF = (
    f"SELECT DISTINCT session_id FROM traces WHERE project_id = ? AND trace_id IN {IDS}"
    " AND session_id IS NOT NULL"
)
DELETE_OBSERVATIONS = f"DELETE FROM observations WHERE project_id = ? AND trace_id IN {IDS}"
DELETE_WARNINGS = f"DELETE FROM ingestion_warnings WHERE project_id = ? AND trace_id IN {IDS}"
DELETE_TRACES = f"DELETE FROM traces WHERE project_id = ? AND trace_id IN {IDS}"
# Scores on the session itself (those on its traces go with the traces).
DELETE_SESSION_SCORES = "DELETE FROM scores WHERE project_id = ? AND session_id = ?"


@dataclass(slots=True)
class Where:
    """A conjunction of SQL conditions and their parameters, in order."""

    clauses: list[str] = field(default_factory=list)
    parameters: list[Any] = field(default_factory=list)

    def add(self, clause: str, *parameters: Any) -> None:
        self.clauses.append(clause)
        self.parameters.extend(parameters)

    def add_if(self, value: Any, clause: str, *parameters: Any) -> None:
        """Add the clause when `value` is given (not None and not empty)."""
        if value is not None and value != ():
            self.add(clause, *(parameters or (value,)))

    def sql(self) -> str:
        return " AND ".join(self.clauses) or "1"


@dataclass(frozen=True, slots=True)
class Listing:
    """One keyset-paged SELECT: which table and columns, filtered how, sorted by what."""

    table: str
    columns: Sequence[str]
    where: Where
    sort: str  # the name cursors carry
    sort_value: str  # SQL expression
    key: str  # tie-break column
    descending: bool
    limit: int
    cursor: str | None
    offset: int
    with_total: bool


# -- Sessions ------------------------------------------------------------------------------


def session_page(
    connection: sqlite3.Connection, project_id: str, query: SessionQuery, columns: Sequence[str]
) -> Page[Row]:
    """A page of session rows (`columns` of the sessions table) matching the query."""
    sort_value = _sort_value(SESSION_SORT_VALUES, SESSION_SORTS, query.order_by)
    where = _session_where(project_id, query)
    listing = Listing(
        "sessions", columns, where, query.order_by, sort_value, "session_id",
        query.descending, query.limit, query.cursor, query.offset, query.with_total,
    )  # fmt: skip
    return run_listing(connection, listing)


def _session_where(project_id: str, query: SessionQuery) -> Where:
    where = Where()
    where.add("project_id = ?", project_id)
    # The session's users are its traces' users: found through the traces' user index.
    where.add_if(
        query.user_id,
        "session_id IN (SELECT session_id FROM traces WHERE project_id = ? AND user_id = ?)",
        project_id,
        query.user_id,
    )
    where.add_if(query.tag, "? IN (SELECT value FROM json_each(tags))")
    where.add_if(
        query.environment,
        f"EXISTS (SELECT 1 FROM json_each(environments) WHERE value IN {IDS})",
        _json_list(query.environment),
    )
    where.add_if(query.from_ns, "last_ns >= ?")
    where.add_if(query.to_ns, "first_ns < ?")
    where.add_if(query.min_traces, "trace_count >= ?")
    _add_error_filter(where, query.has_errors)
    if query.id_prefix:
        where.add("session_id >= ? AND session_id < ?", query.id_prefix, query.id_prefix + TOP)
    where.add_if(query.id_contains or None, "instr(session_id, ?) > 0")
    return where


# -- Traces --------------------------------------------------------------------------------


def trace_page(
    connection: sqlite3.Connection, project_id: str, query: TraceQuery, columns: Sequence[str]
) -> Page[Row]:
    """A page of trace rows (`columns` of the traces table) matching the query."""
    sort_value = _sort_value(TRACE_SORT_VALUES, TRACE_SORTS, query.order_by)
    where = _trace_where(project_id, query)
    listing = Listing(
        "traces", columns, where, query.order_by, sort_value, "trace_id",
        query.descending, query.limit, query.cursor, query.offset, query.with_total,
    )  # fmt: skip
    return run_listing(connection, listing)


def _trace_where(project_id: str, query: TraceQuery) -> Where:
    where = Where()
    where.add("project_id = ?", project_id)
    where.add_if(query.ids, f"trace_id IN {IDS}", _json_list(query.ids))
    where.add_if(query.session_id, "session_id = ?")
    where.add_if(query.user_id, "user_id = ?")
    where.add_if(query.name, "name = ?")
    for tag in query.tags:
        where.add("? IN (SELECT value FROM json_each(tags))", tag)
    where.add_if(query.environment, f"environment IN {IDS}", _json_list(query.environment))
    where.add_if(query.release, "release = ?")
    where.add_if(query.version, "version = ?")
    where.add_if(query.from_ns, "start_ns >= ?")
    where.add_if(query.to_ns, "start_ns < ?")
    _add_error_filter(where, query.has_errors)
    return where


def trace_io(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> list[Row]:
    """(trace_id, input, output) of each stored trace among `trace_ids`."""
    return connection.execute(TRACE_IO, (project_id, _json_list(trace_ids))).fetchall()


# -- Observations --------------------------------------------------------------------------


def observation_ids(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> list[Row]:
    """(trace_id, observation id) of the traces' observations, each trace's in start order."""
    return connection.execute(
        SELECT_OBSERVATION_IDS, (project_id, _json_list(trace_ids))
    ).fetchall()


def observation_page(
    connection: sqlite3.Connection,
    project_id: str,
    query: ObservationQuery,
    columns: Sequence[str],
) -> Page[Row]:
    """A page of observation rows (`columns` of the observations table), by start time."""
    if not query.with_io:
        columns = [OBSERVATION_IO_COLUMNS.get(c, c) for c in columns]
    listing = Listing(
        "observations", columns, _observation_where(project_id, query), OBSERVATION_SORT,
        _observation_sort_value(query), "rowid", query.descending, query.limit, query.cursor,
        query.offset, query.with_total,
    )  # fmt: skip
    return run_listing(connection, listing)


def _observation_sort_value(query: ObservationQuery) -> str:
    """Start time; in a list scoped to traces, `+start_ns` (not indexable) keeps SQLite on the
    primary key of those traces instead of walking the project's start-time index."""
    scoped = query.trace_id or query.trace_ids or query.session_id or query.user_id
    return "+start_ns" if scoped else "start_ns"


def _observation_where(project_id: str, query: ObservationQuery) -> Where:
    where = Where()
    where.add("project_id = ?", project_id)
    where.add("type != ?", TRACE_CARRIER_TYPE)
    where.add_if(query.trace_id, "trace_id = ?")
    where.add_if(query.trace_ids, f"trace_id IN {IDS}", _json_list(query.trace_ids))
    of_traces = "trace_id IN (SELECT trace_id FROM traces WHERE project_id = ? AND {} = ?)"
    where.add_if(query.session_id, of_traces.format("session_id"), project_id, query.session_id)
    where.add_if(query.user_id, of_traces.format("user_id"), project_id, query.user_id)
    where.add_if(query.type, "type = ?")
    where.add_if(query.name, "name = ?")
    where.add_if(query.level, "level = ?")
    where.add_if(query.parent_id, "parent_id = ?")
    if query.is_root is not None:
        where.add("is_root = ?", int(query.is_root))
    where.add_if(query.environment, f"environment IN {IDS}", _json_list(query.environment))
    where.add_if(query.version, "version = ?")
    where.add_if(query.from_ns, "start_ns >= ?")
    where.add_if(query.to_ns, "start_ns < ?")
    return where


def select_observation(columns: Sequence[str]) -> str:
    """The statement of one observation by id (of any trace; the first stored wins)."""
    return (
        f"SELECT {', '.join(columns)} FROM observations WHERE project_id = ? AND id = ?"
        f" AND type != '{TRACE_CARRIER_TYPE}' ORDER BY rowid LIMIT 1"
    )


# -- Keyset paging -------------------------------------------------------------------------


def run_listing(connection: sqlite3.Connection, listing: Listing) -> Page[Row]:
    """Run a listing: its page of rows, the cursor after them, and the total if asked."""
    _check_page(listing)
    total = _count(connection, listing) if listing.with_total else None
    statement, parameters = listing_statement(listing)
    rows = connection.execute(statement, parameters).fetchall()
    if len(rows) <= listing.limit:
        return Page(tuple(row[:-2] for row in rows), None, total)
    last = rows[listing.limit - 1]
    position = Position(listing.sort, listing.descending, last[-2], last[-1])
    return Page(tuple(row[:-2] for row in rows[: listing.limit]), encode_cursor(position), total)


def listing_statement(listing: Listing) -> tuple[str, list[Any]]:
    """The SELECT of one page (one row more than the page, to know whether more follow).

    Each row ends with its sort value and key, which the next cursor is made of."""
    where = Where(list(listing.where.clauses), list(listing.where.parameters))
    if listing.cursor is not None:
        after = _position(listing)
        comparison = "<" if listing.descending else ">"
        where.add(
            f"({listing.sort_value}, {listing.key}) {comparison} (?, ?)", after.value, after.key
        )
    direction = "DESC" if listing.descending else "ASC"
    statement = (
        f"SELECT {', '.join(listing.columns)}, {listing.sort_value}, {listing.key}"
        f" FROM {listing.table} WHERE {where.sql()}"
        f" ORDER BY {listing.sort_value} {direction}, {listing.key} {direction}"
        " LIMIT ? OFFSET ?"
    )
    return statement, [*where.parameters, listing.limit + 1, listing.offset]


def _count(connection: sqlite3.Connection, listing: Listing) -> int:
    statement = f"SELECT count(*) FROM {listing.table} WHERE {listing.where.sql()}"
    count: int = connection.execute(statement, listing.where.parameters).fetchone()[0]
    return count


def _position(listing: Listing) -> Position:
    assert listing.cursor is not None
    position = decode_cursor(listing.cursor, listing.sort, listing.descending)
    return position


def _check_page(listing: Listing) -> None:
    if not 1 <= listing.limit <= MAX_PAGE_SIZE:
        raise BadRequest(f"parameter 'limit' must be between 1 and {MAX_PAGE_SIZE}")
    if listing.offset < 0:
        raise BadRequest("parameter 'page' must be 1 or more")


def _sort_value(values: dict[str, str], names: Sequence[str], order_by: str) -> str:
    if order_by not in values:
        raise BadRequest(f"parameter 'orderBy' must be one of {', '.join(names)}")
    return values[order_by]


def _add_error_filter(where: Where, has_errors: bool | None) -> None:
    if has_errors is not None:
        where.add("error_count > 0" if has_errors else "error_count = 0")


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


# -- Deletes -------------------------------------------------------------------------------


def session_trace_ids(
    connection: sqlite3.Connection, project_id: str, session_id: str
) -> list[str]:
    rows = connection.execute(SELECT_SESSION_TRACE_IDS, (project_id, session_id))
    return [row[0] for row in rows]


def delete_session_scores(connection: sqlite3.Connection, project_id: str, session_id: str) -> int:
    deleted: int = connection.execute(DELETE_SESSION_SCORES, (project_id, session_id)).rowcount
    return deleted


def delete_traces(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> tuple[int, set[str]]:
    """Delete traces with their observations and warnings, inside the caller's transaction.

    Returns how many traces were deleted and the sessions they belonged to (to refold)."""
    ids = _json_list(trace_ids)
    sessions = {row[0] for row in connection.execute(SELECT_SESSIONS_OF, (project_id, ids))}
    connection.execute(DELETE_OBSERVATIONS, (project_id, ids))
    connection.execute(DELETE_WARNINGS, (project_id, ids))
    deleted = connection.execute(DELETE_TRACES, (project_id, ids)).rowcount
    return deleted, sessions
