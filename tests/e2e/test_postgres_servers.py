"""Several `skein serve` processes on one PostgreSQL database.

Spans of the same traces and sessions reach two server processes at once, from several
client threads; every trace and session stored must equal the fold, from scratch, of the
observations stored. Then: readiness, `--workers 2`, and a SIGTERM that drains the queue.
"""

from __future__ import annotations

import base64
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from skein.fold import fold_session, fold_trace
from skein.store.postgres import PostgresStore
from tests.e2e.conftest import (
    PUBLIC_KEY,
    SECRET_KEY,
    Server,
    clean_environment,
    free_port,
    server_command,
    stop,
    tail,
    wait_until_healthy,
)
from tests.otlp_bodies import BASE_NS, SpanSpec, protobuf_body

pytestmark = pytest.mark.e2e

TRACES = 24
SPANS_PER_TRACE = 6
SESSIONS = 5
CLIENT_THREADS = 6
AUTHORIZATION = "Basic " + base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextmanager
def postgres_server(
    database_url: str, directory: Path, *extra: str
) -> Iterator[tuple[Server, subprocess.Popen[bytes]]]:
    """`skein serve` (with extra flags) on the database; stopped by SIGTERM on exit."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    server = Server(f"http://127.0.0.1:{port}", directory, directory / "server.log")
    environment = clean_environment(
        {"SKEIN_DATABASE_URL": database_url, "SKEIN_INIT_PUBLIC_KEY": PUBLIC_KEY,
         "SKEIN_INIT_SECRET_KEY": SECRET_KEY, "SKEIN_DATA_DIR": str(directory)}
    )  # fmt: skip
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            [*server_command(port), *extra], env=environment, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until_healthy(process, server)
            yield server, process
        finally:
            stop(process)
    assert "Traceback" not in server.log_path.read_text(errors="replace"), tail(server.log_path)


def trace_id(number: int) -> str:
    return f"{number + 1:032x}"


def spans_of(number: int) -> list[SpanSpec]:
    """A trace's spans: a root with the session and children with tokens and an error."""
    root = f"{number + 1:08x}00000001"
    spans = [
        SpanSpec(
            trace_id(number),
            root,
            name="turn",
            start_ns=BASE_NS + number * 1000,
            end_ns=BASE_NS + number * 1000 + 10_000,
            attributes={"session.id": f"s{number % SESSIONS}", "user.id": "u1"},
        )
    ]
    for child in range(2, SPANS_PER_TRACE + 1):
        start = BASE_NS + number * 1000 + child * 10
        spans.append(SpanSpec(
            trace_id(number), f"{number + 1:08x}{child:08x}", parent_id=root, name=f"step{child}",
            start_ns=start, end_ns=start + 5_000 + child, status_code=2 if child == 3 else 0,
            attributes={"gen_ai.usage.input_tokens": child, "gen_ai.usage.output_tokens": 1},
        ))  # fmt: skip
    return spans


def post(base_url: str, spans: Sequence[SpanSpec]) -> int:
    request = urllib.request.Request(
        base_url + "/api/public/otel/v1/traces", data=protobuf_body(*spans), method="POST",
        headers={"Authorization": AUTHORIZATION, "Content-Type": "application/x-protobuf"},
    )  # fmt: skip
    with DIRECT.open(request, timeout=60) as response:
        status: int = response.status
        return status


def get_status(url: str) -> int:
    try:
        with DIRECT.open(url, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def interleaved_requests(base_urls: Sequence[str]) -> list[tuple[str, list[SpanSpec]]]:
    """Each span alone, alternating between the servers, in a shuffled order."""
    requests = []
    for number in range(TRACES):
        for index, span in enumerate(spans_of(number)):
            requests.append((base_urls[(number + index) % len(base_urls)], [span]))
    random.Random(7).shuffle(requests)
    return requests


def send_all(requests: Sequence[tuple[str, list[SpanSpec]]]) -> list[int]:
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        return list(pool.map(lambda item: post(*item), requests))


def assert_rollups_are_exact(database_url: str, complete: bool = True) -> set[tuple[str, str]]:
    """Every stored trace and session equals the from-scratch fold of what is stored (and,
    when `complete`, everything was stored); the (trace id, span id) pairs stored."""
    store = PostgresStore(database_url, pool_size=2)
    try:
        key = store.find_key(PUBLIC_KEY)
        assert key is not None
        project = key.project_id
        stored: set[tuple[str, str]] = set()
        traces = store.list_traces(project, limit=1000)
        assert len(traces) == TRACES or not complete
        for trace in traces:
            observations = store.list_observations(project, trace.trace_id)
            assert len(observations) == SPANS_PER_TRACE or not complete
            assert trace == fold_trace(observations)
            stored |= {(o.trace_id, o.id) for o in observations}
        sessions = store.list_sessions(project, limit=1000)
        assert len(sessions) == SESSIONS or not complete
        for session in sessions:
            members = store.list_traces(project, session_id=session.session_id, limit=1000)
            assert session == fold_session(session.session_id, members)
            expected = len(range(int(session.session_id[1:]), TRACES, SESSIONS))
            assert session.trace_count == expected or not complete
        return stored
    finally:
        store.close()


def test_two_servers_interleaving_spans_of_shared_traces_keep_exact_rollups(
    postgres_url: str, tmp_path: Path
) -> None:
    with postgres_server(postgres_url, tmp_path / "a") as (first, _):
        with postgres_server(postgres_url, tmp_path / "b") as (second, _):
            assert get_status(second.base_url + "/api/public/ready") == 200
            statuses = send_all(interleaved_requests([first.base_url, second.base_url]))

    assert set(statuses) == {200}
    assert_rollups_are_exact(postgres_url)


def test_workers_share_one_port_and_the_rollups(postgres_url: str, tmp_path: Path) -> None:
    with postgres_server(postgres_url, tmp_path / "w", "--workers", "2") as (server, _):
        assert get_status(server.base_url + "/api/public/ready") == 200
        statuses = send_all(interleaved_requests([server.base_url]))

    assert set(statuses) == {200}
    assert_rollups_are_exact(postgres_url)


def test_sigterm_commits_every_request_it_accepted(postgres_url: str, tmp_path: Path) -> None:
    accepted: list[SpanSpec] = []
    lock = threading.Lock()

    def send(url: str, spans: list[SpanSpec]) -> None:
        try:
            if post(url, spans) == 200:
                with lock:
                    accepted.extend(spans)
        except OSError:  # refused or 503 once the server is stopping
            pass

    with postgres_server(postgres_url, tmp_path / "t") as (server, process):
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            for url, spans in interleaved_requests([server.base_url]):
                pool.submit(send, url, spans)
            deadline = time.monotonic() + 30
            while len(accepted) < TRACES and time.monotonic() < deadline:
                time.sleep(0.001)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    # uvicorn exits by re-raising the signal once its lifespan shutdown has finished.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "write queue drained" in server.log_path.read_text(errors="replace")
    assert accepted
    stored = assert_rollups_are_exact(postgres_url, complete=False)
    assert {(s.trace_id, s.span_id) for s in accepted} <= stored
