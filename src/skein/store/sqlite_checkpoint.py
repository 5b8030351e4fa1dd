"""WAL checkpoints off the commit path: a background thread copies the WAL into the database.

With SQLite's automatic checkpoint, the commit that takes the WAL past 1000 pages also
copies those pages into the database file and syncs it before it returns, on the writer's
critical path, while the next group of requests waits. The writer connection turns that
off (`PRAGMA wal_autocheckpoint = 0`) and this thread runs PASSIVE checkpoints on a
connection of its own instead, woken by writes (and every `INTERVAL_S` anyway). A PASSIVE
checkpoint never takes the write lock, so commits go on while it copies; once it has caught
up, the next write transaction starts the WAL over from its beginning (the file is cut back
to `journal_size_limit`). When the store closes, SQLite checkpoints what is left.

Checkpoints are at least `MIN_GAP_S` apart. A checkpoint copies each page once however many
commits rewrote it since the last one, and syncs the database once: one checkpoint after
every commit cost 18 µs of CPU per span ingested at 100k spans, one per half second 7 µs;
at a million stored spans, where a commit dirties several pages per span, two seconds
instead of a half cut the ingest CPU per span from ~222 to ~189 µs together with the larger
`journal_size_limit` (bench/RESULTS.md). The WAL then holds up to two seconds of writes,
a few hundred megabytes at the benchmark's rate; a restart after a crash reads it once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
# How often the thread checkpoints when no write wakes it (seconds).
INTERVAL_S = 1.0
# The least time from one checkpoint to the next, however often writes wake the thread.
MIN_GAP_S = 2.0


class Checkpointer:
    """A daemon thread checkpointing one database's WAL; `notify` after each commit."""

    def __init__(self, open_connection: Callable[[], sqlite3.Connection]) -> None:
        self._connection = open_connection()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="skein-checkpoint", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (after the checkpoint in progress, if any) and close its connection."""
        self._stopped.set()
        self._wake.set()
        self._thread.join()
        self._connection.close()

    def _run(self) -> None:
        while True:
            self._wake.wait(INTERVAL_S)
            if self._stopped.is_set():
                return
            self._wake.clear()
            self.checkpoint()
            self._stopped.wait(MIN_GAP_S)  # writes meanwhile set `_wake` for the next round

    def checkpoint(self) -> tuple[int, int, int] | None:
        """One PASSIVE checkpoint: (busy, WAL frames, frames checkpointed), None on error."""
        try:
            busy, frames, copied = self._connection.execute(CHECKPOINT).fetchone()
        except sqlite3.Error as error:
            logger.warning("WAL checkpoint failed: %s", error)
            return None
        return busy, frames, copied
