"""PostgreSQL's read SQL where it differs from SQLite's in more than dialect: how a trace's
I/O is looked up, whatever the tables' statistics say.

What the lists and reads return is tested on both backends by the contract suites.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow

from skein.store import postgres_queries
from skein.store.postgres import PostgresStore
from tests.store.factories import PROJECT_ID
from tests.store.query_factories import DATASET_SESSIONS, seed, trace_id_of

Connection = psycopg.Connection[TupleRow]
OTHER_PROJECT = "project-b"
BARE_TRACE_BASE = 0x10000
INSERT_BARE_TRACES = (
    "INSERT INTO traces (project_id, trace_id, start_ns, end_ns, tags, metadata, public,"
    " environment, observation_count, error_count, orphan_count, input_tokens, output_tokens,"
    " total_tokens, total_cost)"
    f" SELECT %s, lpad(to_hex({BARE_TRACE_BASE} + n), 32, '0'), n, n, '[]', '{{}}', false,"
    " 'default', 0, 0, 0, 0, 0, 0, 0 FROM generate_series(1, %s) AS n"
)


@pytest.fixture
def connection(postgres_url: str) -> Iterator[Connection]:
    """A database seeded in two projects and without statistics, as one just loaded is: a
    test database may be a recycled one that an earlier test's data got analysed in, and
    autovacuum would analyse this one at any moment, so its tables' statistics are removed
    (the tests connect as superuser) and autovacuum is off for them."""
    with psycopg.connect(postgres_url, autocommit=True) as opened:
        for table in ("traces", "observations"):
            opened.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
            opened.execute(f"DELETE FROM pg_statistic WHERE starelid = '{table}'::regclass")
        with PostgresStore(postgres_url, pool_size=1) as store:
            seed(store)
            seed(store, OTHER_PROJECT)
        yield opened


def add_bare_traces(connection: Connection, count: int) -> list[str]:
    """`count` traces of PROJECT_ID with no observations, written straight into the table;
    their ids."""
    connection.execute(INSERT_BARE_TRACES, (PROJECT_ID, count))
    return [f"{n:032x}" for n in range(BARE_TRACE_BASE + 1, BARE_TRACE_BASE + count + 1)]


def plan(connection: Connection, trace_ids: list[str]) -> str:
    parameters = {"project": PROJECT_ID, "ids": trace_ids}
    rows = connection.execute("EXPLAIN " + postgres_queries.TRACE_IO, parameters).fetchall()
    return "\n".join(row[0] for row in rows)


def test_trace_io_has_each_existing_trace_once(connection: Connection) -> None:
    wanted = [trace_id_of(2), trace_id_of(0), trace_id_of(2), "f" * 32]
    rows = postgres_queries.trace_io(connection, PROJECT_ID, wanted)
    assert sorted(row[0] for row in rows) == [trace_id_of(0), trace_id_of(2)]
    by_id = {row[0]: row[1:] for row in rows}
    assert by_id[trace_id_of(0)] == ("root input 0", "root output 0")


def test_trace_io_reads_only_the_asked_project(connection: Connection) -> None:
    connection.execute("DELETE FROM observations WHERE project_id = %s", (OTHER_PROJECT,))
    rows = postgres_queries.trace_io(connection, OTHER_PROJECT, [trace_id_of(0)])
    assert rows == [(trace_id_of(0), None, None)]
    assert postgres_queries.trace_io(connection, "no-such-project", [trace_id_of(0)]) == []


def test_trace_io_looks_each_trace_up_by_primary_key_without_statistics(
    connection: Connection,
) -> None:
    bare = add_bare_traces(connection, 5000)
    analysed = "SELECT count(*) FROM pg_stats WHERE tablename = 'traces'"
    assert connection.execute(analysed).fetchone() == (0,)
    wanted = bare[::50] + [trace_id_of(i) for i in range(DATASET_SESSIONS)]
    found = plan(connection, wanted)
    assert "traces_pkey" in found
    assert "ANY" not in found
    rows = postgres_queries.trace_io(connection, PROJECT_ID, wanted)
    assert sorted(row[0] for row in rows) == sorted(wanted)
