"""The load generator: one process per client, each sending its requests one after another.

Like an app's BatchSpanProcessor, a client sends a batch and waits for the answer before
the next. Clients are separate processes (not threads of the benchmark) so that reading
answers and sending bodies never competes with the benchmark's own work for the GIL; they
hold their pre-generated, pre-compressed bodies in memory, so during the run a client costs
only its socket writes and reads (a few percent of one core at full rate), leaving the two
cores to the server. A 429/503 is retried after its Retry-After, as OTLP exporters do.
"""

from __future__ import annotations

import http.client
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.queues import SimpleQueue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from bench.cache import read_batches
from bench.workload import request_headers

RETRY_STATUSES = (429, 503)
MAX_RETRIES = 20
REQUEST_TIMEOUT_S = 300.0
CLIENT_START_TIMEOUT_S = 300.0


@dataclass
class ClientResult:
    client: int
    requests: int = 0
    spans: int = 0
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    first_send_ns: int = 0
    last_answer_ns: int = 0
    latencies_s: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class LoadResult:
    clients: list[ClientResult]

    @property
    def spans(self) -> int:
        return sum(c.spans for c in self.clients)

    @property
    def seconds(self) -> float:
        started = [c for c in self.clients if c.requests]
        first = min(c.first_send_ns for c in started)
        last = max(c.last_answer_ns for c in started)
        return (last - first) / 1e9

    @property
    def failures(self) -> list[str]:
        return [f for c in self.clients for f in c.failures]

    @property
    def retries(self) -> int:
        return sum(c.retries for c in self.clients)

    def latency_percentile(self, fraction: float) -> float:
        values = sorted(v for c in self.clients for v in c.latencies_s)
        return values[min(len(values) - 1, int(fraction * len(values)))] if values else 0.0


def run_load(port: int, authorization: str, files: list[Path]) -> LoadResult:
    """Send every client's requests concurrently; returns when all are answered."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(files) + 1)
    results = context.SimpleQueue()
    processes = [
        context.Process(target=_client, args=(i, port, authorization, path, barrier, results))
        for i, path in enumerate(files)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=CLIENT_START_TIMEOUT_S)  # every client has loaded its bodies
        collected = [results.get() for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=REQUEST_TIMEOUT_S)
            if process.is_alive():
                process.terminate()
    return LoadResult(sorted(collected, key=lambda result: result.client))


def _client(
    client: int,
    port: int,
    authorization: str,
    path: Path,
    barrier: Barrier,
    results: SimpleQueue[ClientResult],
) -> None:
    try:
        results.put(_run_client(client, port, authorization, path, barrier))
    except BaseException as error:
        barrier.abort()
        results.put(ClientResult(client, failures=[f"client crashed: {error!r}"]))
        raise


def _run_client(
    client: int, port: int, authorization: str, path: Path, barrier: Barrier
) -> ClientResult:
    batches = list(read_batches(path))
    headers = request_headers(authorization)
    result = ClientResult(client)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    barrier.wait()
    result.first_send_ns = time.monotonic_ns()
    for batch in batches:
        started = time.monotonic()
        if _send(connection, batch.body, headers, result):
            result.spans += batch.spans
        result.requests += 1
        result.latencies_s.append(time.monotonic() - started)
    result.last_answer_ns = time.monotonic_ns()
    connection.close()
    return result


def _send(
    connection: http.client.HTTPConnection,
    body: bytes,
    headers: dict[str, str],
    result: ClientResult,
) -> bool:
    for _ in range(MAX_RETRIES):
        connection.request("POST", "/api/public/otel/v1/traces", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if 200 <= response.status < 300:
            return True
        if response.status not in RETRY_STATUSES:
            result.failures.append(f"{response.status}: {answer[:200]!r}")
            return False
        result.retries += 1
        time.sleep(float(response.getheader("Retry-After") or 1))
    result.failures.append("gave up after retries")
    return False
