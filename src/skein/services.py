"""What a running server holds: settings, store, writer, authenticator and the price cache,
owned by the lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

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
    """Open the store (unless given), make sure a keyed project exists, run the writer."""
    owned = store is None
    active = store if store is not None else open_settings_store(settings)
    try:
        bootstrap(active, settings)
        writer = BatchWriter(
            active, max_spans=settings.queue_max_spans, batch_spans=settings.write_batch_spans
        )
        try:
            prices = PriceCache(active, builtin_prices())
            rules = SessionRuleCache(active)
            yield Services(settings, active, writer, Authenticator(active), prices, rules)
        finally:
            writer.close()
    finally:
        if owned:
            active.close()
