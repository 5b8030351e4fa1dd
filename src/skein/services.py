"""What a running server holds: settings, store, writer, ingestion pool, authenticator and
the price and rule caches, owned by the lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from skein.ingest.pool import IngestPool
from skein.ingest.writer import BatchWriter
from skein.keys import Authenticator
from skein.prices import PriceCache, builtin_prices
from skein.projects import bootstrap
from skein.repair.rules import SessionRuleCache
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Store


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: Store
    writer: BatchWriter
    authenticator: Authenticator
    prices: PriceCache
    session_rules: SessionRuleCache
    # Worker processes for OTLP requests; None: they are handled in this process.
    ingest_pool: IngestPool | None = None

    async def authenticate(self, request: Request) -> str:
        """The project id of the request's key (401 otherwise)."""
        header = request.headers.get("authorization")
        return await run_in_threadpool(self.authenticator.project_for, header)


def open_settings_store(settings: Settings) -> Store:
    """The store the settings name, opened with their pool size and migration choice."""
    return open_store(
        settings.resolved_database_url(),
        pool_size=settings.database_pool_size,
        migrate=settings.migrate_on_start,
    )


@contextlib.contextmanager
def open_services(settings: Settings, store: Store | None = None) -> Iterator[Services]:
    """Open the store (unless given), make sure a keyed project exists, run the writer and,
    on a store opened here, the ingestion worker processes (they open the same database; a
    store object handed in cannot be shared with them)."""
    owned = store is None
    active = store if store is not None else open_settings_store(settings)
    try:
        bootstrap(active, settings)
        with _ingest_pool(settings, owned) as pool, _batch_writer(settings, active) as writer:
            prices = PriceCache(active, builtin_prices())
            rules = SessionRuleCache(active)
            authenticator = Authenticator(active)
            yield Services(settings, active, writer, authenticator, prices, rules, pool)
    finally:
        if owned:
            active.close()


@contextlib.contextmanager
def _batch_writer(settings: Settings, store: Store) -> Iterator[BatchWriter]:
    writer = BatchWriter(
        store, max_spans=settings.queue_max_spans, batch_spans=settings.write_batch_spans
    )
    try:
        yield writer
    finally:
        writer.close()


@contextlib.contextmanager
def _ingest_pool(settings: Settings, store_opened_here: bool) -> Iterator[IngestPool | None]:
    processes = settings.resolved_ingest_processes() if store_opened_here else 0
    if not processes:
        yield None
        return
    pool = IngestPool(settings, processes, settings.ingest_queue_bytes)
    pool.start()
    try:
        yield pool
    finally:
        pool.close()
