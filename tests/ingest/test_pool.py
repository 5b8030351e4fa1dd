"""OTLP requests ingested by worker processes: committed before the answer, rejections and
errors carried back whole, sessions right when one trace's spans reach different workers at
once, a bounded queue, and a new pool after a worker dies."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.testclient import TestClient

from skein.app import create_app
from skein.errors import BadRequest, Overloaded
from skein.ingest.mapping import IngestContext
from skein.ingest.pipeline import OtlpRequest, Sender
from skein.ingest.pool import Ingested, IngestPool, PoolCounts, write_group
from skein.records import MappedBatch
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import SessionQuery, Store
from tests.otlp_bodies import BASE_NS, SpanSpec, protobuf_body
from tests.test_app import PROTOBUF, PUBLIC, SECRET, auth

OTLP = "/api/public/otel/v1/traces"
WORKERS = 2


def pool_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, init_public_key=PUBLIC, init_secret_key=SECRET,
                    ingest_processes=WORKERS, **overrides)  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    settings = pool_settings(tmp_path_factory.mktemp("pool"))
    with TestClient(create_app(settings)) as client:
        yield client, settings


@pytest.fixture
def client(server: tuple[TestClient, Settings]) -> TestClient:
    return server[0]


@pytest.fixture
def reader(server: tuple[TestClient, Settings]) -> Iterator[Store]:
    opened = open_store(server[1].resolved_database_url())
    yield opened
    opened.close()


def post(client: TestClient, body: bytes) -> Any:
    return client.post(OTLP, content=body, headers={**auth(), "Content-Type": PROTOBUF})


def project_of(store: Store) -> str:
    key = store.find_key(PUBLIC)
    assert key is not None
    return key.project_id


def turn(trace: int, session: str, spans: int = 4) -> list[SpanSpec]:
    """One trace: a root and `spans - 1` children, the session id on the first child only."""
    trace_id = f"{trace:032x}"
    root = SpanSpec(trace_id, f"{trace:08x}{0:08x}", name="agent", start_ns=BASE_NS + trace)
    children = [
        SpanSpec(
            trace_id,
            f"{trace:08x}{n:08x}",
            root.span_id,
            name=f"step {n}",
            start_ns=BASE_NS + trace + n,
            attributes={"session.id": session} if n == 1 else {},
        )  # fmt: skip
        for n in range(1, spans)
    ]
    return [root, *children]


def test_the_server_runs_its_workers_and_a_2xx_means_committed(
    client: TestClient, reader: Store
) -> None:
    assert len(multiprocessing.active_children()) >= WORKERS
    response = post(client, protobuf_body(*turn(1, "committed")))
    assert response.status_code == 200
    session = reader.get_session(project_of(reader), "committed")
    assert session is not None and session.trace_count == 1


def test_rejected_spans_come_back_from_the_worker_in_partial_success(
    client: TestClient, reader: Store
) -> None:
    bad = SpanSpec("00" * 16, "00" * 8, name="all-zero ids")
    response = post(client, protobuf_body(bad, *turn(2, "partly")))
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert response.status_code == 200
    assert answer.partial_success.rejected_spans == 1
    assert "span" in answer.partial_success.error_message
    assert reader.get_session(project_of(reader), "partly") is not None


def test_an_error_raised_in_a_worker_answers_with_its_status_and_message(
    client: TestClient,
) -> None:
    response = post(client, b"\xff\xff not protobuf")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert "protobuf" in response.json()["message"].lower()


def test_a_trace_split_over_requests_that_reach_both_workers_at_once_folds_whole(
    client: TestClient, reader: Store
) -> None:
    """Every trace of a session arrives as one request per span, all sent concurrently:
    whichever worker commits last must see the others' spans and sum them all."""
    traces = [turn(100 + n, "concurrent", spans=5) for n in range(8)]
    bodies = [protobuf_body(span) for spans in traces for span in spans]
    with ThreadPoolExecutor(max_workers=6) as senders:
        statuses = list(senders.map(lambda body: post(client, body).status_code, bodies))
    assert statuses == [200] * len(bodies)
    project_id = project_of(reader)
    session = reader.get_session(project_id, "concurrent")
    assert session is not None
    assert session.trace_count == len(traces)
    page = reader.query_sessions(project_id, SessionQuery(limit=100))
    assert [s.session_id for s in page.items].count("concurrent") == 1
    for spans in traces:
        trace = reader.get_trace(project_id, spans[0].trace_id)
        assert trace is not None
        assert (trace.session_id, trace.observation_count) == ("concurrent", 5)


