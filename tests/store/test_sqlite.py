"""What only the SQLite store promises: its connection settings, migrations and threading."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from skein.records import Observation
from skein.store import sqlite as sqlite_store
from skein.store.migrations import Migration, MigrationError, load_migrations, packaged_migrations
from skein.store.sqlite import SQLiteStore
from tests.store.factories import PROJECT_ID, make_batch, make_observation

PACKAGED = [(m.version, m.name) for m in packaged_migrations("sqlite")]
NEXT_VERSION = PACKAGED[-1][0] + 1
EXTRA_MIGRATION = Migration(
    NEXT_VERSION, "extra", "CREATE TABLE extra (x INTEGER);\n-- trailing comment"
)


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "data" / "skein.db")


@pytest.fixture
def store(path: str) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(path)
    yield opened
    opened.close()


def query(path: str, statement: str) -> list[tuple[object, ...]]:
    """Read the database file directly, from a connection of the test's own."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(statement).fetchall()
    finally:
        connection.close()


def migration_rows(path: str) -> list[tuple[object, ...]]:
    return query(path, "SELECT version, name, applied_ns FROM schema_migrations ORDER BY version")


# -- Connections -----------------------------------------------------------------------------


def test_writer_runs_in_wal_mode_with_normal_sync(store: SQLiteStore) -> None:
    settings = store.connection_settings()

    assert settings["journal_mode"] == "wal"
    assert settings["synchronous"] == 1  # NORMAL
    assert settings["temp_store"] == 2  # MEMORY
    assert settings["busy_timeout"] >= 1000
    assert settings["cache_size"] <= -16_384  # at least 16 MiB
    assert query(store.path, "PRAGMA journal_mode") == [("wal",)]


def test_store_creates_missing_directories(path: str) -> None:
    SQLiteStore(path).close()

    assert Path(path).is_file()


def test_in_memory_database_is_refused() -> None:
    with pytest.raises(ValueError):
        SQLiteStore(":memory:")


def test_closing_twice_is_harmless_and_reads_after_close_fail(path: str) -> None:
    store = SQLiteStore(path)
    store.close()
    store.close()

    with pytest.raises(sqlite3.ProgrammingError):
        store.list_sessions(PROJECT_ID)


HOT_STATEMENTS = (
    sqlite_store.SELECT_OBSERVATIONS_TO_FOLD,
    sqlite_store.SELECT_SESSIONS_OF_TRACES,
    sqlite_store.SELECT_TRACES_TO_FOLD,
    sqlite_store.DELETE_SESSIONS,
    sqlite_store.INSERT_WARNING,
    sqlite_store.SELECT_OBSERVATIONS,
    sqlite_store.SELECT_SESSION_TRACES,
    sqlite_store.SELECT_PROJECT_TRACES,
    sqlite_store.SELECT_SESSIONS,
    sqlite_store.SELECT_TRACE_WARNINGS,
)
TABLES = ("observations", "traces", "sessions", "ingestion_warnings")


def query_plan(path: str, statement: str) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        parameters = [None] * (6 if "?6" in statement else statement.count("?"))
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [row[3] for row in rows]
    finally:
        connection.close()


@pytest.mark.parametrize("statement", HOT_STATEMENTS)
def test_hot_statements_search_an_index(store: SQLiteStore, statement: str) -> None:
    plan = query_plan(store.path, statement)

    assert not [step for step in plan if step.split()[:2] in (["SCAN", t] for t in TABLES)]
    assert any(step.startswith("SEARCH") for step in plan)


# -- Writes ----------------------------------------------------------------------------------


def test_a_failing_batch_rolls_back_the_whole_write(store: SQLiteStore) -> None:
    good = make_observation()
    broken = make_observation(id="2" * 16, name=None)  # violates NOT NULL

    with pytest.raises(sqlite3.IntegrityError):
        store.write([make_batch(good), make_batch(broken)])

    assert store.list_observations(PROJECT_ID, good.trace_id) == []
    assert store.get_trace(PROJECT_ID, good.trace_id) is None
    store.write([make_batch(good)])
    assert store.list_observations(PROJECT_ID, good.trace_id) == [good]


