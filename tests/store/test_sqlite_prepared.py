"""A write's work done ahead (`PreparedBatches`: rows and trace folds) leaves exactly what the
writer would have stored itself; and the refold's statements search by trace id (SQLite)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings

from skein.fold import fold_trace
from skein.records import MappedBatch, Observation
from skein.store import sqlite as sqlite_store
from skein.store.sqlite import PreparedBatches, SQLiteStore
from tests.store.factories import (
    PROJECT_ID,
    TRACE_ID,
    make_batch,
    make_full_observation,
    make_observation,
)
from tests.store.test_rollups import deliveries
from tests.store.test_sqlite_patches import CREATE, TRACE, UPDATE, batch_of

Row = tuple[object, ...]


def write_prepared(store: SQLiteStore, batches: Sequence[MappedBatch]) -> None:
    """A write whose batches were prepared first, as the receiver and the ingestion
    workers do."""
    for batch in batches:
        store.prepare_write(batch)
    store.write(batches)


def stored_rows(path: Path) -> list[list[Row]]:
    """Every stored observation, trace and session row, with the rowids."""
    connection = sqlite3.connect(path)
    try:
        return [
            connection.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall()
            for table in ("observations", "traces")
        ] + [connection.execute("SELECT * FROM sessions ORDER BY session_id").fetchall()]
    finally:
        connection.close()


def both_ways(writes: Sequence[Sequence[MappedBatch]]) -> list[list[list[Row]]]:
    """The rows stored by plain writes and by prepared ones, of the same writes."""
    with tempfile.TemporaryDirectory() as directory:
        plain, prepared = Path(directory) / "plain.db", Path(directory) / "prepared.db"
        with SQLiteStore(str(plain)) as store:
            for batches in writes:
                store.write(batches)
        with SQLiteStore(str(prepared)) as store:
            for batches in writes:
                write_prepared(store, batches)
        return [stored_rows(plain), stored_rows(prepared)]


def span(number: int, trace_id: str = TRACE_ID, **overrides: object) -> Observation:
    return make_observation(trace_id=trace_id, id=f"{number:016x}", **overrides)


def test_a_trace_spread_over_writes_is_folded_from_all_its_rows() -> None:
    shared = {"service.name": "agent", "sdk": {"name": "python", "version": "5"}}
    first = make_full_observation(metadata={"a": 1, "resourceAttributes": shared})
    later = [span(n, parent_id=first.id, metadata={"resourceAttributes": shared}) for n in (2, 3)]

    plain, prepared = both_ways([[make_batch(first)], [make_batch(*later)]])

    assert prepared == plain
    [trace] = prepared[1]
    assert trace[19] == 3  # observation_count: the earlier row counts too


def test_repeats_within_and_across_batches_keep_the_last() -> None:
    one, again = span(1, name="first"), span(1, name="second")
    writes = [[make_batch(one, span(2), again)], [make_batch(one), make_batch(span(3), again)]]

    plain, prepared = both_ways(writes)

    assert prepared == plain
    assert [row[6] for row in prepared[0]] == ["second", "span", "span"]  # names


def test_observations_rebuilt_from_events_in_the_same_write() -> None:
    otlp = span(9, trace_id="t1", parent_id="g1")
    writes = [[batch_of(TRACE, CREATE), make_batch(otlp)], [batch_of(UPDATE), make_batch(otlp)]]

    plain, prepared = both_ways(writes)

    assert prepared == plain
    [trace] = prepared[1]
    assert trace[19] == 2  # observation_count: the generation and the span, not the carrier


@settings(max_examples=40, deadline=None)
@given(deliveries())
def test_prepared_writes_store_what_plain_ones_do(
    delivery: tuple[list[Observation], list[list[MappedBatch]]],
) -> None:
    _, writes = delivery

    plain, prepared = both_ways(writes)

    assert prepared == plain


# -- PreparedBatches and the fold it made --------------------------------------------------


def test_a_batch_is_taken_once_and_only_by_itself() -> None:
    prepared = PreparedBatches()
    batch = make_batch(span(1))
    twin = make_batch(span(1))
    prepared.prepare(batch)

    assert prepared.take(twin) is None
    ready = prepared.take(batch)
    assert ready is not None and ready.batch is batch
    assert prepared.take(batch) is None


def test_the_oldest_prepared_batches_are_evicted_past_capacity() -> None:
    prepared = PreparedBatches(capacity=2)
    batches = [make_batch(span(n)) for n in range(3)]
    for batch in batches:
        prepared.prepare(batch)

    assert prepared.take(batches[0]) is None
    assert [prepared.take(b) is not None for b in batches[1:]] == [True, True]


def test_prepared_folds_are_of_each_traces_last_copies_in_id_order() -> None:
    first, second = span(2, name="first"), span(2, name="second")
    other = span(1, trace_id="b" * 32)
    batch = make_batch(first, span(1), other, second)
    prepared = PreparedBatches()
    prepared.prepare(batch)

    ready = prepared.take(batch)

    assert ready is not None
    observations, folded = ready.folds[TRACE_ID]
    assert [(o.id, o.name) for o in observations] == [(f"{1:016x}", "span"), (second.id, "second")]
    assert folded == fold_trace(observations)
    assert set(ready.folds) == {TRACE_ID, "b" * 32}


def test_a_fold_made_ahead_is_used_only_for_the_very_same_observations() -> None:
    observations = [span(1), span(2, parent_id=f"{1:016x}")]
    marked = replace(fold_trace(observations), name="made ahead")
    equal_copies = [replace(o) for o in observations]

    assert sqlite_store._fold(list(observations), (observations, marked)) is marked
    assert sqlite_store._fold(equal_copies, (observations, marked)) == fold_trace(equal_copies)
    assert sqlite_store._fold(observations[:1], (observations, marked)).name != "made ahead"
    assert sqlite_store._fold(observations, None) == fold_trace(observations)


# -- Query plans of the refold ---------------------------------------------------------------


@pytest.fixture(params=["empty", "analyzed"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database, or one with a few traces whose statistics the planner has."""
    path = str(tmp_path / "plans.db")
    with SQLiteStore(path) as store:
        if request.param == "analyzed":
            spans = [span(n, trace_id=f"{n:032x}", trace={"session_id": "s"}) for n in range(30)]
            store.write([make_batch(*spans)])
    if request.param == "analyzed":
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("ANALYZE")
    return path


