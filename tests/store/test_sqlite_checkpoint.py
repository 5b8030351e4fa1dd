"""The background checkpointer copies the WAL into the database while commits go on.

Whether pages have been checkpointed is read from the main database file's size: with
automatic checkpoints off, committed pages sit in the WAL until a checkpoint copies them.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from skein.store.sqlite import SQLiteStore
from skein.store.sqlite_checkpoint import Checkpointer
from tests.store.factories import make_batch, make_observation

ROWS_BYTES = 150_000


def open_wal(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    return connection


def wait_for_size(path: Path, size: int, seconds: float = 10.0) -> int:
    deadline = time.monotonic() + seconds
    while path.stat().st_size < size and time.monotonic() < deadline:
        time.sleep(0.01)
    return path.stat().st_size


def test_commits_stay_in_the_wal_until_the_checkpointer_is_notified(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = open_wal(path)
    writer.execute("CREATE TABLE t (x TEXT)")
    writer.executemany("INSERT INTO t VALUES (?)", [("row" * 100,)] * 500)
    assert path.stat().st_size < ROWS_BYTES
    checkpointer = Checkpointer(lambda: open_wal(path))
    try:
        checkpointer.notify()
        assert wait_for_size(path, ROWS_BYTES) >= ROWS_BYTES
        busy, frames, copied = checkpointer.checkpoint() or (None, None, None)
        assert (busy, copied) == (0, frames)
    finally:
        checkpointer.close()
        writer.close()


def test_closing_stops_the_thread_and_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    open_wal(path).close()
    checkpointer = Checkpointer(lambda: open_wal(path))
    checkpointer.close()
    assert not checkpointer._thread.is_alive()
    assert checkpointer.checkpoint() is None  # its connection is closed


def test_a_store_write_reaches_the_database_file_soon_after_it_commits(tmp_path: Path) -> None:
    path = tmp_path / "skein.db"
    SQLiteStore(str(path)).close()  # the schema, checkpointed on close
    with SQLiteStore(str(path)) as store:
        before = path.stat().st_size
        texts = [random.Random(i).randbytes(1500).hex() for i in range(50)]  # 1.5 KB packed
        store.write([make_batch(*(make_observation(id=f"{i:016x}", input=text)
                                  for i, text in enumerate(texts)))])  # fmt: skip
        wanted = before + 50 * 1500
        assert wait_for_size(path, wanted) >= wanted
        with sqlite3.connect(path) as connection:
            assert connection.execute("SELECT count(*) FROM observations").fetchone() == (50,)


class CommitFirst:
    """A writers' lock that lets one more commit in just before the checkpointer takes it,
    as if committed while the checkpointer's first pass was copying."""

    def __init__(self, writer: sqlite3.Connection) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self.taken = 0

    def commit(self) -> None:
        commit(self._writer)

    def __enter__(self) -> None:
        self.commit()
        self._lock.acquire()
        self.taken += 1

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def commit(writer: sqlite3.Connection) -> None:
    writer.execute("INSERT INTO t VALUES (?)", ("row" * 500,))


def open_table(path: Path, commits: int) -> sqlite3.Connection:
    writer = open_wal(path)
    writer.execute("CREATE TABLE t (x TEXT)")
    for _ in range(commits):
        commit(writer)
    return writer


def wal_frames(path: Path) -> int:
    """Frames in the WAL since it last started over (a PASSIVE checkpoint's second figure)."""
    with closing(open_wal(path)) as connection:
        return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


@contextmanager
def catching_up(path: Path, commits: int) -> Iterator[tuple[Checkpointer, CommitFirst]]:
    """A checkpointer on a table of `commits` commits, with a `CommitFirst` writers' lock."""
    writer = open_table(path, commits)
    lock = CommitFirst(writer)
    checkpointer = Checkpointer(lambda: open_wal(path), lock)
    try:
        yield checkpointer, lock
    finally:
        checkpointer.close()
        writer.close()


def test_a_checkpoint_catches_up_holding_the_writers_lock_so_the_wal_starts_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    with catching_up(path, commits=100) as (checkpointer, lock):
        busy, frames, copied = checkpointer.checkpoint() or (None, None, None)
        assert lock.taken == 1
        assert (busy, copied) == (0, frames)  # with the commit let in before the second pass
        lock.commit()
        assert wal_frames(path) == 1  # that commit's one page, at the WAL's start


def test_no_second_pass_when_nothing_was_committed_since_the_last_catch_up(
    tmp_path: Path,
) -> None:
    with catching_up(tmp_path / "db.sqlite", commits=1) as (checkpointer, lock):
        first = checkpointer.checkpoint()
        assert checkpointer.checkpoint() == first
        assert lock.taken == 1


def checkpoint_threads() -> int:
    return sum(thread.name == "skein-checkpoint" for thread in threading.enumerate())


def test_a_store_opened_without_checkpoints_leaves_them_to_another(tmp_path: Path) -> None:
    before = checkpoint_threads()
    with SQLiteStore(str(tmp_path / "skein.db"), checkpoints=False) as store:
        store.write([make_batch(make_observation())])
        assert checkpoint_threads() == before
    with SQLiteStore(str(tmp_path / "skein.db")):
        assert checkpoint_threads() == before + 1
