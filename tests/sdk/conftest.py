"""Fixtures for the SDK's in-process tests: a client exporting to memory, a loopback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from skein.sdk.client import Skein
from skein.sdk.processor import HoldLimits
from skein.sdk.registry import PROCESS


@dataclass
class Traced:
    """A client whose spans go to memory, with helpers to read them back."""

    client: Skein
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        self.client.flush()
        return list(self.exporter.get_finished_spans())

    def by_name(self) -> dict[str, ReadableSpan]:
        found = {span.name: span for span in self.spans()}
        return found

    def attributes(self) -> dict[str, Mapping[str, Any]]:
        return {name: dict(span.attributes or {}) for name, span in self.by_name().items()}


def make_traced(hold_limits: HoldLimits | None = None, **options: Any) -> Traced:
    """A fresh client (now the default one) exporting to an in-memory exporter."""
    exporter = InMemorySpanExporter()
    client = Skein(
        public_key="pk-test",
        secret_key="sk-test",
        span_exporter=exporter,
        hold_limits=hold_limits,
        **options,
    )
    return Traced(client, exporter)


@pytest.fixture
def traced() -> Iterator[Traced]:
    PROCESS.forget_warnings()
    made = make_traced()
    yield made
    made.client.shutdown()


def session_ids(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    return {span.name: (span.attributes or {}).get("session.id") for span in spans}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class LoopbackServer:
    """An HTTP server on 127.0.0.1 that records requests and answers with canned replies."""

    base_url: str
    requests: list[Recorded] = field(default_factory=list)
    replies: dict[str, tuple[int, Any]] = field(default_factory=dict)
    received: threading.Event = field(default_factory=threading.Event)


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = raw
            if self.headers.get("Content-Type") == "application/json":
                body = json.loads(raw)
            path = self.path.split("?")[0]
            headers = {name.lower(): value for name, value in self.headers.items()}
            server.requests.append(Recorded(self.command, path, headers, body))
            status, reply = server.replies.get(path, (404, {"message": "not found"}))
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            server.received.set()

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    http = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: None)  # type: ignore[arg-type]
    server = LoopbackServer(base_url=f"http://127.0.0.1:{http.server_address[1]}")
    http.RequestHandlerClass = _handler_for(server)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield server
    http.shutdown()
    http.server_close()
    thread.join(5)
