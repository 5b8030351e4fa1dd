"""Per-project retention: a background job that deletes traces past their project's period.

The job runs in the server's lifespan, once at start and then every
`SKEIN_RETENTION_INTERVAL_SECONDS`. For each project with a retention period it deletes the
traces whose last activity (end time) is older than that many days, through
`Store.delete_traces` (observations, scores and warnings go, sessions are rolled up again),
in batches of `RETENTION_BATCH_TRACES`: each batch is one short write transaction, and the
ingestion writer gets the database between batches.

SQLite reuses the pages freed by deletes for later writes (they go on its freelist), so the
database file stops growing once ingestion and deletion balance; it does not shrink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from skein.services import Services
from skein.store.base import Project, Store

logger = logging.getLogger(__name__)

NS_PER_DAY = 86_400 * 1_000_000_000
RETENTION_BATCH_TRACES = 200


def cutoff_ns(retention_days: int, now_ns: int) -> int:
    """Traces whose last activity is before this time are past retention."""
    return now_ns - retention_days * NS_PER_DAY


def expire_batch(store: Store, project: Project, now_ns: int, limit: int) -> int:
    """Delete up to `limit` of a project's traces past retention; how many were deleted."""
    if not project.retention_days:
        return 0
    ids = store.expired_trace_ids(project.id, cutoff_ns(project.retention_days, now_ns), limit)
    return store.delete_traces(project.id, ids) if ids else 0


async def expire_project(
    store: Store, project: Project, now_ns: int, limit: int = RETENTION_BATCH_TRACES
) -> int:
    """Delete all of a project's traces past retention, one batch per worker-thread hop."""
    total = 0
    while True:
        deleted = await run_in_threadpool(expire_batch, store, project, now_ns, limit)
        total += deleted
        if deleted < limit:
            return total
        await asyncio.sleep(0)  # let ingestion in between batches


async def run_retention(store: Store, now_ns: int | None = None) -> dict[str, int]:
    """One pass over every project with a retention period: traces deleted, by project."""
    now = time.time_ns() if now_ns is None else now_ns
    projects = await run_in_threadpool(store.list_projects)
    deleted: dict[str, int] = {}
    for project in projects:
        if project.retention_days:
            deleted[project.id] = await expire_project(store, project, now)
            if deleted[project.id]:
                logger.info(
                    "retention: deleted %d traces of project %s (older than %d days)",
                    deleted[project.id],
                    project.id,
                    project.retention_days,
                )
    return deleted


async def retention_loop(store: Store, interval_seconds: float) -> None:
    """Run retention now and then every `interval_seconds`, until cancelled."""
    while True:
        try:
            await run_retention(store)
        except Exception:
            logger.exception("the retention job failed; it runs again in %gs", interval_seconds)
        await asyncio.sleep(interval_seconds)


@contextlib.asynccontextmanager
async def retention_job(services: Services) -> AsyncIterator[asyncio.Task[None]]:
    """The retention loop as a task of the server's lifespan, cancelled when it ends."""
    interval = services.settings.retention_interval_seconds
    task = asyncio.create_task(retention_loop(services.store, interval), name="skein-retention")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
