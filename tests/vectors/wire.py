"""The captured Langfuse SDK span exports, re-encoded as the bytes that went over the wire.

Each capture file under `langfuse-wire/{python,js}/` records the requests one SDK scenario
sent. The capture holds the decoded body, not the raw bytes, so this module rebuilds them:
Python requests (OTLP protobuf) from `otlp` through protobuf's JSON mapping, JS requests
(OTLP/JSON) from `json`, gzipped again when the captured headers said so.

    for request in wire_requests("python"):
        decoded = decode_request(request.body, request.content_type, request.content_encoding,
                                 max_decoded_bytes=...)
        assert len(decoded.spans) == len(request.spans)

Only OTLP trace exports are returned; the captures' other requests (scores, prompts, reads)
are not.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

VECTORS_DIR = Path(__file__).parent / "langfuse-wire"
SDKS = ("python", "js")
TRACES_PATH_SUFFIX = "/v1/traces"


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One captured OTLP export request, with its body as the SDK sent it."""

    sdk: str
    scenario: str  # the capture file's name without `.json`, e.g. "n_batching"
    seq: int  # the request's position in its capture (1-based)
    body: bytes
    content_type: str | None
    content_encoding: str | None
    headers: Mapping[str, str]
    # The capture's own flattened view of every span: hex ids (`parentSpanId` None for a
    # root), `attributes` as plain values, `events`, `scope`, `resourceAttributes`.
    spans: tuple[Mapping[str, Any], ...]

    @property
    def id(self) -> str:
        """A short, unique name for test ids: `python/a_observe_update_current_trace#1`."""
        return f"{self.sdk}/{self.scenario}#{self.seq}"

    def header(self, name: str) -> str | None:
        """A captured header, looked up case-insensitively."""
        return header(self.headers, name)


def capture_files(sdk: str) -> list[Path]:
    """The capture files of one SDK (`"python"` or `"js"`), sorted by name."""
    if sdk not in SDKS:
        raise ValueError(f"unknown SDK {sdk!r}; expected one of {SDKS}")
    return sorted((VECTORS_DIR / sdk).glob("*.json"))


def wire_requests(sdk: str) -> list[WireRequest]:
    """Every OTLP trace export one SDK made, across all its capture files, in capture order."""
    requests: list[WireRequest] = []
    for path in capture_files(sdk):
        capture = json.loads(path.read_text(encoding="utf-8"))
        for index, raw in enumerate(capture["requests"]):
            if is_trace_export(raw):
                requests.append(wire_request(sdk, path.stem, index + 1, raw))
    return requests


def all_wire_requests() -> list[WireRequest]:
    """`wire_requests` for every SDK."""
    return [request for sdk in SDKS for request in wire_requests(sdk)]


def is_trace_export(raw: Mapping[str, Any]) -> bool:
    return raw.get("method") == "POST" and str(raw.get("path", "")).endswith(TRACES_PATH_SUFFIX)


def wire_request(sdk: str, scenario: str, seq: int, raw: Mapping[str, Any]) -> WireRequest:
    """One captured request (an item of a capture's `requests`) as a WireRequest."""
    headers: Mapping[str, str] = raw["headers"]
    content_encoding = header(headers, "content-encoding")
    body = encode_body(raw)
    if content_encoding is not None and content_encoding.lower() == "gzip":
        body = gzip.compress(body, mtime=0)
    return WireRequest(
        sdk=sdk,
        scenario=scenario,
        seq=seq,
        body=body,
        content_type=header(headers, "content-type"),
        content_encoding=content_encoding,
        headers=headers,
        spans=tuple(raw.get("spans", ())),
    )


def encode_body(raw: Mapping[str, Any]) -> bytes:
    """The uncompressed body: protobuf from `otlp`, else the OTLP/JSON text of `json`."""
    if "otlp" in raw:
        message = ParseDict(raw["otlp"], ExportTraceServiceRequest())
        data: bytes = message.SerializeToString()
        return data
    return json.dumps(raw["json"]).encode()


def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
