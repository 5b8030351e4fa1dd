"""Slow and idle clients against a real server: a body that stalls gets 408 in the error
shape and its connection closed, an idle keep-alive connection is closed, and past
`SKEIN_LIMIT_CONCURRENCY` connections new requests get 503 at once."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.e2e.conftest import PUBLIC_KEY, SECRET_KEY
from tests.reliability.servers import ServerProcess, SQLiteBackend, server_process

pytestmark = pytest.mark.e2e

BODY_TIMEOUT_SECONDS = 1
KEEP_ALIVE_SECONDS = 1
LIMIT_CONCURRENCY = 4
OTLP = "/api/public/otel/v1/traces"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    settings = {
        "SKEIN_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS),
        "SKEIN_KEEP_ALIVE_SECONDS": str(KEEP_ALIVE_SECONDS),
        "SKEIN_LIMIT_CONCURRENCY": str(LIMIT_CONCURRENCY),
    }
    with server_process(SQLiteBackend(), tmp_path_factory.mktemp("flow"), **settings) as running:
        yield running


def connect(server: ServerProcess) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return connection


def stalled_post(
    server: ServerProcess,
    sent: bytes = b"\x0a\x00",
    path: str = OTLP,
    content_type: str = "application/x-protobuf",
    method: str = "POST",
) -> socket.socket:
    """A request that promises 1000 body bytes and sends only `sent`."""
    token = base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: 1000\r\n\r\n"
    )
    connection = connect(server)
    connection.sendall(head.encode() + sent)
    return connection


def read_until_closed(connection: socket.socket, seconds: float) -> bytes:
    connection.settimeout(seconds)
    received = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return received
        received += chunk


def test_a_body_that_stalls_gets_408_in_the_error_shape(server: ServerProcess) -> None:
    started = time.monotonic()
    with stalled_post(server) as connection:
        answer = read_until_closed(connection, seconds=10)
    elapsed = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    error = json.loads(body)
    assert error["error"]["code"] == "request_timeout" and error["message"]
    assert BODY_TIMEOUT_SECONDS <= elapsed < BODY_TIMEOUT_SECONDS + 3


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "/login", "application/x-www-form-urlencoded"),  # before any login
        ("DELETE", "/api/public/traces", "application/json"),
        ("POST", "/api/public/skein/sessions/rename", "application/json"),
        ("POST", "/api/public/ingestion", "application/json"),
    ],
)
def test_every_route_that_reads_a_body_answers_408_when_it_stalls(
    server: ServerProcess, method: str, path: str, content_type: str
) -> None:
    started = time.monotonic()
    with stalled_post(server, b"x", path, content_type, method) as connection:
        answer = read_until_closed(connection, seconds=10)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < BODY_TIMEOUT_SECONDS + 3


def test_an_idle_keep_alive_connection_is_closed(server: ServerProcess) -> None:
    with connect(server) as connection:
        connection.sendall(b"GET /api/public/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        connection.settimeout(5)
        answer = b""
        while not answer.endswith(b"}"):
            answer += connection.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert read_until_closed(connection, seconds=10) == b""
    assert time.monotonic() - started < KEEP_ALIVE_SECONDS + 3


def test_past_the_concurrency_limit_requests_get_503_at_once(server: ServerProcess) -> None:
    """uvicorn counts the new connection too: the limit is reached with one fewer open."""
    with ExitStack() as stack:
        for _ in range(LIMIT_CONCURRENCY - 1):
            stack.enter_context(stalled_post(server))
        time.sleep(0.2)
        started = time.monotonic()
        with connect(server) as extra:
            extra.sendall(b"GET /api/public/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            extra.settimeout(5)
            answer = extra.recv(65536)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert time.monotonic() - started < 1
    time.sleep(BODY_TIMEOUT_SECONDS + 0.5)  # the stalled requests have timed out and gone
    with connect(server) as again:
        again.sendall(b"GET /api/public/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        again.settimeout(5)
        assert again.recv(65536).startswith(b"HTTP/1.1 200")


def test_the_server_log_holds_no_traceback(server: ServerProcess, tmp_path: Path) -> None:
    assert "Traceback" not in server.log()
