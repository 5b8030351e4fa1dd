"""The single batch writer: group commit behind a bounded queue.

Request handlers submit a `MappedBatch` and await its future. One thread takes everything
that is waiting (up to `batch_spans` spans), writes it in one transaction, and resolves the
futures only after the commit — so a 2xx always means committed. While one transaction is
being written, new requests queue up and share the next one. When more than `max_spans`
spans are waiting, `submit` refuses with `Overloaded` (503 + Retry-After) instead of
growing memory.

If a group's transaction fails, each batch is retried alone, so one bad request cannot
take its neighbours down with it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future

from skein.errors import Overloaded
from skein.records import MappedBatch
from skein.store.base import Store

logger = logging.getLogger(__name__)

_Item = tuple[MappedBatch, "Future[None]"]


class BatchWriter:
    def __init__(self, store: Store, *, max_spans: int, batch_spans: int) -> None:
        self._store = store
        self._max_spans = max_spans
        self._batch_spans = batch_spans
        self._pending: deque[_Item] = deque()
        self._pending_spans = 0
        self._in_flight = 0
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="skein-writer", daemon=True)
        self._thread.start()

    @property
    def pending_spans(self) -> int:
        with self._cond:
            return self._pending_spans

    def submit(self, batch: MappedBatch) -> Future[None]:
        future: Future[None] = Future()
        size = batch.size
        with self._cond:
            if self._closed:
                raise Overloaded("server is shutting down", retry_after=5)
            if self._pending_spans and self._pending_spans + size > self._max_spans:
                raise Overloaded(
                    f"write queue is full ({self._pending_spans} spans waiting)", retry_after=2
                )
            self._pending.append((batch, future))
            self._pending_spans += size
            self._cond.notify()
        return future

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is written."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._pending and not self._in_flight, timeout=timeout
            )

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop taking work, write what is queued, and stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("the writer did not drain its queue within %ss", timeout)
        else:
            logger.info("write queue drained; writer stopped")

    def _run(self) -> None:
        while True:
            group = self._take()
            if group is None:
                return
            self._write(group)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

    def _take(self) -> list[_Item] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._closed)
            if not self._pending:
                return None
            group: list[_Item] = []
            spans = 0
            while self._pending and (not group or spans < self._batch_spans):
                item = self._pending.popleft()
                group.append(item)
                spans += item[0].size
            self._pending_spans -= spans
            self._in_flight = len(group)
            return group

    def _write(self, group: Sequence[_Item]) -> None:
        try:
            self._store.write([batch for batch, _ in group])
        except Exception:
            if len(group) == 1:
                logger.exception("writing a batch failed")
                group[0][1].set_exception(_failure())
                return
            for item in group:
                self._write([item])
            return
        for _, future in group:
            future.set_result(None)


def _failure() -> Exception:
    return Overloaded(
        "the database could not store this batch; nothing of it was kept", retry_after=5
    )
