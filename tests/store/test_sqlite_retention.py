"""SQLite reuses the space that deletes free: the database file does not grow when deleted
traces are replaced by as many new ones (so retention keeps a database's size bounded without
VACUUM or auto_vacuum)."""

from __future__ import annotations

import base64
import random
import sqlite3
from pathlib import Path

from skein.records import MappedBatch
from skein.store import open_store
from skein.store.base import Store
from tests.store.factories import PROJECT_ID, START_NS, make_observation

TRACES = 150
TEXT_BYTES = 12_000


def ingest(store: Store, generation: int, rng: random.Random) -> list[str]:
    """TRACES traces of one span each, with input text that does not compress."""
    ids = [f"{generation:08x}{n:024x}" for n in range(TRACES)]
    observations = tuple(
        make_observation(
            trace_id=trace_id,
            id=f"{n + 1:016x}",
            start_ns=START_NS + n,
            input=base64.b64encode(rng.randbytes(TEXT_BYTES)).decode(),
        )
        for n, trace_id in enumerate(ids)
    )
    for start in range(0, TRACES, 50):
        store.write([MappedBatch(PROJECT_ID, observations[start : start + 50])])
    return ids


def file_pages(path: Path) -> tuple[int, int]:
    """(pages in the file, pages on the freelist), read after every connection has closed."""
    connection = sqlite3.connect(path)
    try:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
        return pages, free
    finally:
        connection.close()


def test_deleted_space_is_reused_by_later_writes(tmp_path: Path) -> None:
    path = tmp_path / "skein.db"
    rng = random.Random(7)
    store = open_store(f"sqlite:///{path}")
    first = ingest(store, 1, rng)
    store.close()  # the last connection checkpoints the WAL into the file
    full_pages, _ = file_pages(path)

    store = open_store(f"sqlite:///{path}")
    assert store.delete_traces(PROJECT_ID, first) == TRACES
    store.close()
    pages_after_delete, free_after_delete = file_pages(path)
    assert pages_after_delete == full_pages  # deleting does not shrink the file...
    assert free_after_delete > full_pages // 2  # ...it puts the pages on the freelist

    store = open_store(f"sqlite:///{path}")
    ingest(store, 2, rng)
    store.close()
    pages_after_reuse, free_after_reuse = file_pages(path)
    assert pages_after_reuse <= full_pages * 1.05  # the new traces took the freed pages
    assert free_after_reuse < free_after_delete // 10
