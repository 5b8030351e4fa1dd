"""The PostgreSQL store's connection use: how many round trips each read costs, and that a
pipelined snapshot read leaves its pooled connection clean, even when it fails.

What the store returns is the contract suite's business (test_contract.py and the suites
parametrised over backends); these tests count libpq's protocol messages on the pool's one
connection (a store opened with `pool_size=1`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from skein.records import MappedBatch, Score
from skein.scores import ScoreQuery
from skein.store.base import ApiKey, Page, SessionQuery, TraceQuery
from skein.store.postgres import PostgresStore
from tests.store.factories import PROJECT_ID, START_NS
from tests.store.libpq_trace import LibpqTrace
from tests.store.query_factories import seed, trace_id_of


@pytest.fixture
def seeded(postgres_url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_url, pool_size=1)
    store.create_project("a", PROJECT_ID)
    store.add_key(ApiKey("pk-a", PROJECT_ID, "hash", START_NS, None, ""))
    seed(store)
    score = Score("sc1", "quality", "NUMERIC", 0.5, None, START_NS, trace_id=trace_id_of(0))
    store.write([MappedBatch(PROJECT_ID, (), scores=(score,))])
    yield store
    store.close()


def traced(store: PostgresStore, path: Path) -> LibpqTrace:
    """A trace of the pool's only connection (the store must have `pool_size=1`)."""
    with store._pool.connection() as connection:
        return LibpqTrace(connection.pgconn, path)


def in_transaction_isolation(store: PostgresStore) -> str:
    """The isolation level a write transaction of the store runs at."""
    row = store._transaction(lambda c: c.execute("SHOW transaction_isolation").fetchone())
    assert row is not None
    return str(row[0])


def test_a_read_of_one_statement_is_one_round_trip(seeded: PostgresStore, tmp_path: Path) -> None:
    with traced(seeded, tmp_path / "trace") as trace:
        key = seeded.find_key("pk-a")
        session = seeded.get_session(PROJECT_ID, "s1")
    assert key is not None and session is not None
    assert trace.round_trips() == 2
    assert not trace.sent("BEGIN") and not trace.sent("COMMIT")


LISTS: dict[str, Callable[[PostgresStore], Page[Any]]] = {
    "sessions": lambda s: s.query_sessions(PROJECT_ID, SessionQuery(limit=2)),
    "traces": lambda s: s.query_traces(PROJECT_ID, TraceQuery(session_id="s2", limit=2)),
    "scores": lambda s: s.query_scores(PROJECT_ID, ScoreQuery(limit=2)),
}


@pytest.mark.parametrize("list_name", sorted(LISTS))
def test_a_list_and_its_total_are_one_round_trip(
    seeded: PostgresStore, tmp_path: Path, list_name: str
) -> None:
    with traced(seeded, tmp_path / "trace") as trace:
        page = LISTS[list_name](seeded)
    assert page.total is not None and page.total >= len(page.items) > 0
    assert trace.sent("count(*)")
    assert trace.round_trips() == 1


def test_a_list_without_its_total_sends_no_count(seeded: PostgresStore, tmp_path: Path) -> None:
    with traced(seeded, tmp_path / "trace") as trace:
        page = seeded.query_sessions(PROJECT_ID, SessionQuery(limit=2, with_total=False))
    assert page.total is None and len(page.items) == 2
    assert not trace.sent("count(*)")
    assert trace.round_trips() == 1


def test_a_trace_and_its_observations_are_read_in_one_round_trip(
    seeded: PostgresStore, tmp_path: Path
) -> None:
    with traced(seeded, tmp_path / "trace") as trace:
        rows = seeded.get_trace_rows(PROJECT_ID, trace_id_of(0))
        missing = seeded.get_trace_rows(PROJECT_ID, "f" * 32)
    assert rows is not None and len(rows.observations) == 2 and rows.io.input is not None
    assert missing is None
    assert trace.sent("REPEATABLE READ READ ONLY")
    assert trace.round_trips() == 2


def test_a_snapshot_read_leaves_writes_at_read_committed(seeded: PostgresStore) -> None:
    assert seeded.get_trace_rows(PROJECT_ID, trace_id_of(0)) is not None
    assert in_transaction_isolation(seeded) == "read committed"


def test_a_snapshot_read_that_raises_leaves_the_connection_usable(
    seeded: PostgresStore,
) -> None:
    with pytest.raises(RuntimeError), seeded._reading(snapshot=True) as connection:
        connection.execute("SELECT 1")
        raise RuntimeError("the caller failed")
    assert in_transaction_isolation(seeded) == "read committed"
    assert seeded.get_session(PROJECT_ID, "s1") is not None


def test_a_snapshot_read_whose_statement_fails_leaves_the_connection_usable(
    seeded: PostgresStore,
) -> None:
    with pytest.raises(psycopg.errors.UndefinedColumn), seeded._reading(snapshot=True) as c:
        c.execute("SELECT no_such_column FROM traces")
    assert in_transaction_isolation(seeded) == "read committed"
    assert seeded.query_sessions(PROJECT_ID, SessionQuery()).total == 9
