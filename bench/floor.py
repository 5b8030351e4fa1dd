"""The in-process floor: the least work that gets the same spans into SQLite.

The same request bodies are decoded by Skein's own decoder (gunzip, protobuf, `Span`
records), then each span's fields and its raw input/output attributes go into a table with
the observations table's columns and primary key through one plain `executemany` per
request, one transaction each, on a connection with the server's writer PRAGMAs (page size,
WAL, synchronous) except that SQLite checkpoints the WAL itself, as it does by default. No
HTTP, no mapping (types, usage, metadata), no JSON, no compression, no rollups, no secondary
indexes. The server's ingest rate divided by this one is the "ratio to floor".
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bench.workload import Batch
from skein.ingest.otlp import decode_request
from skein.records import Span
from skein.store.sqlite import OBSERVATION_COLUMNS, WRITER_PRAGMAS

PROJECT_ID = "floor"
INPUT_KEY = "langfuse.observation.input"
OUTPUT_KEY = "langfuse.observation.output"
MAX_DECODED_BYTES = 1 << 30
SQLITE_DEFAULT_AUTOCHECKPOINT = 1000  # pages


@dataclass(frozen=True)
class FloorResult:
    spans: int
    seconds: float
    database_bytes: int

    @property
    def spans_per_second(self) -> float:
        return self.spans / self.seconds


def measure_floor(batches: list[Batch], directory: Path) -> FloorResult:
    """Decode and insert `batches` (already in memory) into a fresh database."""
    path = directory / "floor.db"
    connection = _open(path)
    insert = _insert_statement()
    spans = 0
    started = time.perf_counter()
    for batch in batches:
        decoded = decode_request(
            batch.body, "application/x-protobuf", "gzip", max_decoded_bytes=MAX_DECODED_BYTES
        )
        rows = [_row(span) for span in decoded.spans]
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(insert, rows)
        connection.execute("COMMIT")
        spans += len(rows)
    seconds = time.perf_counter() - started
    connection.close()
    return FloorResult(spans, seconds, _database_bytes(path))


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in WRITER_PRAGMAS:
        connection.execute(pragma)
    connection.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_DEFAULT_AUTOCHECKPOINT}")
    columns = ", ".join(("project_id", *OBSERVATION_COLUMNS))
    connection.execute(
        f"CREATE TABLE observations ({columns}, PRIMARY KEY (project_id, trace_id, id))"
    )
    return connection


def _insert_statement() -> str:
    count = len(OBSERVATION_COLUMNS) + 1
    return f"INSERT INTO observations VALUES ({', '.join('?' * count)})"


def _row(span: Span) -> tuple[object, ...]:
    """The span's own fields where the observation has them; everything mapped is left empty."""
    values: dict[str, object] = {
        "trace_id": span.trace_id, "id": span.span_id, "parent_id": span.parent_span_id,
        "is_root": span.parent_span_id is None, "name": span.name, "type": "SPAN",
        "start_ns": span.start_ns, "end_ns": span.end_ns, "level": "DEFAULT",
        "environment": "default", "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
        "trace_tags": "[]", "trace_metadata": "{}", "usage": "{}", "cost": "{}",
        "metadata": "{}", "input": span.attributes.get(INPUT_KEY),
        "output": span.attributes.get(OUTPUT_KEY),
    }  # fmt: skip
    return (PROJECT_ID, *(values.get(column) for column in OBSERVATION_COLUMNS))


def _database_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
