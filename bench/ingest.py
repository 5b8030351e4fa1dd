"""One end-to-end ingest run: a fresh `skein serve`, every client's requests, then checks.

The clock runs from the first request sent to the last answer received; since a 2xx means
the spans are committed (group commit) and their traces and sessions refolded in the same
transaction, everything is queryable at that moment. The counts are then read back from the
database and compared with what the workload holds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bench.cache import Workload
from bench.load import LoadResult, run_load
from bench.machine import process_cpu_seconds
from bench.queries import database_scale
from bench.server import Server, basic_authorization


@dataclass(frozen=True)
class IngestResult:
    spans: int
    seconds: float
    server_cpu_seconds: float
    idle_rss_bytes: int
    peak_rss_bytes: int
    latency_p50_s: float
    latency_p99_s: float
    retries: int
    failures: list[str]
    expected: dict[str, int]
    stored: dict[str, int]

    @property
    def spans_per_second(self) -> float:
        return self.spans / self.seconds

    @property
    def cpu_us_per_span(self) -> float:
        return self.server_cpu_seconds / self.spans * 1e6

    @property
    def complete(self) -> bool:
        return not self.failures and self.stored == self.expected


def run_ingest(workload: Workload, server: Server) -> IngestResult:
    """Load `workload` into the (fresh, running) `server`."""
    idle_rss = server.rss_bytes()
    cpu_before = process_cpu_seconds(server.pid)
    files = [workload.client_file(c) for c in range(workload.spec.clients)]
    load: LoadResult = run_load(server.port, basic_authorization(), files)
    cpu = process_cpu_seconds(server.pid) - cpu_before
    totals = workload.totals
    expected = {"observations": totals.spans, "traces": totals.traces, "sessions": totals.sessions}
    return IngestResult(
        spans=load.spans,
        seconds=load.seconds,
        server_cpu_seconds=cpu,
        idle_rss_bytes=idle_rss,
        peak_rss_bytes=server.peak_rss_bytes(),
        latency_p50_s=load.latency_percentile(0.5),
        latency_p99_s=load.latency_percentile(0.99),
        retries=load.retries,
        failures=load.failures,
        expected=expected,
        stored=database_scale(server.database_path),
    )


def database_bytes(data_dir: Path) -> dict[str, int]:
    """Sizes of a stopped server's database files: the main file holds everything (the WAL
    is checkpointed); the WAL stays as a scratch file of at most `journal_size_limit`."""
    sizes = {"main": 0, "wal": 0, "shm": 0}
    for suffix in sizes:
        path = data_dir / ("skein.db" if suffix == "main" else f"skein.db-{suffix}")
        sizes[suffix] = path.stat().st_size if path.exists() else 0
    return sizes


def page_usage(path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return {
            name: connection.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_size", "page_count", "freelist_count")
        }
