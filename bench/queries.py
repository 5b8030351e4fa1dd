"""Query latencies against the running server: the public API and the session page.

Each query is sent `repeat` times (after two warm-up requests) on one keep-alive
connection; the figures are the median and the 95th percentile of the wall time from
sending the request to reading the whole answer. The baseline is the same round trip to
`GET /api/public/health`, which touches no data (the HTTP floor).
"""

from __future__ import annotations

import http.client
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.server import Server, basic_authorization
from bench.workload import BIG_TRACE_SESSION, HUNDRED_SESSION, REPLAY_SESSION

SESSION_SORTS = (
    "lastActivity", "firstActivity", "totalCost", "totalTokens", "duration", "traceCount",
    "errors",
)  # fmt: skip
WARM_UP = 2
SESSIONS_PAGE = "/api/public/sessions?limit=50"


@dataclass(frozen=True)
class Timing:
    name: str
    path: str
    status: int
    p50_ms: float
    p95_ms: float
    bytes: int
    target_ms: float | None = None

    @property
    def ok(self) -> bool | None:
        if self.target_ms is None or self.status != 200:
            return None if self.status == 200 else False
        return self.p95_ms <= self.target_ms


@dataclass(frozen=True)
class QueryReport:
    scale: dict[str, int]
    timings: list[Timing]


def measure_queries(server: Server, repeat: int) -> QueryReport:
    scale = database_scale(server.database_path)
    big_trace = _big_trace_id(server.database_path)
    plan: list[tuple[str, str, float | None]] = [("health (baseline)", "/api/public/health", None)]
    plan += [
        (f"session list, first page, {sort}", f"{SESSIONS_PAGE}&orderBy={sort}.desc", 20.0)
        for sort in SESSION_SORTS
    ]
    plan += [
        ("one session with 100 traces", f"/api/public/sessions/{HUNDRED_SESSION}", 50.0),
        ("one trace with 200 observations", f"/api/public/traces/{big_trace}", 20.0),
        ("session replay page, 200 turns (UI)", f"/sessions/{REPLAY_SESSION}", 150.0),
    ]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        timings = [_time(connection, name, path, repeat, target) for name, path, target in plan]
    finally:
        connection.close()
    return QueryReport(scale, timings)


def _time(
    connection: http.client.HTTPConnection, name: str, path: str, repeat: int, target: float | None
) -> Timing:
    headers = {"Authorization": basic_authorization()}
    samples: list[float] = []
    status, size = 0, 0
    for index in range(WARM_UP + repeat):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        status, size = response.status, len(body)
        if index >= WARM_UP:
            samples.append(elapsed * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return Timing(name, path, status, statistics.median(samples), p95, size, target)


def database_scale(path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("observations", "traces", "sessions")
        }


def _big_trace_id(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        row = connection.execute(
            "SELECT trace_id FROM traces WHERE session_id = ? ORDER BY observation_count DESC",
            (BIG_TRACE_SESSION,),
        ).fetchone()
    return str(row[0]) if row else "missing"
