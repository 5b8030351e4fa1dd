"""The SQL of the read API on PostgreSQL: filtered, sorted, keyset-paged lists, and deletes.

The same lists as `skein.store.sqlite_queries` (its sort names, `Listing` and cursors), in
PostgreSQL's dialect: id sets bind as arrays (`= ANY(%s)`), JSON lists are matched as
`jsonb`, and an observation's insertion order is its `seq` column. A page and its total
count are sent together (pipeline mode), so a listing costs one round trip to the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from skein.records import TRACE_CARRIER_TYPE
from skein.store.base import (
    SESSION_SORTS,
    TRACE_SORTS,
    ObservationQuery,
    Page,
    SessionQuery,
    TraceQuery,
)
from skein.store.keyset import Position, encode_cursor
from skein.store.sqlite_queries import (
    OBSERVATION_IO_COLUMNS,
    OBSERVATION_SORT,
    SESSION_SORT_VALUES,
    TOP,
    TRACE_SORT_VALUES,
    Listing,
    Where,
    _check_page,
    _position,
    _sort_value,
)

Connection = psycopg.Connection[TupleRow]
Row = tuple[Any, ...]

# Each wanted trace is found by its primary key: a LATERAL subquery with LIMIT 1 is never
# flattened into a join. `trace_id = ANY(%s)` left the plan to the statistics, and a table
# not yet analysed (a database just loaded) was read whole through another index, filtered
# by the array: ~10 ms of server time at 3,500 traces, growing with them.
TRACE_IO = (
    "SELECT t.trace_id,"
    " (SELECT coalesce(o.trace_input, o.input) FROM observations o WHERE o.project_id ="
    " t.project_id AND o.trace_id = t.trace_id AND o.id = t.input_id),"
    " (SELECT coalesce(o.trace_output, o.output) FROM observations o WHERE o.project_id ="
    " t.project_id AND o.trace_id = t.trace_id AND o.id = t.output_id)"
    " FROM (SELECT DISTINCT unnest(%(ids)s::text[]) AS trace_id) AS wanted"
    " CROSS JOIN LATERAL (SELECT project_id, trace_id, input_id, output_id FROM traces"
    " WHERE project_id = %(project)s AND trace_id = wanted.trace_id LIMIT 1) AS t"
)
SELECT_OBSERVATION_IDS = (
    "SELECT trace_id, id FROM observations WHERE project_id = %s AND trace_id = ANY(%s)"
    f" AND type != '{TRACE_CARRIER_TYPE}' ORDER BY trace_id, start_ns, id"
)
SELECT_SESSION_TRACE_IDS = "SELECT trace_id FROM traces WHERE project_id = %s AND session_id = %s"
SELECT_SESSIONS_OF = (
    "SELECT DISTINCT session_id FROM traces WHERE project_id = %s AND trace_id = ANY(%s)"
    " AND session_id IS NOT NULL"
)
DELETE_OBSERVATIONS = "DELETE FROM observations WHERE project_id = %s AND trace_id = ANY(%s)"
DELETE_WARNINGS = "DELETE FROM ingestion_warnings WHERE project_id = %s AND trace_id = ANY(%s)"
DELETE_TRACES = "DELETE FROM traces WHERE project_id = %s AND trace_id = ANY(%s)"
DELETE_SESSION_SCORES = "DELETE FROM scores WHERE project_id = %s AND session_id = %s"
# The observations' insertion order (SQLite's rowid).
OBSERVATION_KEY = "seq"


# -- Sessions and traces -------------------------------------------------------------------


def session_page(
    connection: Connection, project_id: str, query: SessionQuery, columns: Sequence[str]
) -> Page[Row]:
    sort_value = _sort_value(SESSION_SORT_VALUES, SESSION_SORTS, query.order_by)
    listing = Listing(
        "sessions", columns, _session_where(project_id, query), query.order_by, sort_value,
        "session_id", query.descending, query.limit, query.cursor, query.offset,
        query.with_total,
    )  # fmt: skip
    return run_listing(connection, listing)


def _session_where(project_id: str, query: SessionQuery) -> Where:
    where = Where()
    where.add("project_id = %s", project_id)
    where.add_if(
        query.user_id,
        "session_id IN (SELECT session_id FROM traces WHERE project_id = %s AND user_id = %s)",
        project_id,
        query.user_id,
    )
    where.add_if(query.tag, "tags::jsonb ? %s")
    where.add_if(query.environment, "environments::jsonb ?| %s", list(query.environment))
    where.add_if(query.from_ns, "last_ns >= %s")
    where.add_if(query.to_ns, "first_ns < %s")
    where.add_if(query.min_traces, "trace_count >= %s")
    _add_error_filter(where, query.has_errors)
    if query.id_prefix:
        where.add("session_id >= %s AND session_id < %s", query.id_prefix, query.id_prefix + TOP)
    where.add_if(query.id_contains or None, "strpos(session_id, %s) > 0")
    return where


def trace_page(
    connection: Connection, project_id: str, query: TraceQuery, columns: Sequence[str]
) -> Page[Row]:
    sort_value = _sort_value(TRACE_SORT_VALUES, TRACE_SORTS, query.order_by)
    listing = Listing(
        "traces", columns, _trace_where(project_id, query), query.order_by, sort_value,
        "trace_id", query.descending, query.limit, query.cursor, query.offset, query.with_total,
    )  # fmt: skip
    return run_listing(connection, listing)


def _trace_where(project_id: str, query: TraceQuery) -> Where:
    where = Where()
    where.add("project_id = %s", project_id)
    where.add_if(query.ids, "trace_id = ANY(%s)", list(query.ids))
    where.add_if(query.session_id, "session_id = %s")
    where.add_if(query.user_id, "user_id = %s")
    where.add_if(query.name, "name = %s")
    for tag in query.tags:
        where.add("tags::jsonb ? %s", tag)
    where.add_if(query.environment, "environment = ANY(%s)", list(query.environment))
    where.add_if(query.release, "release = %s")
    where.add_if(query.version, "version = %s")
    where.add_if(query.from_ns, "start_ns >= %s")
    where.add_if(query.to_ns, "start_ns < %s")
    _add_error_filter(where, query.has_errors)
    return where


def trace_io(connection: Connection, project_id: str, trace_ids: Sequence[str]) -> list[Row]:
    """(trace_id, input, output) of each of the traces that exists."""
    return send_trace_io(connection, project_id, trace_ids).fetchall()


def send_trace_io(
    connection: Connection, project_id: str, trace_ids: Sequence[str]
) -> psycopg.Cursor[TupleRow]:
    """`trace_io`'s statement, executed; its rows fetched by the caller (in pipeline mode,
    after the pipeline is synced)."""
    return connection.execute(TRACE_IO, {"project": project_id, "ids": list(trace_ids)})


# -- Observations --------------------------------------------------------------------------


def observation_ids(connection: Connection, project_id: str, trace_ids: Sequence[str]) -> list[Row]:
    return connection.execute(SELECT_OBSERVATION_IDS, (project_id, list(trace_ids))).fetchall()


def observation_page(
    connection: Connection, project_id: str, query: ObservationQuery, columns: Sequence[str]
) -> Page[Row]:
    if not query.with_io:
        columns = [OBSERVATION_IO_COLUMNS.get(c, c) for c in columns]
    listing = Listing(
        "observations", columns, _observation_where(project_id, query), OBSERVATION_SORT,
        "start_ns", OBSERVATION_KEY, query.descending, query.limit, query.cursor,
        query.offset, query.with_total,
    )  # fmt: skip
    return run_listing(connection, listing)


def _observation_where(project_id: str, query: ObservationQuery) -> Where:
    where = Where()
    where.add("project_id = %s", project_id)
    where.add("type != %s", TRACE_CARRIER_TYPE)
    where.add_if(query.trace_id, "trace_id = %s")
    where.add_if(query.trace_ids, "trace_id = ANY(%s)", list(query.trace_ids))
    of_traces = "trace_id IN (SELECT trace_id FROM traces WHERE project_id = %s AND {} = %s)"
    where.add_if(query.session_id, of_traces.format("session_id"), project_id, query.session_id)
    where.add_if(query.user_id, of_traces.format("user_id"), project_id, query.user_id)
    where.add_if(query.type, "type = %s")
    where.add_if(query.name, "name = %s")
    where.add_if(query.level, "level = %s")
    where.add_if(query.parent_id, "parent_id = %s")
    if query.is_root is not None:
        where.add("is_root = %s", query.is_root)
    where.add_if(query.environment, "environment = ANY(%s)", list(query.environment))
    where.add_if(query.version, "version = %s")
    where.add_if(query.from_ns, "start_ns >= %s")
    where.add_if(query.to_ns, "start_ns < %s")
    return where


def select_observation(columns: Sequence[str]) -> str:
    """One observation by id (of any trace; the first stored wins)."""
    return (
        f"SELECT {', '.join(columns)} FROM observations WHERE project_id = %s AND id = %s"
        f" AND type != '{TRACE_CARRIER_TYPE}' ORDER BY seq LIMIT 1"
    )


# -- Keyset paging -------------------------------------------------------------------------


def run_listing(connection: Connection, listing: Listing) -> Page[Row]:
    """One page, and the count of all rows when asked: both statements in one round trip."""
    _check_page(listing)
    rows, total = _rows_and_total(connection, listing)
    if len(rows) <= listing.limit:
        return Page(tuple(row[:-2] for row in rows), None, total)
    last = rows[listing.limit - 1]
    position = Position(listing.sort, listing.descending, last[-2], last[-1])
    return Page(tuple(row[:-2] for row in rows[: listing.limit]), encode_cursor(position), total)


def listing_statement(listing: Listing) -> tuple[str, list[Any]]:
    # Every listing has a project condition, so the conjunction is never empty.
    where = Where(list(listing.where.clauses), list(listing.where.parameters))
    if listing.cursor is not None:
        after = _position(listing)
        comparison = "<" if listing.descending else ">"
        where.add(
            f"({listing.sort_value}, {listing.key}) {comparison} (%s, %s)",
            after.value,
            after.key,
        )
    direction = "DESC" if listing.descending else "ASC"
    statement = (
        f"SELECT {', '.join(listing.columns)}, {listing.sort_value}, {listing.key}"
        f" FROM {listing.table} WHERE {where.sql()}"
        f" ORDER BY {listing.sort_value} {direction}, {listing.key} {direction}"
        " LIMIT %s OFFSET %s"
    )
    return statement, [*where.parameters, listing.limit + 1, listing.offset]


def _rows_and_total(connection: Connection, listing: Listing) -> tuple[list[Row], int | None]:
    statement, parameters = listing_statement(listing)
    if not listing.with_total:
        return connection.execute(statement, parameters).fetchall(), None
    where = listing.where
    count = f"SELECT count(*) FROM {listing.table} WHERE {where.sql()}"
    with connection.pipeline():
        counted = connection.execute(count, where.parameters)
        listed = connection.execute(statement, parameters)
    row = counted.fetchone()
    return listed.fetchall(), int(row[0]) if row else 0


def _add_error_filter(where: Where, has_errors: bool | None) -> None:
    if has_errors is not None:
        where.add("error_count > 0" if has_errors else "error_count = 0")


# -- Deletes -------------------------------------------------------------------------------


def session_trace_ids(connection: Connection, project_id: str, session_id: str) -> list[str]:
    rows = connection.execute(SELECT_SESSION_TRACE_IDS, (project_id, session_id))
    return [row[0] for row in rows]


def delete_session_scores(connection: Connection, project_id: str, session_id: str) -> int:
    return connection.execute(DELETE_SESSION_SCORES, (project_id, session_id)).rowcount


def delete_traces(
    connection: Connection, project_id: str, trace_ids: Sequence[str]
) -> tuple[int, set[str]]:
    """Delete traces with their observations and warnings; (how many, their sessions)."""
    ids = list(trace_ids)
    sessions = {row[0] for row in connection.execute(SELECT_SESSIONS_OF, (project_id, ids))}
    connection.execute(DELETE_OBSERVATIONS, (project_id, ids))
    connection.execute(DELETE_WARNINGS, (project_id, ids))
    deleted = connection.execute(DELETE_TRACES, (project_id, ids)).rowcount
    return deleted, sessions
