"""The periodic job behind "infer" session rules.

Every INTERVAL_SECONDS, for each project with an infer rule, the traces of the last
LOOKBACK_SECONDS that have no session (or an inferred one) are grouped by user and gap
exactly as `skein sessions backfill --infer-gap` does, and the changes are applied as one
audited change by the actor "rule". Inferred session ids are stable, so a run extends the
sessions of earlier runs and a run with nothing new changes nothing. A new turn therefore
joins its inferred session within about a minute of arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from skein.repair.backfill import BackfillRequest, apply_backfill, plan_backfill
from skein.repair.rules import RuleError, parse_rules
from skein.store.base import Store

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 60.0
LOOKBACK_SECONDS = 24 * 3600.0
RULE_ACTOR = "rule"


def run_infer_rules(store: Store, now_ns: int | None = None) -> int:
    """Apply every project's infer rules once; the number of traces assigned."""
    now = time.time_ns() if now_ns is None else now_ns
    assigned = 0
    for project in store.list_projects():
        try:
            rules = parse_rules(store.get_session_rules(project.id))
        except RuleError:
            logger.warning("project %s has unreadable session rules; skipped", project.id)
            continue
        for rule in (r for r in rules if r.kind == "infer"):
            request = BackfillRequest(
                gap_seconds=rule.gap_seconds,
                confirm_history=rule.confirm_history,
                from_ns=now - int(LOOKBACK_SECONDS * 1e9),
            )
            plan = plan_backfill(store, project.id, request)
            apply_backfill(store, project.id, plan, RULE_ACTOR)
            assigned += len(plan.changes)
    return assigned


async def infer_rule_loop(store: Store, interval_seconds: float) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await run_in_threadpool(run_infer_rules, store)
        except Exception:
            logger.exception("the session-rule job failed; it runs again in %gs", interval_seconds)


@contextlib.asynccontextmanager
async def infer_rule_job(
    store: Store, interval_seconds: float = INTERVAL_SECONDS
) -> AsyncIterator[asyncio.Task[None]]:
    """The loop as a task of the server's lifespan, cancelled when it ends."""
    task = asyncio.create_task(infer_rule_loop(store, interval_seconds), name="skein-session-rules")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
