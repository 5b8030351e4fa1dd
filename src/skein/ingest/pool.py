"""OTLP requests decoded, mapped and committed in worker processes, so ingestion uses every core.

Decoding protobuf, mapping spans and compressing their text is pure Python and holds the
GIL: in one process, ingestion tops out at about one core however many the machine has.
An `IngestPool` hands each request's raw body to one of N worker processes
(`concurrent.futures.ProcessPoolExecutor`, spawned, never forked from the threaded server).
A worker does everything the in-process path does — decode, drop foreign spans, cap
attributes, map, apply session rules and prices — then writes the batch on its own
connection to the same database in its own transaction, and only then answers; so a 2xx
still means committed. Idle workers take the next request from one shared queue, so the
load spreads evenly whatever the number of client connections.

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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.util import Finalize

from skein.errors import Overloaded
from skein.ingest.pipeline import OtlpRequest, Pipeline
from skein.prices import PriceCache, builtin_prices
from skein.records import RejectedSpan
from skein.repair.rules import SessionRuleCache
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Store

logger = logging.getLogger(__name__)

# How often a worker checks that the server that started it is still there (seconds).
ORPHAN_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Ingested:
    """A committed request: the spans that could not be stored (the rest were)."""

    rejected: tuple[RejectedSpan, ...]


class IngestPool:
    """N worker processes ingesting OTLP requests, with at most `max_pending_bytes` of
    request bodies waiting (beyond that, 503 with Retry-After)."""

    def __init__(self, settings: Settings, processes: int, max_pending_bytes: int) -> None:
        self._settings = settings
        self._processes = processes
        self._max_pending_bytes = max_pending_bytes
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._executor = self._new_executor()

    @property
    def processes(self) -> int:
        return self._processes

    def start(self) -> None:
        """Start every worker now rather than at the first request (each takes ~1 s)."""
        for future in [self._executor.submit(_ready) for _ in range(self._processes)]:
            future.result()

    async def ingest(self, request: OtlpRequest) -> Ingested:
        """Decode, map and commit `request` in a worker; SkeinErrors come back as raised."""
        size = len(request.body)
        self._reserve(size)
        with self._lock:
            executor = self._executor
        try:
            return await asyncio.wrap_future(executor.submit(_ingest, request))
        except BrokenProcessPool:
            self._replace(executor)
            raise Overloaded(
                "an ingestion worker stopped; send the request again", retry_after=1
            ) from None
        finally:
            self._release(size)

    def close(self) -> None:
        """Finish the requests already taken, then stop the workers."""
        with self._lock:
            executor = self._executor
        executor.shutdown(wait=True, cancel_futures=False)

    def _reserve(self, size: int) -> None:
        with self._lock:
            if self._pending_bytes and self._pending_bytes + size > self._max_pending_bytes:
                raise Overloaded(
                    f"ingestion queue is full ({self._pending_bytes} bytes waiting)",
                    retry_after=2,
                )
            self._pending_bytes += size

    def _release(self, size: int) -> None:
        with self._lock:
            self._pending_bytes -= size

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new executor for one whose worker died (once, however many requests saw it)."""
        with self._lock:
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
    store = open_store(
        settings.resolved_database_url(), pool_size=settings.database_pool_size, migrate=False
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


def _ingest(request: OtlpRequest) -> Ingested:
    worker = _WORKER[0]
    # The pipeline also prepares the write (compressing, encoding rows) before the write
    # takes the database's lock from the other workers.
    batch = worker.pipeline.run(request)
    if batch.observations or batch.warnings:
        worker.store.write([batch])
    return Ingested(batch.rejected)
