"""OTLP requests decoded, mapped and committed in worker processes, so ingestion uses every core.

Decoding protobuf, mapping spans and compressing their text is pure Python and holds the
GIL: in one process, ingestion tops out at about one core however many the machine has.
An `IngestPool` hands each request's raw body to one of N worker processes
(`concurrent.futures.ProcessPoolExecutor`, spawned, never forked from the threaded server).
A worker does everything the in-process path does — decode, drop foreign spans, cap
attributes, map, apply session rules and prices — then writes the batch on its own
connection to the same database in its own transaction, and only then answers; so a 2xx
still means committed.

Requests wait in one queue in the server process. A worker that comes free takes everything
waiting (up to `GROUP_MAX_REQUESTS` requests and `GROUP_MAX_BODY_BYTES` of bodies), maps
each request and commits their batches in one transaction: the load spreads evenly whatever
the number of client connections, and under load each commit carries several requests. Most
of a commit's cost is per page, not per row (every index entry at a random id dirties a
page), so two requests per commit cost ~20% less to write than one each (bench/RESULTS.md).
A request that fails to decode or map fails alone; if the group's transaction fails, each
batch is written again on its own, so one bad batch cannot take its neighbours down.

Writers in several processes take turns: SQLite's write lock is held with an `flock` as
well (`skein.store.sqlite`), so a waiting writer wakes the moment the lock is free instead
of polling; PostgreSQL serialises them itself. The price and session-rule caches of a
worker refresh on their usual timer, as those of several `--workers` servers do.

A worker that dies (killed, out of memory) breaks the pool: the requests it held fail with
503 and Retry-After, and the next request starts a new pool. A worker whose server process
is gone exits on its own within `ORPHAN_CHECK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.util import Finalize

from skein.errors import Overloaded
from skein.ingest.pipeline import OtlpRequest, Pipeline
from skein.prices import PriceCache, builtin_prices
from skein.records import MappedBatch, RejectedSpan
from skein.repair.rules import SessionRuleCache
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Store

logger = logging.getLogger(__name__)

# How often a worker checks that the server that started it is still there (seconds).
ORPHAN_CHECK_SECONDS = 1.0
# The most requests, and bytes of request bodies, one worker takes at once.
GROUP_MAX_REQUESTS = 8
GROUP_MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Ingested:
    """A committed request: the spans that could not be stored (the rest were)."""

    rejected: tuple[RejectedSpan, ...]


# What a worker answers for each request of a group: Ingested, or the error it raised.
Outcome = Ingested | Exception


@dataclass(frozen=True, slots=True)
class PoolCounts:
    """Requests handed to the workers since the pool started, and the groups they went in
    (a group is one call to a worker, and commits in one transaction)."""

    requests: int
    groups: int


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A request in the server's queue, and where its outcome goes."""

    request: OtlpRequest
    outcome: Future[Ingested]