KILLED_WRITER = """
import os, signal, sys
from skein.store.sqlite import SQLiteStore
from tests.store.factories import make_batch, make_observation
store = SQLiteStore(sys.argv[1])
store.write([make_batch(make_observation())])
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_a_returned_write_survives_killing_the_process(path: str) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, path], cwd=Path(__file__).parents[2], check=False
    )

    assert killed.returncode == -signal.SIGKILL
    with SQLiteStore(path) as reopened:
        assert reopened.list_observations(PROJECT_ID, make_observation().trace_id) == [
            make_observation()
        ]


def trace_with_two_spans(number: int) -> tuple[Observation, Observation]:
    trace_id = f"{number:032x}"
    attributes = {"session_id": "shared", "session_source": "session.id"}
    root = make_observation(trace_id=trace_id, id=f"{number:016x}", trace=attributes)
    leaf = make_observation(
        trace_id=trace_id, id=f"f{number:015x}", parent_id=root.id, total_tokens=number
    )
    return root, leaf


def read_session(store: SQLiteStore) -> int:
    """Read the shared session; each answer must be consistent in itself. Its trace count."""
    session = store.get_session(PROJECT_ID, "shared")
    if session is not None:
        assert session.observation_count == 2 * session.trace_count
    traces = store.list_traces(PROJECT_ID, session_id="shared", limit=1000)
    assert all(t.observation_count == 2 for t in traces)
    return len(traces)


def test_reads_run_from_threads_while_writing(store: SQLiteStore) -> None:
    done = threading.Event()
    reading = threading.Barrier(5)  # four readers and the writing test
    counts: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def read_until_done(seen: list[int]) -> None:
        try:
            seen.append(read_session(store))
            reading.wait()
            while not done.is_set():
                seen.append(read_session(store))
        except BaseException as error:  # reported by the test's thread
            errors.append(error)
            reading.abort()

    readers = [threading.Thread(target=read_until_done, args=(seen,)) for seen in counts]
    for reader in readers:
        reader.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a reader failed: see `errors`
        reading.wait(timeout=10)
    for number in range(1, 41):
        store.write([make_batch(*trace_with_two_spans(number))])
    done.set()
    for reader in readers:
        reader.join()

    assert errors == []
    assert all(seen == sorted(seen) for seen in counts)  # each reader sees the session grow
    assert sum(len(seen) for seen in counts) > 8
    session = store.get_session(PROJECT_ID, "shared")
    assert session is not None and session.trace_count == 40


# -- Migrations ------------------------------------------------------------------------------


def test_packaged_migrations_start_with_the_initial_schema() -> None:
    migrations = packaged_migrations("sqlite")

    assert [(m.version, m.name) for m in migrations][:1] == [(1, "initial")]
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})


def test_migrations_are_recorded_and_applied_once(path: str) -> None:
    SQLiteStore(path).close()
    first = migration_rows(path)
    SQLiteStore(path).close()

    assert [(version, name) for version, name, _ in first] == PACKAGED
    assert migration_rows(path) == first


def test_reopening_applies_only_new_migrations(path: str) -> None:
    SQLiteStore(path).close()
    initial = migration_rows(path)

    SQLiteStore(path, migrations=(*packaged_migrations("sqlite"), EXTRA_MIGRATION)).close()

    rows = migration_rows(path)
    assert rows[0] == initial[0]
    assert [(version, name) for version, name, _ in rows] == [*PACKAGED, (NEXT_VERSION, "extra")]
    assert query(path, "SELECT count(*) FROM extra") == [(0,)]


def test_a_database_newer_than_the_code_is_refused(path: str) -> None:
    SQLiteStore(path, migrations=(*packaged_migrations("sqlite"), EXTRA_MIGRATION)).close()

    with pytest.raises(MigrationError, match="newer"):
        SQLiteStore(path)


def test_a_failing_migration_leaves_no_trace(path: str) -> None:
    broken = Migration(
        NEXT_VERSION, "broken", "CREATE TABLE half (x INTEGER);\nINSERT INTO nowhere VALUES (1);"
    )

    with pytest.raises(sqlite3.OperationalError):
        SQLiteStore(path, migrations=(*packaged_migrations("sqlite"), broken))

    assert [(row[0], row[1]) for row in migration_rows(path)] == PACKAGED
    assert query(path, "SELECT name FROM sqlite_master WHERE name = 'half'") == []
    SQLiteStore(path).close()


def test_migration_files_are_read_in_version_order(tmp_path: Path) -> None:
    (tmp_path / "0002_second.sql").write_text("SELECT 2;")
    (tmp_path / "0001_first.sql").write_text("SELECT 1;")
    (tmp_path / "README.md").write_text("not a migration")

    migrations = load_migrations(tmp_path)

    assert migrations == (Migration(1, "first", "SELECT 1;"), Migration(2, "second", "SELECT 2;"))


@pytest.mark.parametrize(
    "names", [("1_short.sql",), ("0001_Upper.sql",), ("0001_a.sql", "0001_b.sql")]
)
def test_badly_named_or_duplicate_migrations_are_refused(
    tmp_path: Path, names: tuple[str, ...]
) -> None:
    for name in names:
        (tmp_path / name).write_text("SELECT 1;")

    with pytest.raises(MigrationError):
        load_migrations(tmp_path)