def test_requests_beyond_the_queue_limit_are_refused_with_503(tmp_path: Path) -> None:
    settings = pool_settings(tmp_path)
    store = open_store(settings.resolved_database_url())  # migrated, as the server does first
    body = protobuf_body(*turn(300, "queued"))
    pool = IngestPool(settings, processes=1, max_pending_bytes=len(body) + 1)
    request = OtlpRequest(body, PROTOBUF, None, Sender("any-project", PUBLIC, IngestContext()))

    async def two_at_once() -> list[Any]:
        return await asyncio.gather(
            pool.ingest(request), pool.ingest(request), return_exceptions=True
        )

    try:
        first, second = asyncio.run(two_at_once())
    finally:
        pool.close()
        store.close()
    assert not isinstance(first, BaseException)
    assert isinstance(second, Overloaded) and second.retry_after > 0


def test_after_a_worker_dies_requests_are_answered_again(tmp_path: Path) -> None:
    settings = pool_settings(tmp_path)
    others = set(multiprocessing.active_children())  # other tests' servers' workers
    with TestClient(create_app(settings)) as client:
        assert post(client, protobuf_body(*turn(400, "before"))).status_code == 200
        workers = set(multiprocessing.active_children()) - others
        assert len(workers) == WORKERS
        for worker in workers:
            os.kill(worker.pid or 0, signal.SIGKILL)
            worker.join(timeout=10)
        statuses = [post(client, protobuf_body(*turn(401 + n, "after"))).status_code
                    for n in range(3)]  # fmt: skip
    assert statuses[0] in (200, 503)
    assert statuses[1:] == [200, 200]


def test_requests_waiting_for_a_busy_worker_share_one_group(tmp_path: Path) -> None:
    """One worker: the first request goes alone, the ones that arrive while it is busy go
    together; a request that cannot be decoded fails alone and the others are committed."""
    settings = pool_settings(tmp_path)
    store = open_store(settings.resolved_database_url())
    project_id = store.create_project("grouped").id
    pool = IngestPool(settings, processes=1, max_pending_bytes=1 << 30)
    pool.start()
    sender = Sender(project_id, PUBLIC, IngestContext())
    bodies = [protobuf_body(*turn(500 + n, f"group-{n}")) for n in range(4)]
    requests = [OtlpRequest(body, PROTOBUF, None, sender) for body in bodies]
    requests.insert(2, OtlpRequest(b"\xff\xff not protobuf", PROTOBUF, None, sender))

    async def all_at_once() -> list[Any]:
        return await asyncio.gather(*map(pool.ingest, requests), return_exceptions=True)

    try:
        outcomes = asyncio.run(all_at_once())
        counts = pool.counts
    finally:
        pool.close()
    try:
        sessions = [store.get_session(project_id, f"group-{n}") for n in range(4)]
    finally:
        store.close()
    assert isinstance(outcomes.pop(2), BadRequest)
    assert all(isinstance(outcome, Ingested) for outcome in outcomes)
    assert all(s is not None and s.trace_count == 1 for s in sessions)
    assert counts == PoolCounts(requests=5, groups=2)


def test_ready_counts_the_requests_and_groups_of_the_workers(client: TestClient) -> None:
    assert post(client, protobuf_body(*turn(600, "counted"))).status_code == 200
    ingestion = client.get("/api/public/ready").json()["ingestion"]
    assert ingestion["workers"] == WORKERS
    assert ingestion["groups"] >= 1
    assert ingestion["requests"] >= ingestion["groups"]


def failing_store(fails: set[str]) -> Any:
    """A store whose `write` commits nothing and fails when any batch is of a project in
    `fails`; it records the groups it committed."""

    class Store:
        def __init__(self) -> None:
            self.committed: list[list[str]] = []

        def write(self, batches: list[MappedBatch]) -> None:
            projects = [batch.project_id for batch in batches]
            if fails & set(projects):
                raise sqlite3.OperationalError(f"cannot write {sorted(fails & set(projects))}")
            self.committed.append(projects)

    return Store()


def batch_of(project_id: str) -> MappedBatch:
    return MappedBatch(project_id, observations=())


def test_a_group_is_committed_in_one_write() -> None:
    store = failing_store(set())
    failures = write_group(store, {0: batch_of("a"), 2: batch_of("b"), 3: batch_of("c")})
    assert failures == {}
    assert store.committed == [["a", "b", "c"]]


def test_when_a_group_fails_each_batch_is_written_alone() -> None:
    store = failing_store({"b"})
    failures = write_group(store, {0: batch_of("a"), 2: batch_of("b"), 3: batch_of("c")})
    assert list(failures) == [2]
    assert "cannot write ['b']" in str(failures[2])
    assert store.committed == [["a"], ["c"]]
