from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from skein.errors import Overloaded
from skein.ingest.writer import BatchWriter
from skein.records import MappedBatch, Observation


class RecordingStore:
    """A store double that records each transaction and can refuse chosen batches."""

    def __init__(self, refuse: str | None = None, gate: threading.Event | None = None) -> None:
        self.transactions: list[list[str]] = []
        self.refuse = refuse
        self.gate = gate

    def write(self, batches: Sequence[MappedBatch]) -> None:
        if self.gate is not None:
            self.gate.wait(5)
        names = [b.project_id for b in batches]
        if self.refuse in names:
            raise ValueError("refused")
        self.transactions.append(names)


def make_batch(name: str, spans: int = 1) -> MappedBatch:
    observations = tuple(
        Observation(
            id=f"{i:016x}",
            trace_id="1" * 32,
            parent_id=None,
            is_root=True,
            name="s",
            type="SPAN",
            start_ns=1,
            end_ns=2,
        )
        for i in range(spans)
    )
    return MappedBatch(project_id=name, observations=observations)


def wait_until_taken(writer: BatchWriter) -> None:
    """Wait until the writer thread has taken everything queued (it may block in the store)."""
    deadline = time.monotonic() + 5
    while writer.pending_spans and time.monotonic() < deadline:
        time.sleep(0.001)
    assert writer.pending_spans == 0


def make_writer(store: RecordingStore, max_spans: int = 100, batch_spans: int = 50) -> BatchWriter:
    return BatchWriter(store, max_spans=max_spans, batch_spans=batch_spans)  # type: ignore[arg-type]


def test_futures_resolve_after_the_write() -> None:
    store = RecordingStore()
    writer = make_writer(store)
    writer.submit(make_batch("a")).result(5)
    assert store.transactions == [["a"]]
    writer.close()


def test_waiting_batches_share_one_transaction() -> None:
    gate = threading.Event()
    store = RecordingStore(gate=gate)
    writer = make_writer(store)
    first = writer.submit(make_batch("first"))
    wait_until_taken(writer)
    futures = [writer.submit(make_batch(name)) for name in "bcd"]
    gate.set()
    for future in [first, *futures]:
        future.result(5)
    assert store.transactions[-1] == ["b", "c", "d"]
    writer.close()


def test_a_refused_batch_fails_alone() -> None:
    gate = threading.Event()
    store = RecordingStore(refuse="bad", gate=gate)
    writer = make_writer(store)
    blocker = writer.submit(make_batch("blocker"))
    wait_until_taken(writer)
    good, bad, other = (writer.submit(make_batch(n)) for n in ("good", "bad", "other"))
    gate.set()
    blocker.result(5)
    good.result(5)
    other.result(5)
    with pytest.raises(Overloaded):
        bad.result(5)
    assert ["good"] in store.transactions and ["other"] in store.transactions
    writer.close()


def test_full_queue_refuses_with_retry_after() -> None:
    gate = threading.Event()
    writer = make_writer(RecordingStore(gate=gate), max_spans=10)
    writer.submit(make_batch("in-flight", 5))
    wait_until_taken(writer)
    writer.submit(make_batch("waiting", 8))
    with pytest.raises(Overloaded) as refused:
        writer.submit(make_batch("over", 5))
    assert refused.value.headers()["Retry-After"]
    gate.set()
    writer.close()


def test_one_batch_larger_than_the_queue_is_still_taken_when_idle() -> None:
    writer = make_writer(RecordingStore(), max_spans=10)
    writer.submit(make_batch("big", 20)).result(5)
    writer.close()


def test_close_writes_what_is_queued_then_refuses() -> None:
    gate = threading.Event()
    store = RecordingStore(gate=gate)
    writer = make_writer(store)
    futures = [writer.submit(make_batch(n)) for n in "xyz"]
    gate.set()
    writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    with pytest.raises(Overloaded):
        writer.submit(make_batch("late"))


def test_flush_waits_for_everything_submitted() -> None:
    store = RecordingStore()
    writer = make_writer(store)
    for name in "abc":
        writer.submit(make_batch(name))
    assert writer.flush(5)
    assert sum(len(t) for t in store.transactions) == 3
    writer.close()