def plan(path: str, statement: str) -> list[str]:
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", [PROJECT_ID, "[]"])
        return [row[3] for row in rows]


def test_the_observation_keys_are_read_from_the_primary_key_alone(database: str) -> None:
    steps = plan(database, sqlite_store.SELECT_OBSERVATION_KEYS_TO_FOLD)

    index = "sqlite_autoindex_observations_1 (project_id=? AND trace_id=?)"
    assert steps[0] == f"SEARCH observations USING COVERING INDEX {index}"


def test_the_sessions_of_traces_are_looked_up_by_trace_id(database: str) -> None:
    steps = plan(database, sqlite_store.SELECT_SESSIONS_OF_TRACES)

    assert any(s.endswith("sqlite_autoindex_traces_1 (project_id=? AND trace_id=?)") for s in steps)
    assert not [step for step in steps if "traces_by_session" in step]


def test_the_sessions_of_traces_are_those_of_the_ids_given(tmp_path: Path) -> None:
    path = str(tmp_path / "sessions.db")
    spans = [span(n, trace_id=f"{n:032x}", trace={"session_id": f"s{n % 3}"}) for n in range(6)]
    with SQLiteStore(path) as store:
        store.write([make_batch(*spans)])
    ids = json.dumps([f"{n:032x}" for n in (1, 4, 5)] + ["unknown"])

    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(sqlite_store.SELECT_SESSIONS_OF_TRACES, (PROJECT_ID, ids))
        assert sorted(rows) == [("s1",), ("s1",), ("s2",)]
