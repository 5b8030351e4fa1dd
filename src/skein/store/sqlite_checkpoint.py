"""WAL checkpoints off the commit path: a background thread copies the WAL into the database.

With SQLite's automatic checkpoint, the commit that takes the WAL past 1000 pages also
copies those pages into the database file and syncs it before it returns, on the writer's
critical path, while the next group of requests waits. The writer connection turns that
off (`PRAGMA wal_autocheckpoint = 0`) and this thread runs PASSIVE checkpoints on a
connection of its own instead, woken by writes (and every `INTERVAL_S` anyway). A PASSIVE
checkpoint never takes the write lock, so commits go on while it copies; once it has caught
up, the next write transaction starts the WAL over from its beginning (the file is cut back
to `journal_size_limit`). When the store closes, SQLite checkpoints what is left.

Under a steady stream of commits a PASSIVE checkpoint never catches up: it copies the frames
that were there when it began, and by the time it is done, more have been appended. The WAL
then never starts over and grows for as long as the stream lasts (12.8 GB while a million
spans were ingested into a 4 GB database), and every frame lands on a newly allocated block.
So a checkpoint makes passes while each still copies more than `CATCH_UP_FRAMES` (at most
`MAX_PASSES`), then one last pass holding the writers' lock (`writers_lock`): it copies what
was appended during the pass before, while no commit can add more, and leaves the WAL fully
copied for the next commit to start over. At a million stored spans on 2 cores, that last
pass holds the writers up for ~0.1 s a round.

Checkpoints are at least `MIN_GAP_S` apart, and one store per database runs them (the
ingestion workers' stores do not: `checkpoints=False`), so the gap holds however many
processes write. A checkpoint copies each page once however many commits rewrote it since
the last one, and syncs the database once: one checkpoint after every commit cost 18 µs of
CPU per span ingested at 100k spans, one per half second 7 µs. Longer rounds did not pay at
a million stored spans: with rounds 2 s apart instead of 1, ingesting a million spans used
~10% more CPU and went ~10% slower (bench/RESULTS.md). The WAL holds a round of writes, a few
hundred megabytes at the benchmark's rate; a restart after a crash reads it once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

logger = logging.getLogger(__name__)

CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
# How often the thread checkpoints when no write wakes it (seconds).
INTERVAL_S = 1.0
# The least time from one checkpoint to the next, however often writes wake the thread.
MIN_GAP_S = 1.0
# Passes without the writers' lock go on while each copies more than this many frames (the
# last pass, holding it, copies what the one before left), up to MAX_PASSES in all.
CATCH_UP_FRAMES = 1000
MAX_PASSES = 5


# What a checkpoint reports: (1 if it could not finish, frames in the WAL, frames copied).
Progress = tuple[int, int, int]


class Checkpointer:
    """A daemon thread checkpointing one database's WAL; `notify` after each commit.

    `writers_lock`, if given, is held by every writer of the database while it commits
    (across processes); the checkpointer takes it for its last, catching-up pass.
    """

    def __init__(
        self,
        open_connection: Callable[[], sqlite3.Connection],
        writers_lock: AbstractContextManager[object] | None = None,
    ) -> None:
        self._connection = open_connection()
        self._writers_lock = writers_lock
        self._caught_up: Progress | None = None
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

    def checkpoint(self) -> Progress | None:
        """PASSIVE checkpoints while commits go on (`_unlocked_passes`), then, if they copied
        anything and there is a `writers_lock`, one holding it for what was committed
        meanwhile: the progress of the last one, None on error."""
        started = time.monotonic()
        progress, passes = self._unlocked_passes()
        writers_lock = self._writers_lock
        if writers_lock is None or progress is None or not self._behind(progress):
            return progress
        unlocked = time.monotonic()
        with writers_lock:
            locked = time.monotonic()
            caught_up = self._passive()
        self._caught_up = caught_up
        logger.debug(
            "checkpoint: %d frames in %d passes, %.3f s; then the rest in %.3f s holding the "
            "writers' lock (%.3f s to get it): %s",
            progress[2], passes, unlocked - started, time.monotonic() - locked,
            locked - unlocked, caught_up,
        )  # fmt: skip
        return caught_up

    def _unlocked_passes(self) -> tuple[Progress | None, int]:
        """Passes while each still copies more than `CATCH_UP_FRAMES` (at most `MAX_PASSES`):
        the last one's progress, and how many there were."""
        progress, passes = self._passive(), 1
        copied = 0  # frames copied by the passes before the last
        while (
            progress is not None
            and self._behind(progress)
            and progress[2] - copied > CATCH_UP_FRAMES
            and passes < MAX_PASSES
        ):
            copied = progress[2]
            progress, passes = self._passive(), passes + 1
        return progress, passes

    def _behind(self, progress: Progress) -> bool:
        """Whether a catching-up pass is called for after a first pass that made `progress`:
        not if it found another connection checkpointing (busy, -1, -1), nor if nothing has
        been committed since the last catch-up."""
        return not progress[0] and progress[2] > 0 and progress != self._caught_up

    def _passive(self) -> Progress | None:
        try:
            busy, frames, copied = self._connection.execute(CHECKPOINT).fetchone()
        except sqlite3.Error as error:
            logger.warning("WAL checkpoint failed: %s", error)
            return None
        return busy, frames, copied