class IngestPool:
    """N worker processes ingesting OTLP requests, with at most `max_pending_bytes` of
    request bodies waiting (beyond that, 503 with Retry-After)."""

    def __init__(self, settings: Settings, processes: int, max_pending_bytes: int) -> None:
        self._settings = settings
        self._processes = processes
        self._max_pending_bytes = max_pending_bytes
        self._pending_bytes = 0
        self._waiting: deque[_Waiting] = deque()
        self._busy = 0  # groups handed to the executor and not yet answered
        self._sent = PoolCounts(0, 0)
        self._changed = threading.Condition()
        self._executor = self._new_executor()

    @property
    def processes(self) -> int:
        return self._processes

    @property
    def counts(self) -> PoolCounts:
        with self._changed:
            return self._sent

    def start(self) -> None:
        """Start every worker now rather than at the first request (each takes ~1 s)."""
        for future in [self._executor.submit(_ready) for _ in range(self._processes)]:
            future.result()

    async def ingest(self, request: OtlpRequest) -> Ingested:
        """Decode, map and commit `request` in a worker; SkeinErrors come back as raised."""
        size = len(request.body)
        self._reserve(size)
        try:
            return await asyncio.wrap_future(self._enqueue(request))
        finally:
            self._release(size)

    def close(self) -> None:
        """Finish the requests already taken or waiting, then stop the workers."""
        with self._changed:
            self._changed.wait_for(lambda: not self._waiting and not self._busy)
            executor = self._executor
        executor.shutdown(wait=True, cancel_futures=False)

    def _reserve(self, size: int) -> None:
        with self._changed:
            if self._pending_bytes and self._pending_bytes + size > self._max_pending_bytes:
                raise Overloaded(
                    f"ingestion queue is full ({self._pending_bytes} bytes waiting)",
                    retry_after=2,
                )
            self._pending_bytes += size

    def _release(self, size: int) -> None:
        with self._changed:
            self._pending_bytes -= size

    def _enqueue(self, request: OtlpRequest) -> Future[Ingested]:
        waiting = _Waiting(request, Future())
        with self._changed:
            self._waiting.append(waiting)
        self._dispatch()
        return waiting.outcome

    def _dispatch(self) -> None:
        """Hand what is waiting to the workers, a group per free worker."""
        while True:
            with self._changed:
                if self._busy >= self._processes or not self._waiting:
                    return
                group = self._take_group()
                if not group:
                    continue
                self._busy += 1
                self._sent = PoolCounts(self._sent.requests + len(group), self._sent.groups + 1)
                executor = self._executor
            self._submit(executor, group)

    def _take_group(self) -> list[_Waiting]:
        """The oldest waiting requests that fit one group (at least one), skipping those
        whose caller has gone; called with the lock held."""
        group: list[_Waiting] = []
        body_bytes = 0
        while self._waiting and len(group) < GROUP_MAX_REQUESTS:
            size = len(self._waiting[0].request.body)
            if group and body_bytes + size > GROUP_MAX_BODY_BYTES:
                break
            waiting = self._waiting.popleft()
            if waiting.outcome.set_running_or_notify_cancel():
                group.append(waiting)
                body_bytes += size
        self._changed.notify_all()
        return group

    def _submit(self, executor: ProcessPoolExecutor, group: list[_Waiting]) -> None:
        try:
            call = executor.submit(_ingest_group, [waiting.request for waiting in group])
        except BrokenProcessPool:
            self._replace(executor)
            self._answer(group, [_worker_stopped() for _ in group])
            return
        except RuntimeError:  # shut down: the server is stopping
            stopping = [Overloaded("server is shutting down", retry_after=5) for _ in group]
            self._answer(group, list[Outcome](stopping))
            return
        call.add_done_callback(
            lambda done: self._answer(group, self._outcomes(executor, len(group), done))
        )

    def _answer(self, group: list[_Waiting], outcomes: list[Outcome]) -> None:
        """Give each request of a finished group its outcome, then dispatch what waits."""
        for waiting, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, Exception):
                waiting.outcome.set_exception(outcome)
            else:
                waiting.outcome.set_result(outcome)
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()
        self._dispatch()

    def _outcomes(
        self, executor: ProcessPoolExecutor, size: int, done: Future[list[Outcome]]
    ) -> list[Outcome]:
        """What a worker answered for each request of a group of `size`."""
        try:
            return done.result()
        except BrokenProcessPool:
            self._replace(executor)
            return [_worker_stopped() for _ in range(size)]
        except Exception as error:  # the call itself failed: every request with it
            return [error] * size

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new executor for one whose worker died (once, however many requests saw it)."""
        with self._changed:
            if self._executor is not broken:
                return
            logger.error("an ingestion worker process died; starting new ones")
            self._executor = self._new_executor()
        broken.shutdown(wait=False, cancel_futures=True)

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._settings, os.getpid()),
        )


def _worker_stopped() -> Overloaded:
    return Overloaded("an ingestion worker stopped; send the request again", retry_after=1)


# -- In each worker process ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Worker:
    """What one worker process holds: its store and the pipeline requests go through."""

    store: Store
    pipeline: Pipeline


# The worker process's state, set once by `_start_worker` (never in the server process).
_WORKER: list[_Worker] = []


def _start_worker(settings: Settings, server_pid: int) -> None:
    """Set up a worker: ignore the terminal's signals (the server shuts the pool down), open
    the store, and leave when the server is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=settings.log_level.upper())
    # The server's own store checkpoints SQLite's WAL for every writer: with one
    # checkpointer, checkpoints stay `sqlite_checkpoint.MIN_GAP_S` apart however many write.
    store = open_store(
        settings.resolved_database_url(),
        pool_size=settings.database_pool_size,
        migrate=False,
        checkpoints=False,
    )
    Finalize(store, store.close, exitpriority=10)
    prices = PriceCache(store, builtin_prices())
    _WORKER.append(_Worker(store, Pipeline.of(settings, store, prices, SessionRuleCache(store))))
    threading.Thread(
        target=_exit_when_orphaned, args=(server_pid,), name="skein-orphan-check", daemon=True
    ).start()


def _exit_when_orphaned(server_pid: int) -> None:
    while os.getppid() == server_pid:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _ready() -> bool:
    return bool(_WORKER)


def _ingest_group(requests: list[OtlpRequest]) -> list[Outcome]:
    """Decode and map each request, then commit their batches in one transaction."""
    worker = _WORKER[0]
    outcomes: list[Outcome] = []
    batches: dict[int, MappedBatch] = {}
    for request in requests:
        try:
            # The pipeline also prepares the write (compressing, encoding rows) before the
            # write takes the database's lock from the other workers.
            batch = worker.pipeline.run(request)
        except Exception as error:
            outcomes.append(error)
            continue
        outcomes.append(Ingested(batch.rejected))
        if batch.observations or batch.warnings:
            batches[len(outcomes) - 1] = batch
    for index, failure in write_group(worker.store, batches).items():
        outcomes[index] = failure
    return outcomes


def write_group(store: Store, batches: dict[int, MappedBatch]) -> dict[int, Exception]:
    """Commit the batches in one transaction; if that fails, each on its own. The errors of
    the batches that could not be stored, by the same keys."""
    if not batches:
        return {}
    try:
        store.write(list(batches.values()))
    except Exception as error:
        if len(batches) == 1:
            return dict.fromkeys(batches, error)
        logger.warning("committing %d batches failed (%s); writing each alone", len(batches), error)
        failures: dict[int, Exception] = {}
        for key, batch in batches.items():
            failures.update(write_group(store, {key: batch}))
        return failures
    return {}
