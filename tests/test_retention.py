"""The retention job: what one pass deletes, in batches, and the job in the server's lifespan."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from starlette.testclient import TestClient

from skein.app import create_app
from skein.retention import NS_PER_DAY, cutoff_ns, run_retention
from skein.store import open_store
from skein.store.base import Store
from tests.otlp_bodies import SpanSpec, protobuf_body
from tests.store.factories import PROJECT_ID
from tests.store.test_contract import make_store, store
from tests.store.test_store_retention import OTHER_PROJECT, spans_of, trace_id, write_traces
from tests.test_app import PROTOBUF, auth, make_settings, project_of

__all__ = ["make_store", "store"]  # fixtures

NOW = 1_800_000_000_000_000_000


def test_the_cutoff_is_that_many_days_before_now() -> None:
    assert cutoff_ns(30, NOW) == NOW - 30 * NS_PER_DAY
    assert cutoff_ns(1, NOW) < cutoff_ns(0, NOW) == NOW


def test_a_pass_deletes_every_expired_trace_in_batches_and_only_those(store: Store) -> None:
    store.create_project("a", PROJECT_ID)
    store.create_project("b", OTHER_PROJECT)
    store.set_retention_days(PROJECT_ID, 7)
    old = NOW - 8 * NS_PER_DAY
    expired = [spans_of(n, old + n, old + n + 1) for n in range(1, 452)]  # > 2 batches of 200
    recent = spans_of(999, NOW - NS_PER_DAY, NOW - NS_PER_DAY + 1)
    write_traces(store, *expired, recent)
    write_traces(store, spans_of(1, old, old + 1), project_id=OTHER_PROJECT)  # no retention

    deleted = asyncio.run(run_retention(store, now_ns=NOW))

    assert deleted == {PROJECT_ID: 451}
    assert [t.trace_id for t in store.list_traces(PROJECT_ID, limit=1000)] == [trace_id(999)]
    session = store.get_session(PROJECT_ID, "s")
    assert session is not None and session.trace_count == 1
    assert len(store.list_traces(OTHER_PROJECT)) == 1
    assert asyncio.run(run_retention(store, now_ns=NOW)) == {PROJECT_ID: 0}


def test_the_lifespan_runs_the_job_and_ingestion_goes_on(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_interval_seconds=0.05)
    opened = open_store(settings.resolved_database_url())
    try:
        with TestClient(create_app(settings, opened)) as client:
            project_id = project_of(opened)
            opened.set_retention_days(project_id, 1)
            old = time.time_ns() - 2 * NS_PER_DAY
            spans = [
                SpanSpec(trace_id(n), f"{n:016x}", start_ns=old, end_ns=old + 1) for n in (1, 2)
            ]
            fresh = SpanSpec(
                trace_id(3), f"{3:016x}", start_ns=time.time_ns(), end_ns=time.time_ns()
            )
            headers = {**auth(), "Content-Type": PROTOBUF}
            response = client.post(
                "/api/public/otel/v1/traces", content=protobuf_body(*spans, fresh), headers=headers
            )
            assert response.status_code == 200
            deadline = time.monotonic() + 10
            while len(opened.list_traces(project_id)) > 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert [t.trace_id for t in opened.list_traces(project_id)] == [trace_id(3)]
            project = client.get("/api/public/projects", headers=auth()).json()["data"][0]
            assert project["retentionDays"] == 1
    finally:
        opened.close()
