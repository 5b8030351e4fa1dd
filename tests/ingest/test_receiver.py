"""The OTLP receiver's guards, in process: body read timeout, spans sent for another
project's key, oversized attribute values, and the answer when the writer falls behind."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from starlette.testclient import TestClient

from skein.app import create_app
from skein.ingest.guards import TRUNCATED_CODE
from skein.records import MappedBatch
from skein.store.base import Store
from tests.otlp_bodies import SpanSpec, any_value, protobuf_body
from tests.test_app import PROTOBUF, PUBLIC, assert_error, auth, make_settings, project_of, store

__all__ = ["store"]  # the fixture

TRACE = "0af7651916cd43dd8448eb211c80319c"
OTLP = "/api/public/otel/v1/traces"


def span(number: int, **attributes: Any) -> SpanSpec:
    return SpanSpec(TRACE, f"{number:016x}", attributes=attributes)


def post(client: TestClient, body: bytes) -> Any:
    return client.post(OTLP, content=body, headers={**auth(), "Content-Type": PROTOBUF})


def partial_success(response: Any) -> tuple[int, str]:
    answer = ExportTraceServiceResponse.FromString(response.content)
    return answer.partial_success.rejected_spans, answer.partial_success.error_message


# -- Body read timeout ----------------------------------------------------------------------------


# -- Spans for another project's key ---------------------------------------------------------------


def langfuse_body(public_keys: Sequence[str]) -> bytes:
    """One scope per key, as the Langfuse Python SDK sends them, one span in each."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for number, public_key in enumerate(public_keys, start=1):
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "langfuse-sdk"
        scope_spans.scope.attributes.append(KeyValue(key="public_key", value=any_value(public_key)))
        item = scope_spans.spans.add()
        item.trace_id = bytes.fromhex(TRACE)
        item.span_id = number.to_bytes(8, "big")
        item.name = f"span-{number}"
        item.start_time_unix_nano = 1_767_225_600_000_000_000
        item.end_time_unix_nano = item.start_time_unix_nano + 1000
    return request.SerializeToString()


def test_spans_whose_scope_names_another_key_are_dropped_and_reported(
    store: Store, tmp_path: Path
) -> None:
    with TestClient(create_app(make_settings(tmp_path), store)) as client:
        response = post(client, langfuse_body([PUBLIC, "pk-other-project", PUBLIC]))
    assert response.status_code == 200
    rejected, message = partial_success(response)
    assert rejected == 1 and "public_key" in message and f"{2:016x}" in message
    stored = [o.id for o in store.list_observations(project_of(store), TRACE)]
    assert stored == [f"{1:016x}", f"{3:016x}"]


# -- Oversized attribute values --------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [False, True])  # gzipped: 10 MB of text in 10 KB
def test_a_huge_attribute_value_is_cut_and_the_span_and_its_neighbours_kept(
    store: Store, tmp_path: Path, gzipped: bool
) -> None:
    limit = 100_000
    huge = "x" * (10 * 1024 * 1024)
    body = protobuf_body(span(1, **{"langfuse.observation.input": huge}), span(2, note="small"))
    settings = make_settings(tmp_path, max_attribute_chars=limit)
    with TestClient(create_app(settings, store)) as client:
        if gzipped:
            headers = {**auth(), "Content-Type": PROTOBUF, "Content-Encoding": "gzip"}
            compressed = gzip.compress(body)
            assert len(compressed) < limit
            response = client.post(OTLP, content=compressed, headers=headers)
        else:
            response = post(client, body)
    assert response.status_code == 200 and partial_success(response) == (0, "")
    project_id = project_of(store)
    first, second = store.list_observations(project_id, TRACE)
    assert first.input is not None and first.input.startswith("x" * limit)
    assert len(first.input) < limit + 100 and "truncated" in first.input
    assert second.metadata["attributes"]["note"] == "small"
    codes = [w.warning.code for w in store.list_warnings(project_id, TRACE)]
    assert codes == [TRUNCATED_CODE]


# -- The writer falls behind -----------------------------------------------------------------------


class BlockingStore:
    """A real store whose ingestion writes wait until `release` is set."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.release = threading.Event()
        self.writing = threading.Event()

    def write(self, batches: Sequence[MappedBatch]) -> None:
        self.writing.set()
        assert self.release.wait(timeout=30)
        self._inner.write(batches)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def blocking_store(store: Store) -> Iterator[BlockingStore]:
    blocking = BlockingStore(store)
    yield blocking
    blocking.release.set()


def test_a_full_write_queue_answers_503_with_retry_after_and_stays_bounded(
    blocking_store: BlockingStore, store: Store, tmp_path: Path
) -> None:
    """Spans per request 5, queue bound 20: one batch is being written (blocked), four wait,
    and every further request is refused at once instead of queuing."""
    settings = make_settings(tmp_path, queue_max_spans=20, write_batch_spans=5)
    app = create_app(settings, blocking_store)  # type: ignore[arg-type]
    bodies = [protobuf_body(*(span(10 * n + k + 1) for k in range(5))) for n in range(12)]
    with TestClient(app) as client, ThreadPoolExecutor(max_workers=12) as pool:
        first = pool.submit(post, client, bodies[0])
        assert blocking_store.writing.wait(timeout=10)
        waiting = [pool.submit(post, client, body) for body in bodies[1:5]]
        writer = app.state.services.writer
        deadline = time.monotonic() + 10
        while writer.pending_spans < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        refused = [post(client, body) for body in bodies[5:]]
        assert time.monotonic() - started < 5
        assert writer.pending_spans == 20
        blocking_store.release.set()
        answered = [first.result(timeout=30)] + [f.result(timeout=30) for f in waiting]
    assert [r.status_code for r in answered] == [200] * 5
    for response in refused:
        assert_error(response, 503)
        assert int(response.headers["Retry-After"]) >= 1
    stored = store.list_observations(project_of(store), TRACE)
    assert len(stored) == 25
