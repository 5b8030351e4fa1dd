"""A bounded soak run: steady ingestion and reads against a real server on loopback for about
a minute, sampling the server's resident memory and open file descriptors from /proc. After a
warm-up (caches fill, pools open) neither may keep growing.

The ingested spans come from a fixed pool (re-sent spans are upserts), so the database — and
with it SQLite's page cache — stops growing early: what grows after that would be a leak.
"""

from __future__ import annotations

import base64
import random
import statistics
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PUBLIC_KEY, SECRET_KEY
from tests.otlp_bodies import BASE_NS, SpanSpec, protobuf_body
from tests.reliability.servers import ServerProcess, SQLiteBackend, server_process

pytestmark = pytest.mark.e2e

SOAK_SECONDS = 60.0
WARM_UP_SECONDS = 20.0
SAMPLE_SECONDS = 0.5
PAUSE_SECONDS = 0.01
TRACES = 150
SPANS_PER_TRACE = 5
MIB = 1024 * 1024
# Allowed growth after the warm-up, judged on the trend (least squares over the samples).
RSS_GROWTH_BYTES = 12 * MIB
FD_GROWTH = 8


def authorization() -> dict[str, str]:
    token = base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def trace_body(rng: random.Random) -> bytes:
    """All spans of one trace of the pool, root last; the same ids every time."""
    index = rng.randrange(TRACES)
    trace_id = f"50a4{index:028x}"
    start = BASE_NS + index * 10**9
    children = [
        SpanSpec(
            trace_id,
            f"{index:08x}{n:08x}",
            f"{index:08x}{0:08x}",
            "llm",
            {"gen_ai.usage.input_tokens": n + 1, "langfuse.observation.input": "q" * 800},
            start + n,
            start + n + 10**6,
        )  # fmt: skip
        for n in range(1, SPANS_PER_TRACE)
    ]
    root = SpanSpec(
        trace_id, f"{index:08x}{0:08x}", None, "turn", {"session.id": f"soak-{index % 20}"},
        start, start + 10**7,
    )  # fmt: skip
    return protobuf_body(*children, root)


@dataclass
class Load:
    base_url: str
    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def ingest(self, seed: int) -> None:
        rng = random.Random(seed)
        headers = {**authorization(), "Content-Type": "application/x-protobuf"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as client:
            while not self.stop.is_set():
                response = client.post("/api/public/otel/v1/traces", content=trace_body(rng))
                self.record(response.status_code, "ingest")
                time.sleep(PAUSE_SECONDS)

    def read(self, seed: int) -> None:
        """Reads on a new connection each time (a leaked socket would show in the fds)."""
        rng = random.Random(seed)
        paths = [
            "/api/public/sessions?limit=20",
            "/api/public/traces?limit=20",
            "/api/public/observations?limit=20",
            "/sessions",
        ]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while not self.stop.is_set():
            path = rng.choice(paths + [f"/api/public/traces/50a4{rng.randrange(TRACES):028x}"])
            request = urllib.request.Request(self.base_url + path, headers=authorization())
            try:
                with opener.open(request, timeout=30) as response:
                    response.read()
                    self.record(response.status, path)
            except urllib.error.HTTPError as error:
                self.record(error.code, path)
            time.sleep(PAUSE_SECONDS)

    def record(self, status: int, what: str) -> None:
        self.requests += 1
        if status not in (200, 404):  # 404: a trace of the pool not sent yet
            self.failures.append(f"{what}: {status}")


def process_sample(pid: int) -> tuple[int, int]:
    """(resident bytes, open file descriptors) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
    )
    return rss_kib * 1024, len(list(Path(f"/proc/{pid}/fd").iterdir()))


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares growth per second."""
    times = [t for t, _ in points]
    values = [v for _, v in points]
    return statistics.linear_regression(times, values).slope


def run_load(
    server: ServerProcess, sample: Callable[[], tuple[int, int]]
) -> list[tuple[float, int, int]]:
    load = Load(server.server.base_url)
    workers = [threading.Thread(target=load.ingest, args=(n,)) for n in range(2)]
    workers += [threading.Thread(target=load.read, args=(n + 10,)) for n in range(2)]
    for worker in workers:
        worker.start()
    samples: list[tuple[float, int, int]] = []
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < SOAK_SECONDS:
            samples.append((elapsed, *sample()))
            time.sleep(SAMPLE_SECONDS)
    finally:
        load.stop.set()
        for worker in workers:
            worker.join(timeout=60)
    assert not load.failures, load.failures[:10]
    assert load.requests > 1000, f"only {load.requests} requests: the load did not run"
    return samples


def test_memory_and_open_files_stay_flat_under_steady_load(tmp_path: Path) -> None:
    with server_process(SQLiteBackend(), tmp_path / "data") as server:
        samples = run_load(server, lambda: process_sample(server.pid))
        assert "Traceback" not in server.log()
    settled = [(t, rss, fds) for t, rss, fds in samples if t >= WARM_UP_SECONDS]
    span = settled[-1][0] - settled[0][0]
    rss_growth = slope([(t, rss) for t, rss, _ in settled]) * span
    fd_counts = [fds for _, _, fds in settled]
    report = (
        f"RSS {samples[0][1] // MIB} MiB at start, {settled[0][1] // MIB} MiB after warm-up,"
        f" {settled[-1][1] // MIB} MiB at the end; trend {rss_growth / MIB:+.1f} MiB over"
        f" {span:.0f}s; fds {min(fd_counts)}..{max(fd_counts)}"
    )
    print(report)
    assert rss_growth < RSS_GROWTH_BYTES, report
    assert max(fd_counts) - min(fd_counts) <= FD_GROWTH, report
