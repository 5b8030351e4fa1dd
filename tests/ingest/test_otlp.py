"""Tests for skein.ingest.otlp: OTLP/HTTP bodies (protobuf and OTLP/JSON) into Span records."""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
import tracemalloc
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict, Parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from skein.errors import BadRequest, PayloadTooLarge, SkeinError, UnsupportedMediaType
from skein.ingest.otlp import decode_request, encode_response, is_json
from skein.records import DecodedRequest, Span
from tests.vectors.wire import WireRequest, all_wire_requests

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
LIMIT = 1 << 20

TRACE_A = "0af7651916cd43dd8448eb211c80319c"
TRACE_B = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_A = "b7ad6b7169203331"
SPAN_B = "00f067aa0ba902b7"
SPAN_C = "53995c3f42cd8ad8"
T0 = 1_795_251_205_692_360_288

HEX_TRACE_ID = re.compile(r"[0-9a-f]{32}")
HEX_SPAN_ID = re.compile(r"[0-9a-f]{16}")

CAPTURED = all_wire_requests()


# ── Factories: protobuf requests ──────────────────────────────────────────────────────


def any_value(value: object) -> Any:
    """A protobuf AnyValue for a plain Python value (None gives an empty AnyValue)."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(item) for item in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=key_values(value)))
    raise TypeError(f"no AnyValue for {value!r}")


def key_values(attributes: Mapping[str, object]) -> list[Any]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in attributes.items()]


def make_span(
    *,
    trace_id: str | bytes = TRACE_A,
    span_id: str | bytes = SPAN_A,
    parent_span_id: str | bytes = b"",
    name: str = "span",
    start_ns: int = T0,
    end_ns: int = T0 + 1_000,
    kind: int = ProtoSpan.SPAN_KIND_INTERNAL,
    status_code: int = Status.STATUS_CODE_UNSET,
    status_message: str = "",
    attributes: Mapping[str, object] | None = None,
    events: tuple[tuple[str, int, Mapping[str, object]], ...] = (),
) -> Any:
    """A protobuf Span; ids are hex strings, or raw bytes to send invalid ones."""
    return ProtoSpan(
        trace_id=_id_bytes(trace_id),
        span_id=_id_bytes(span_id),
        parent_span_id=_id_bytes(parent_span_id),
        name=name,
        kind=ProtoSpan.SpanKind.ValueType(kind),
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=key_values(attributes or {}),
        events=[
            ProtoSpan.Event(name=event_name, time_unix_nano=time_ns, attributes=key_values(attrs))
            for event_name, time_ns, attrs in events
        ],
        status=Status(code=Status.StatusCode.ValueType(status_code), message=status_message),
    )


def _id_bytes(value: str | bytes) -> bytes:
    return bytes.fromhex(value) if isinstance(value, str) else value


def make_request(
    *scopes: list[Any],
    resource_attributes: Mapping[str, object] | None = None,
    scope_name: str = "test-scope",
) -> Any:
    """One resource holding one scope per list of spans (scopes named scope_name-0, -1...)."""
    resource = ProtoResource(attributes=key_values(resource_attributes or {"service.name": "t"}))
    scope_spans = [
        ScopeSpans(
            scope=InstrumentationScope(
                name=f"{scope_name}-{number}",
                version="1.0",
                attributes=key_values({"public_key": "pk-lf-test"}),
            ),
            spans=spans,
        )
        for number, spans in enumerate(scopes)
    ]
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=scope_spans)]
    )


def merge_requests(*requests: Any) -> Any:
    """One request holding the resources of all the given ones, in order."""
    merged = ExportTraceServiceRequest()
    for request in requests:
        merged.resource_spans.extend(request.resource_spans)
    return merged


def rich_request() -> Any:
    """Two resources, three scopes, and most of what a span can carry."""
    root = make_span(
        name="root",
        kind=ProtoSpan.SPAN_KIND_SERVER,
        attributes={
            "langfuse.internal.is_app_root": True,
            "langfuse.trace.tags": ["a", "b"],
            "count": -42,
            "big": 2**62,
            "ratio": 0.25,
            "payload": b"\x00\xffbytes",
            "nested": {"inner": [1, "two", {"three": 3.5}], "empty": None},
        },
    )
    child = make_span(
        span_id=SPAN_B,
        parent_span_id=SPAN_A,
        name="child",
        start_ns=T0 + 10,
        end_ns=T0 + 500,
        kind=ProtoSpan.SPAN_KIND_CLIENT,
        status_code=Status.STATUS_CODE_ERROR,
        status_message="boom",
        attributes={"session.id": "s-1", "session.id ": "other"},
        events=(("exception", T0 + 20, {"exception.type": "RuntimeError"}), ("mark", 0, {})),
    )
    other_scope = make_span(trace_id=TRACE_B, span_id=SPAN_C, name="other", end_ns=0)
    first = make_request([root, child], [other_scope])
    second = make_request(
        [make_span(trace_id=TRACE_B, span_id=SPAN_A, parent_span_id=SPAN_C, start_ns=0)],
        resource_attributes={"service.name": "second", "process.pid": 1234},
    )
    return merge_requests(first, second)


def decode(
    body: bytes, content_type: str = PROTOBUF, encoding: str | None = None
) -> DecodedRequest:
    return decode_request(body, content_type, encoding, max_decoded_bytes=LIMIT)


def decode_proto(message: Any) -> DecodedRequest:
    return decode(message.SerializeToString())


def decode_json(document: object) -> DecodedRequest:
    return decode(json.dumps(document).encode(), JSON)


def decode_quietly(
    body: bytes, content_type: str, encoding: str | None = None
) -> DecodedRequest | None:
    """Decode, turning Skein's own errors into None; any other exception fails the test."""
    try:
        return decode(body, content_type, encoding)
    except SkeinError:
        return None


def decode_wire(wire: WireRequest) -> DecodedRequest:
    return decode(wire.body, wire.content_type or "", wire.content_encoding)


def uncompressed_body(wire: WireRequest) -> bytes:
    return gzip.decompress(wire.body) if wire.content_encoding == "gzip" else wire.body


# ── Factories: OTLP/JSON written independently of the decoder ─────────────────────────


@dataclass(frozen=True)
class JsonStyle:
    """How one OTLP/JSON writer spells things; the decoder must accept every style."""

    name: str
    snake_case: bool = False
    times_as_strings: bool = True
    int_values_as_strings: bool = False
    enums_as_names: bool = False
    upper_case_ids: bool = False

    def key(self, camel: str) -> str:
        if not self.snake_case:
            return camel
        return re.sub(r"[A-Z]", lambda match: "_" + match.group(0).lower(), camel)


JSON_STYLES = (
    JsonStyle("js-exporter"),
    JsonStyle(
        "strings-and-names",
        int_values_as_strings=True,
        enums_as_names=True,
        upper_case_ids=True,
    ),
    JsonStyle("snake-case-numbers", snake_case=True, times_as_strings=False, enums_as_names=True),
)


def otlp_json(request: Any, style: JsonStyle) -> dict[str, Any]:
    """An ExportTraceServiceRequest as an OTLP/JSON document in the given style."""
    return {
        style.key("resourceSpans"): [
            {
                "resource": {"attributes": json_attributes(rs.resource.attributes, style)},
                style.key("scopeSpans"): [json_scope_spans(ss, style) for ss in rs.scope_spans],
            }
            for rs in request.resource_spans
        ]
    }


def json_scope_spans(scope_spans: Any, style: JsonStyle) -> dict[str, Any]:
    scope = scope_spans.scope
    return {
        "scope": {
            "name": scope.name,
            "version": scope.version,
            "attributes": json_attributes(scope.attributes, style),
        },
        "spans": [json_span(span, style) for span in scope_spans.spans],
    }


def json_span(span: Any, style: JsonStyle) -> dict[str, Any]:
    document: dict[str, Any] = {
        style.key("traceId"): json_id(span.trace_id, style),
        style.key("spanId"): json_id(span.span_id, style),
        "name": span.name,
        "kind": ProtoSpan.SpanKind.Name(span.kind) if style.enums_as_names else span.kind,
        style.key("startTimeUnixNano"): json_time(span.start_time_unix_nano, style),
        style.key("endTimeUnixNano"): json_time(span.end_time_unix_nano, style),
        "attributes": json_attributes(span.attributes, style),
        "events": [json_event(event, style) for event in span.events],
        "status": json_status(span.status, style),
    }
    if span.parent_span_id:
        document[style.key("parentSpanId")] = json_id(span.parent_span_id, style)
    return document


def json_id(raw: bytes, style: JsonStyle) -> str:
    return raw.hex().upper() if style.upper_case_ids else raw.hex()


def json_time(value: int, style: JsonStyle) -> str | int:
    return str(value) if style.times_as_strings else value


def json_event(event: Any, style: JsonStyle) -> dict[str, Any]:
    return {
        "name": event.name,
        style.key("timeUnixNano"): json_time(event.time_unix_nano, style),
        "attributes": json_attributes(event.attributes, style),
    }


def json_status(status: Any, style: JsonStyle) -> dict[str, Any]:
    code = Status.StatusCode.Name(status.code) if style.enums_as_names else status.code
    return {"code": code, "message": status.message}


def json_attributes(attributes: Any, style: JsonStyle) -> list[dict[str, Any]]:
    return [{"key": kv.key, "value": json_any_value(kv.value, style)} for kv in attributes]


def json_any_value(value: Any, style: JsonStyle) -> dict[str, Any]:
    kind = value.WhichOneof("value")
    if kind is None:
        return {}
    if kind == "array_value":
        items = [json_any_value(item, style) for item in value.array_value.values]
        return {style.key("arrayValue"): {"values": items}}
    if kind == "kvlist_value":
        pairs = json_attributes(value.kvlist_value.values, style)
        return {style.key("kvlistValue"): {"values": pairs}}
    return {style.key(_camel(kind)): json_scalar(kind, getattr(value, kind), style)}


def json_scalar(kind: str, value: Any, style: JsonStyle) -> Any:
    if kind == "int_value" and style.int_values_as_strings:
        return str(value)
    if kind == "double_value" and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if kind == "bytes_value":
        return base64.b64encode(value).decode()
    return value


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def json_document_with_spans(*spans: Any) -> dict[str, Any]:
    """An OTLP/JSON request with one resource and one scope holding the given raw spans."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "s"}, "spans": list(spans)}],
            }
        ]
    }


def json_span_dict(**fields: Any) -> dict[str, Any]:
    """A valid OTLP/JSON span (JS exporter style); keyword arguments replace fields."""
    document: dict[str, Any] = {
        "traceId": TRACE_A,
        "spanId": SPAN_A,
        "name": "span",
        "kind": 1,
        "startTimeUnixNano": str(T0),
        "endTimeUnixNano": str(T0 + 1000),
        "attributes": [{"key": "k", "value": {"stringValue": "v"}}],
        "status": {"code": 0},
    }
    document.update(fields)
    return {key: value for key, value in document.items() if value is not ...}


def decode_one_json_span(**fields: Any) -> Span:
    decoded = decode_json(json_document_with_spans(json_span_dict(**fields)))
    assert decoded.rejected == ()
    (span,) = decoded.spans
    return span


def json_attribute(value: dict[str, Any]) -> Any:
    span = decode_one_json_span(attributes=[{"key": "k", "value": value}])
    return span.attributes["k"]


# ── Captured SDK requests ─────────────────────────────────────────────────────────────


def span_view(span: Span) -> dict[str, Any]:
    """What a decoded span says, in the shape of the capture's flattened spans."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent": span.parent_span_id,
        "name": span.name,
        "times": (span.start_ns, span.end_ns),
        "kind": span.kind,
        "status": (span.status_code, span.status_message),
        "attributes": dict(span.attributes),
        "events": [(e.name, e.time_ns, dict(e.attributes)) for e in span.events],
        "scope": (span.resource.scope_name, span.resource.scope_version),
        "scope_attributes": dict(span.resource.scope_attributes),
        "resource_attributes": dict(span.resource.attributes),
    }


def captured_view(captured: Mapping[str, Any]) -> dict[str, Any]:
    """The capture server's own decoding of a span, in the same shape."""
    status = captured["status"]
    return {
        "trace_id": captured["traceId"],
        "span_id": captured["spanId"],
        "parent": captured["parentSpanId"],
        "name": captured["name"],
        "times": (int(captured["startTimeUnixNano"]), int(captured["endTimeUnixNano"])),
        "kind": _enum_number(ProtoSpan.SpanKind, captured["kind"]),
        "status": (
            _enum_number(Status.StatusCode, status.get("code", 0)),
            status.get("message", ""),
        ),
        "attributes": captured["attributes"],
        "events": [
            (e["name"], int(e["timeUnixNano"]), e["attributes"]) for e in captured["events"]
        ],
        "scope": (captured["scope"]["name"], captured["scope"]["version"]),
        "scope_attributes": captured["scope"]["attributes"],
        "resource_attributes": captured["resourceAttributes"],
    }


def _enum_number(enum: Any, value: str | int) -> int:
    return int(enum.Value(value)) if isinstance(value, str) else value


@pytest.mark.parametrize("wire", CAPTURED, ids=lambda wire: wire.id)
def test_a_captured_sdk_request_decodes_as_the_capture_recorded_it(wire: WireRequest) -> None:
    decoded = decode_wire(wire)

    assert decoded.rejected == ()
    assert len(decoded.spans) == len(wire.spans) > 0
    assert [span_view(span) for span in decoded.spans] == [captured_view(c) for c in wire.spans]


def test_the_captures_cover_both_sdks_and_both_body_formats() -> None:
    kinds = {(wire.sdk, wire.content_type, wire.content_encoding) for wire in CAPTURED}

    assert ("python", PROTOBUF, "gzip") in kinds
    assert ("python", PROTOBUF, None) in kinds
    assert ("js", JSON, None) in kinds
    assert ("js", JSON, "gzip") in kinds


def test_captured_spans_have_lowercase_hex_ids_roots_and_typed_values() -> None:
    spans = [span for wire in CAPTURED for span in decode_wire(wire).spans]
    attribute_values = [value for span in spans for value in span.attributes.values()]
    resource_values = [value for span in spans for value in span.resource.attributes.values()]

    assert all(HEX_TRACE_ID.fullmatch(span.trace_id) for span in spans)
    assert all(HEX_SPAN_ID.fullmatch(span.span_id) for span in spans)
    parents = [span.parent_span_id for span in spans]
    assert None in parents
    assert all(HEX_SPAN_ID.fullmatch(parent) for parent in parents if parent is not None)
    assert any(value is True for value in attribute_values)
    assert any(isinstance(value, list) and value for value in attribute_values)
    assert any(type(value) is int for value in resource_values)  # process.pid from node
    assert all(1_700_000_000 * 10**9 < span.start_ns <= span.end_ns for span in spans)


def test_spans_of_one_scope_share_one_resource_object() -> None:
    wire = max(CAPTURED, key=lambda wire: len(wire.spans))
    resources = {id(span.resource) for span in decode_wire(wire).spans}

    assert len(resources) == 1


# ── Protobuf and OTLP/JSON agree ──────────────────────────────────────────────────────


@pytest.mark.parametrize("style", JSON_STYLES, ids=lambda style: style.name)
def test_json_and_protobuf_of_the_same_request_decode_to_the_same_spans(style: JsonStyle) -> None:
    request = rich_request()

    from_protobuf = decode_proto(request)
    from_json = decode_json(otlp_json(request, style))

    assert from_protobuf.rejected == from_json.rejected == ()
    assert len(from_protobuf.spans) == 4
    assert from_json.spans == from_protobuf.spans


@pytest.mark.parametrize(
    "wire", [wire for wire in CAPTURED if wire.sdk == "python"], ids=lambda wire: wire.id
)
@pytest.mark.parametrize("style", JSON_STYLES, ids=lambda style: style.name)
def test_a_captured_protobuf_request_decodes_the_same_as_json(
    wire: WireRequest, style: JsonStyle
) -> None:
    request = ExportTraceServiceRequest.FromString(uncompressed_body(wire))

    assert decode_json(otlp_json(request, style)).spans == decode_wire(wire).spans


@pytest.mark.parametrize("proto_field_names", [False, True], ids=["camelCase", "snake_case"])
def test_protobufs_own_json_mapping_with_base64_ids_is_accepted(proto_field_names: bool) -> None:
    request = rich_request()
    document = MessageToDict(request, preserving_proto_field_name=proto_field_names)

    assert decode_json(document).spans == decode_proto(request).spans


def test_the_decoded_rich_request_holds_what_was_sent() -> None:
    root, child, other, second = decode_proto(rich_request()).spans

    assert (root.trace_id, root.span_id, root.parent_span_id) == (TRACE_A, SPAN_A, None)
    assert child.parent_span_id == SPAN_A
    assert (root.kind, child.kind) == (ProtoSpan.SPAN_KIND_SERVER, ProtoSpan.SPAN_KIND_CLIENT)
    assert (child.status_code, child.status_message) == (Status.STATUS_CODE_ERROR, "boom")
    assert root.attributes["nested"] == {"inner": [1, "two", {"three": 3.5}], "empty": None}
    assert root.attributes["payload"] == b"\x00\xffbytes"
    assert (root.attributes["count"], root.attributes["big"]) == (-42, 2**62)
    assert [(e.name, e.time_ns) for e in child.events] == [("exception", T0 + 20), ("mark", 0)]
    assert child.events[0].attributes == {"exception.type": "RuntimeError"}
    assert (other.start_ns, other.end_ns) == (T0, T0)  # a missing end copies the start
    assert (second.start_ns, second.end_ns) == (T0 + 1000, T0 + 1000)
    assert root.resource is child.resource
    assert other.resource is not root.resource and other.resource.scope_name == "test-scope-1"
    assert second.resource.attributes == {"service.name": "second", "process.pid": 1234}
    assert root.resource.scope_attributes == {"public_key": "pk-lf-test"}


# ── Media types and content encodings ─────────────────────────────────────────────────


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _two_gzip_members(data: bytes) -> bytes:
    middle = len(data) // 2
    return gzip.compress(data[:middle]) + gzip.compress(data[middle:])


def _identity(data: bytes) -> bytes:
    return data


ENCODINGS: dict[str, tuple[str | None, Callable[[bytes], bytes]]] = {
    "absent": (None, _identity),
    "identity": ("identity", _identity),
    "gzip": ("gzip", gzip.compress),
    "GZIP": ("GZIP", gzip.compress),
    "x-gzip": ("x-gzip", gzip.compress),
    "gzip-two-members": ("gzip", _two_gzip_members),
    "deflate-zlib": ("deflate", zlib.compress),
    "deflate-raw": ("deflate", _raw_deflate),
}


@pytest.mark.parametrize(("encoding", "compress"), ENCODINGS.values(), ids=ENCODINGS.keys())
@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_every_content_encoding_decodes_the_same_spans(
    encoding: str | None, compress: Callable[[bytes], bytes], content_type: str
) -> None:
    request = rich_request()
    if content_type == JSON:
        body = json.dumps(otlp_json(request, JSON_STYLES[0])).encode()
    else:
        body = request.SerializeToString()

    assert decode(compress(body), content_type, encoding).spans == decode_proto(request).spans


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-protobuf",
        "application/protobuf",
        "Application/X-Protobuf",
        "application/json",
        "application/json; charset=utf-8",
        " APPLICATION/JSON ;charset=UTF-8",
    ],
)
def test_accepted_content_types_ignore_case_and_parameters(content_type: str) -> None:
    request = make_request([make_span()])
    if "json" in content_type.lower():
        body = json.dumps(otlp_json(request, JSON_STYLES[0])).encode()
    else:
        body = request.SerializeToString()

    assert [span.span_id for span in decode(body, content_type).spans] == [SPAN_A]


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/jsonl", "application/grpc"]
)
def test_other_content_types_are_unsupported_and_the_message_names_the_accepted_ones(
    content_type: str | None,
) -> None:
    with pytest.raises(UnsupportedMediaType) as raised:
        decode_request(b"{}", content_type, None, max_decoded_bytes=LIMIT)

    assert "application/x-protobuf" in raised.value.message
    assert "application/json" in raised.value.message


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
def test_unknown_content_encodings_are_unsupported(encoding: str) -> None:
    with pytest.raises(UnsupportedMediaType, match="gzip"):
        decode(b"", PROTOBUF, encoding)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_corrupt_compressed_body_is_a_bad_request(encoding: str) -> None:
    with pytest.raises(BadRequest, match=f"could not decompress the {encoding} body"):
        decode(b"\x1f\x8b\x08\x00 definitely not deflate data", PROTOBUF, encoding)


def test_a_truncated_gzip_body_is_a_bad_request() -> None:
    body = gzip.compress(rich_request().SerializeToString())

    with pytest.raises(BadRequest, match="truncated"):
        decode(body[: len(body) // 2], PROTOBUF, "gzip")


def test_garbage_after_a_gzip_member_is_a_bad_request() -> None:
    body = gzip.compress(rich_request().SerializeToString()) + b"garbage!"

    with pytest.raises(BadRequest, match="could not decompress"):
        decode(body, PROTOBUF, "gzip")


def gzip_bomb(decompressed_size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(decompressed_size // len(block))]
    return b"".join(parts) + compressor.flush()


def test_a_decompression_bomb_is_too_large_without_being_inflated_in_memory() -> None:
    bomb = gzip_bomb(64 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            decode_request(bomb, PROTOBUF, "gzip", max_decoded_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(bomb) < 1 << 20
    assert peak < 8 << 20


@pytest.mark.parametrize(("encoding", "compress"), [(None, _identity), ("gzip", gzip.compress)])
def test_the_decoded_size_limit_is_inclusive(
    encoding: str | None, compress: Callable[[bytes], bytes]
) -> None:
    body = rich_request().SerializeToString()

    exact = decode_request(compress(body), PROTOBUF, encoding, max_decoded_bytes=len(body))
    assert len(exact.spans) == 4
    with pytest.raises(PayloadTooLarge):
        decode_request(compress(body), PROTOBUF, encoding, max_decoded_bytes=len(body) - 1)


# ── Bodies that cannot be read at all ─────────────────────────────────────────────────


def test_a_truncated_protobuf_body_is_a_bad_request() -> None:
    body = rich_request().SerializeToString()

    with pytest.raises(BadRequest, match="could not parse OTLP protobuf body"):
        decode(body[:-1])


def test_a_protobuf_string_with_invalid_utf8_is_a_bad_request() -> None:
    body = make_request([make_span(name="NAME-MARKER")]).SerializeToString()
    corrupt = body.replace(b"NAME-MARKER", b"\xff" * len(b"NAME-MARKER"))

    with pytest.raises(BadRequest, match="could not parse OTLP protobuf body"):
        decode(corrupt)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"resourceSpans": [}', "JSON"),
        (b'{"resourceSpans": "\xff\xfe"}', "UTF-8"),
        (b"[]", "top level is not an object"),
        (b'"resourceSpans"', "top level is not an object"),
        (b"", "JSON"),
        (b'{"resourceSpans": "many"}', "'resourceSpans' is not a list"),
        (b'{"resourceSpans": [42]}', "not an object"),
        (b'{"resourceSpans": [{"scopeSpans": {}}]}', "'scopeSpans' is not a list"),
        (b'{"resourceSpans": [{"scopeSpans": [[]]}]}', "not an object"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}', "'spans' is not a list"),
        (b'{"resourceSpans": [], "x": "\\ud800"}', "surrogate"),
    ],
)
def test_an_unreadable_json_body_is_a_bad_request(body: bytes, fragment: str) -> None:
    with pytest.raises(BadRequest, match="could not parse OTLP JSON body") as raised:
        decode(body, JSON)

    assert fragment in raised.value.message


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"resourceSpans": null}',
        b'{"resourceSpans": []}',
        b'{"unknownField": 1}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_a_json_body_without_spans_decodes_to_nothing(body: bytes) -> None:
    assert decode(body, JSON) == DecodedRequest(spans=())


def test_an_empty_protobuf_body_decodes_to_nothing() -> None:
    assert decode(b"") == DecodedRequest(spans=())


def test_a_paired_surrogate_escape_is_an_ordinary_character() -> None:
    body = json.dumps(json_document_with_spans(json_span_dict(name="\U0001f600"))).encode()

    assert b"\\ud83d\\ude00" in body
    assert decode(body, JSON).spans[0].name == "\U0001f600"


# ── Spans that cannot be read are rejected one by one ─────────────────────────────────


def test_a_protobuf_span_with_a_bad_span_id_is_rejected_and_the_others_kept() -> None:
    good = [make_span(span_id=SPAN_A), make_span(span_id=SPAN_B)]
    bad = make_span(span_id=b"\x01" * 7, name="bad")
    request = make_request(good, [make_span(span_id=SPAN_C), bad])

    decoded = decode_proto(request)

    assert [span.span_id for span in decoded.spans] == [SPAN_A, SPAN_B, SPAN_C]
    (rejected,) = decoded.rejected
    assert (rejected.index, rejected.trace_id, rejected.span_id) == (3, TRACE_A, None)
    assert "span id" in rejected.reason


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"trace_id": bytes(16)}, "trace id"),
        ({"trace_id": b""}, "trace id"),
        ({"trace_id": b"\x01" * 32}, "trace id"),
        ({"span_id": bytes(8)}, "span id"),
        ({"parent_span_id": b"\x01" * 4}, "parent span id"),
    ],
)
def test_protobuf_span_ids_must_be_the_right_size_and_not_zero(
    fields: dict[str, Any], fragment: str
) -> None:
    decoded = decode_proto(make_request([make_span(span_id=SPAN_B), make_span(**fields)]))

    assert [span.span_id for span in decoded.spans] == [SPAN_B]
    assert [r.index for r in decoded.rejected] == [1]
    assert fragment in decoded.rejected[0].reason


def test_a_protobuf_span_with_two_bad_ids_is_rejected_for_its_trace_id() -> None:
    decoded = decode_proto(make_request([make_span(trace_id=b"\x01" * 15, span_id=bytes(8))]))

    (rejected,) = decoded.rejected
    assert rejected.reason == "invalid trace id: expected 16 bytes, got 15"
    assert (rejected.trace_id, rejected.span_id) == (None, None)


ids = st.binary(min_size=0, max_size=17) | st.sampled_from(
    [bytes(8), bytes(16), b"\x00" * 15 + b"\x01"]
)


@given(trace_id=ids, span_id=ids, parent_id=ids)
def test_a_protobuf_span_is_kept_exactly_when_its_ids_are_usable(
    trace_id: bytes, span_id: bytes, parent_id: bytes
) -> None:
    span = make_span(trace_id=trace_id, span_id=span_id, parent_span_id=parent_id)
    decoded = decode_proto(make_request([span]))

    usable = len(trace_id) == 16 and len(span_id) == 8 and any(trace_id) and any(span_id)
    usable = usable and len(parent_id) in (0, 8)
    assert len(decoded.spans) == int(usable)
    if usable:
        (kept,) = decoded.spans
        assert (kept.trace_id, kept.span_id) == (trace_id.hex(), span_id.hex())
        assert kept.parent_span_id == (parent_id.hex() if any(parent_id) else None)


def test_a_protobuf_parent_id_of_zeros_means_no_parent() -> None:
    (span,) = decode_proto(make_request([make_span(parent_span_id=bytes(8))])).spans

    assert span.parent_span_id is None


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"spanId": "xyz"}, "span id"),
        ({"spanId": ...}, "missing span id"),
        ({"spanId": ""}, "missing span id"),
        ({"spanId": 12345}, "span id"),
        ({"traceId": "0" * 32}, "all zeros"),
        ({"traceId": "g" * 32}, "trace id"),
        ({"traceId": TRACE_A + "00"}, "trace id"),
        ({"parentSpanId": "abc"}, "parent span id"),
        ({"name": 5}, "name"),
        ({"startTimeUnixNano": "abc"}, "start time"),
        ({"endTimeUnixNano": "1.5"}, "end time"),
        ({"endTimeUnixNano": True}, "end time"),
        ({"endTimeUnixNano": "9" * 30}, "end time"),
        ({"endTimeUnixNano": "9" * 5000}, "end time"),
        ({"endTimeUnixNano": "\u0661\u0662"}, "end time"),  # Arabic-Indic digits
        ({"endTimeUnixNano": "\u00b2"}, "end time"),  # superscript two
        ({"endTimeUnixNano": " 12"}, "end time"),
        ({"kind": "SPAN_KIND_BOGUS"}, "kind"),
        ({"kind": [1]}, "kind"),
        ({"status": "error"}, "status"),
        ({"status": {"code": "STATUS_CODE_NOPE"}}, "status code"),
        ({"status": {"message": 3}}, "status message"),
        ({"attributes": "k=v"}, "attributes is not a list"),
        ({"attributes": [5]}, "attribute"),
        ({"attributes": [{"key": 3, "value": {}}]}, "attribute key"),
        ({"attributes": [{"key": "k", "value": "v"}]}, "'k'"),
        ({"attributes": [{"key": "k", "value": {"intValue": "1.5"}}]}, "intValue"),
        ({"attributes": [{"key": "k", "value": {"intValue": str(2**63)}}]}, "intValue"),
        ({"attributes": [{"key": "k", "value": {"boolValue": "true"}}]}, "boolValue"),
        ({"attributes": [{"key": "k", "value": {"stringValue": 7}}]}, "stringValue"),
        ({"attributes": [{"key": "k", "value": {"doubleValue": "lots"}}]}, "doubleValue"),
        ({"attributes": [{"key": "k", "value": {"doubleValue": 10**400}}]}, "doubleValue"),
        ({"attributes": [{"key": "k", "value": {"bytesValue": "!!"}}]}, "bytesValue"),
        ({"attributes": [{"key": "k", "value": {"arrayValue": []}}]}, "arrayValue"),
        ({"attributes": [{"key": "k", "value": {"arrayValue": {"values": 1}}}]}, "arrayValue"),
        ({"attributes": [{"key": "k", "value": {"kvlistValue": {"values": {}}}}]}, "attributes"),
        ({"events": {}}, "events"),
        ({"events": [5]}, "event"),
        ({"events": [{"name": "e", "timeUnixNano": "soon"}]}, "time"),
    ],
)
def test_a_json_span_with_a_bad_field_is_rejected_and_the_others_kept(
    fields: dict[str, Any], fragment: str
) -> None:
    document = json_document_with_spans(
        json_span_dict(spanId=SPAN_A), json_span_dict(**fields), json_span_dict(spanId=SPAN_C)
    )

    decoded = decode_json(document)

    assert [span.span_id for span in decoded.spans] == [SPAN_A, SPAN_C]
    (rejected,) = decoded.rejected
    assert rejected.index == 1
    assert fragment in rejected.reason


def test_a_rejected_json_span_keeps_whichever_ids_are_valid() -> None:
    document = json_document_with_spans(
        json_span_dict(name=5),
        json_span_dict(traceId="nope"),
        json_span_dict(spanId="nope", traceId=TRACE_B),
        "not a span",
    )

    rejected = decode_json(document).rejected

    assert [(r.index, r.trace_id, r.span_id) for r in rejected] == [
        (0, TRACE_A, SPAN_A),
        (1, None, SPAN_A),
        (2, TRACE_B, None),
        (3, None, None),
    ]


def test_a_json_attribute_value_nested_too_deeply_rejects_only_its_span() -> None:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(100):
        value = {"arrayValue": {"values": [value]}}
    document = json_document_with_spans(
        json_span_dict(attributes=[{"key": "deep", "value": value}]), json_span_dict(spanId=SPAN_B)
    )

    decoded = decode_json(document)

    assert [span.span_id for span in decoded.spans] == [SPAN_B]
    assert "nested" in decoded.rejected[0].reason


def test_a_bad_resource_rejects_its_spans_and_keeps_other_resources() -> None:
    spans = [json_span_dict(spanId=SPAN_A), json_span_dict(spanId=SPAN_B)]
    document = {
        "resourceSpans": [
            {"resource": {"attributes": {"a": 1}}, "scopeSpans": [{"spans": spans}]},
            {"resource": "service", "scopeSpans": [{"spans": spans}]},
            {"scopeSpans": [{"scope": {"name": 1}, "spans": spans}, {"spans": spans}]},
        ]
    }

    decoded = decode_json(document)

    assert [span.span_id for span in decoded.spans] == [SPAN_A, SPAN_B]
    assert [r.index for r in decoded.rejected] == [0, 1, 2, 3, 4, 5]
    reasons = [r.reason for r in decoded.rejected]
    assert all("resource" in reason for reason in reasons[:4])
    assert all("scope" in reason for reason in reasons[4:])
    assert all(r.span_id in (SPAN_A, SPAN_B) for r in decoded.rejected)


# ── OTLP/JSON spellings ───────────────────────────────────────────────────────────────


def _b64(hex_id: str, alphabet: Callable[[bytes], bytes] = base64.b64encode) -> str:
    return alphabet(bytes.fromhex(hex_id)).decode()


URLSAFE_TRACE = "fbff" * 8  # encodes to base64 with "+" and "/", or "-" and "_"
URLSAFE_SPAN = "fbff" * 4


@pytest.mark.parametrize(
    ("trace_id", "span_id", "expected"),
    [
        (TRACE_A.upper(), SPAN_A.upper(), (TRACE_A, SPAN_A)),
        (_b64(TRACE_A), _b64(SPAN_A), (TRACE_A, SPAN_A)),
        (_b64(URLSAFE_TRACE), _b64(URLSAFE_SPAN), (URLSAFE_TRACE, URLSAFE_SPAN)),
        (
            _b64(URLSAFE_TRACE, base64.urlsafe_b64encode).rstrip("="),
            _b64(URLSAFE_SPAN, base64.urlsafe_b64encode).rstrip("="),
            (URLSAFE_TRACE, URLSAFE_SPAN),
        ),
    ],
    ids=["upper-hex", "base64", "base64-with-plus-and-slash", "urlsafe-base64-unpadded"],
)
def test_json_ids_may_be_upper_case_hex_or_base64(
    trace_id: str, span_id: str, expected: tuple[str, str]
) -> None:
    span = decode_one_json_span(traceId=trace_id, spanId=span_id, parentSpanId=span_id)

    assert (span.trace_id, span.span_id, span.parent_span_id) == (*expected, expected[1])


@pytest.mark.parametrize("parent", [..., None, "", "0" * 16])
def test_an_absent_empty_or_zero_json_parent_means_no_parent(parent: object) -> None:
    assert decode_one_json_span(parentSpanId=parent).parent_span_id is None


def test_json_keys_may_use_proto_field_names() -> None:
    span = decode_one_json_span(
        traceId=...,
        spanId=...,
        startTimeUnixNano=...,
        endTimeUnixNano=...,
        trace_id=TRACE_B,
        span_id=SPAN_B,
        parent_span_id=SPAN_C,
        start_time_unix_nano=5,
        end_time_unix_nano="6",
    )

    assert (span.trace_id, span.span_id, span.parent_span_id) == (TRACE_B, SPAN_B, SPAN_C)
    assert (span.start_ns, span.end_ns) == (5, 6)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (str(T0), str(T0 + 5), (T0, T0 + 5)),
        (T0, T0 + 5, (T0, T0 + 5)),
        (float(10**9), "2000000000", (10**9, 2 * 10**9)),
        (..., str(T0), (T0, T0)),
        ("0", str(T0), (T0, T0)),
        (str(T0), 0, (T0, T0)),
        (str(T0), None, (T0, T0)),
        (..., ..., (0, 0)),
        (str(T0 + 5), str(T0), (T0 + 5, T0)),  # end before start: the mapper decides
        ("5", "6", (5, 6)),  # 1970: the mapper decides
        (str(2**64 - 1), str(2**64 - 1), (2**64 - 1, 2**64 - 1)),
    ],
)
def test_json_timestamps_are_kept_as_integers_and_a_missing_one_copies_the_other(
    start: object, end: object, expected: tuple[int, int]
) -> None:
    span = decode_one_json_span(startTimeUnixNano=start, endTimeUnixNano=end)

    assert (span.start_ns, span.end_ns) == expected


@pytest.mark.parametrize(
    ("kind", "status_code", "expected"),
    [
        (3, 2, (3, 2)),
        ("SPAN_KIND_CLIENT", "STATUS_CODE_ERROR", (3, 2)),
        ("SPAN_KIND_CONSUMER", "STATUS_CODE_OK", (5, 1)),
        ("2", "1", (2, 1)),
        (..., ..., (0, 0)),
        (9, 7, (9, 7)),  # unknown numbers are kept, as protobuf keeps them
    ],
)
def test_json_enums_may_be_numbers_or_names(
    kind: object, status_code: object, expected: tuple[int, int]
) -> None:
    status = {} if status_code is ... else {"code": status_code, "message": "m"}
    span = decode_one_json_span(kind=kind, status=status)

    assert (span.kind, span.status_code) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"stringValue": "text"}, "text"),
        ({"boolValue": False}, False),
        ({"intValue": 14790}, 14790),
        ({"intValue": "-9223372036854775808"}, -(2**63)),
        ({"doubleValue": 1.5}, 1.5),
        ({"doubleValue": 2}, 2.0),
        ({"doubleValue": "-Infinity"}, float("-inf")),
        ({"doubleValue": "Infinity"}, float("inf")),
        ({"doubleValue": "2.5"}, 2.5),
        ({"bytesValue": base64.b64encode(b"\x00\x01binary").decode()}, b"\x00\x01binary"),
        ({"bytesValue": ""}, b""),
        ({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "x"}, {}]}}, [1, "x", None]),
        ({"arrayValue": {}}, []),
        (
            {"kvlistValue": {"values": [{"key": "a", "value": {"boolValue": True}}, {"key": "b"}]}},
            {"a": True, "b": None},
        ),
        ({"kvlist_value": {"values": [{"key": "a", "value": {"int_value": 1}}]}}, {"a": 1}),
        ({}, None),
        ({"stringValue": None}, None),
        ({"someFutureValue": 1}, None),
    ],
)
def test_json_any_values_decode_to_plain_python_values(
    value: dict[str, Any], expected: Any
) -> None:
    decoded = json_attribute(value)

    assert decoded == expected
    assert type(decoded) is type(expected)


def test_a_json_nan_double_decodes_to_nan() -> None:
    assert math.isnan(json_attribute({"doubleValue": "NaN"}))


def test_a_json_attribute_without_a_value_is_none_and_a_repeated_key_keeps_the_last() -> None:
    span = decode_one_json_span(
        attributes=[
            {"key": "k", "value": {"stringValue": "first"}},
            {"key": "missing"},
            {"key": "k", "value": {"stringValue": "last"}},
        ]
    )

    assert span.attributes == {"k": "last", "missing": None}


def test_json_events_decode_with_their_times_and_attributes() -> None:
    events = [
        {
            "name": "exception",
            "timeUnixNano": str(T0),
            "attributes": [{"key": "a", "value": {"intValue": 1}}],
        },
        {"name": "tick", "time_unix_nano": 7},
        {},
    ]
    span = decode_one_json_span(events=events)

    assert [(e.name, e.time_ns, dict(e.attributes)) for e in span.events] == [
        ("exception", T0, {"a": 1}),
        ("tick", 7, {}),
        ("", 0, {}),
    ]


def test_protobuf_nan_and_infinite_doubles_pass_through() -> None:
    attributes = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
    (span,) = decode_proto(make_request([make_span(attributes=attributes)])).spans

    assert math.isnan(span.attributes["nan"])
    assert (span.attributes["inf"], span.attributes["-inf"]) == (float("inf"), float("-inf"))


def test_a_repeated_protobuf_attribute_key_keeps_the_last_value() -> None:
    span = make_span()
    span.attributes.extend(key_values({"k": "last"}))
    span.attributes.insert(0, KeyValue(key="k", value=any_value("first")))
    (decoded,) = decode_proto(make_request([span])).spans

    assert dict(decoded.attributes) == {"k": "last"}


@pytest.mark.parametrize(
    "value",
    ["", "text", False, True, 0, -7, 0.0, 2.5, b"", b"\x00raw", None, [], ["", 0, None], {}],
    ids=repr,
)
def test_protobuf_any_values_decode_with_their_own_type_even_when_empty_or_zero(
    value: object,
) -> None:
    (span,) = decode_proto(make_request([make_span(attributes={"k": value})])).spans

    assert span.attributes["k"] == value
    assert repr(span.attributes["k"]) == repr(value)  # "" is not None, False is not 0


def test_an_empty_protobuf_any_value_and_an_empty_string_stay_apart_in_nested_values() -> None:
    nested = {"list": ["", None, "x"], "map": {"empty": "", "unset": None, "zero": 0}}
    (span,) = decode_proto(make_request([make_span(attributes=nested)])).spans

    assert repr(dict(span.attributes)) == repr(nested)


# ── Property tests: nothing but Skein's errors, whatever arrives ──────────────────────

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
json_documents = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)


Path = tuple[str | int, ...]


def replaced_at(document: Any, path: Path, garbage: Any) -> Any:
    """A copy of the document with the node at `path` replaced (a `...` removes a dict key)."""
    if not path:
        return garbage
    key, rest = path[0], path[1:]
    if isinstance(document, dict):
        changed = dict(document)
        if rest or garbage is not ...:
            changed[key] = replaced_at(document[key], rest, garbage)
        else:
            del changed[key]
        return changed
    assert isinstance(key, int)
    changed_list = list(document)
    changed_list[key] = replaced_at(document[key], rest, None if garbage is ... else garbage)
    return changed_list


def children_of(node: Any) -> list[str | int]:
    if isinstance(node, dict):
        return list(node)
    return list(range(len(node))) if isinstance(node, list) else []


@st.composite
def node_paths(draw: st.DrawFn, document: Any) -> Path:
    """A path to a node under the document, up to a drawn depth (so shallow nodes come up too)."""
    path: list[str | int] = []
    node = document
    depth = draw(st.integers(1, 5))
    while len(path) < depth and (children := children_of(node)):
        key = draw(st.sampled_from(children))
        path.append(key)
        node = node[key]
    return tuple(path)


garbage = st.one_of(json_scalars, json_documents, st.just(...))


@st.composite
def corrupted(draw: st.DrawFn, clean: st.SearchStrategy[Any]) -> Any:
    """A valid document with one node inside replaced by any JSON, or removed (`...`)."""
    document = draw(clean)
    path = draw(node_paths(document))
    return replaced_at(document, path, draw(garbage)) if path else document


def mostly_clean(clean: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid document, the same with one node broken, or any JSON at all."""
    return st.one_of(clean, corrupted(clean), corrupted(clean), json_documents)


def hex_ids(size: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=size, max_size=size).map(bytes.hex)


int64s = st.integers(-(2**63), 2**63 - 1)
timestamps = st.integers(0, 2**64 - 1) | st.integers(0, 2**64 - 1).map(str)
scalar_any_values = st.one_of(
    st.fixed_dictionaries({"stringValue": st.text(max_size=6)}),
    st.fixed_dictionaries({"intValue": int64s | int64s.map(str)}),
    st.fixed_dictionaries({"doubleValue": st.floats() | st.sampled_from(["NaN", "-Infinity"])}),
    st.fixed_dictionaries({"boolValue": st.booleans()}),
    st.fixed_dictionaries(
        {"bytesValue": st.binary(max_size=6).map(lambda b: base64.b64encode(b).decode())}
    ),
    st.just({}),
)


def nested_any_values(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    pairs = st.fixed_dictionaries({"key": st.text(max_size=3), "value": children})
    return st.fixed_dictionaries(
        {"arrayValue": st.fixed_dictionaries({"values": st.lists(children, max_size=3)})}
    ) | st.fixed_dictionaries(
        {"kvlistValue": st.fixed_dictionaries({"values": st.lists(pairs, max_size=3)})}
    )


key_value_lists = st.lists(
    st.fixed_dictionaries(
        {
            "key": st.text(max_size=6),
            "value": st.recursive(scalar_any_values, nested_any_values, max_leaves=5),
        }
    ),
    max_size=3,
)
SPAN_FIELDS = (
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "kind",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "attributes",
    "events",
    "status",
)
clean_spans = st.fixed_dictionaries(
    {
        "traceId": hex_ids(16).filter(lambda hex_id: hex_id.strip("0")),
        "spanId": hex_ids(8).filter(lambda hex_id: hex_id.strip("0")),
        "parentSpanId": hex_ids(8) | st.just(""),
        "name": st.text(max_size=8),
        "kind": st.integers(0, 5) | st.sampled_from(["SPAN_KIND_SERVER"]),
        "startTimeUnixNano": timestamps,
        "endTimeUnixNano": timestamps,
        "attributes": key_value_lists,
        "events": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.text(max_size=3),
                    "timeUnixNano": timestamps,
                    "attributes": key_value_lists,
                }
            ),
            max_size=2,
        ),
        "status": st.fixed_dictionaries(
            {
                "code": st.integers(0, 2) | st.just("STATUS_CODE_ERROR"),
                "message": st.text(max_size=4),
            }
        ),
    }
)
clean_scopes = st.fixed_dictionaries({"name": st.text(max_size=4), "attributes": key_value_lists})
scope_spans = st.fixed_dictionaries(
    {
        "scope": mostly_clean(clean_scopes),
        "spans": st.lists(mostly_clean(clean_spans), max_size=4),
    }
)
# OTLP-shaped: the containers of spans are well formed; anything inside them may not be.
otlp_json_documents = st.fixed_dictionaries(
    {
        "resourceSpans": st.lists(
            st.fixed_dictionaries(
                {
                    "resource": mostly_clean(
                        st.fixed_dictionaries({"attributes": key_value_lists})
                    ),
                    "scopeSpans": st.lists(scope_spans, max_size=2),
                }
            ),
            max_size=2,
        )
    }
)
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def count_json_spans(document: dict[str, Any]) -> int:
    return sum(
        len(scope_spans["spans"])
        for resource_spans in document["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
    )


def assert_well_formed(decoded: DecodedRequest, span_count: int) -> None:
    indices = [rejected.index for rejected in decoded.rejected]
    assert len(decoded.spans) + len(decoded.rejected) == span_count
    assert indices == sorted(set(indices)) and all(0 <= i < span_count for i in indices)
    assert all(HEX_TRACE_ID.fullmatch(span.trace_id) for span in decoded.spans)
    assert all(HEX_SPAN_ID.fullmatch(span.span_id) for span in decoded.spans)


@QUICK
@given(document=otlp_json_documents)
def test_every_span_of_an_otlp_shaped_json_document_is_kept_or_rejected(
    document: dict[str, Any],
) -> None:
    decoded = decode_json(document)

    assert_well_formed(decoded, count_json_spans(document))


@pytest.mark.parametrize("field", SPAN_FIELDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_span_with_one_broken_field_is_kept_or_rejected_alone(
    field: str, data: st.DataObject
) -> None:
    span = data.draw(clean_spans)
    inside = data.draw(st.just(()) | node_paths(span[field]))
    path = (field, *inside)
    broken = replaced_at(span, path, data.draw(garbage))
    neighbour = json_span_dict(spanId=SPAN_C)

    decoded = decode_json(json_document_with_spans(broken, neighbour))

    assert_well_formed(decoded, 2)
    assert decoded.spans[-1].span_id == SPAN_C
    assert [rejected.index for rejected in decoded.rejected] in ([], [0])


@QUICK
@given(document=json_documents)
def test_any_json_document_raises_only_skein_errors(document: Any) -> None:
    decode_quietly(json.dumps(document).encode(), JSON)


@QUICK
@given(
    body=st.binary(max_size=600),
    content_type=st.sampled_from([PROTOBUF, JSON]),
    gzipped=st.booleans(),
)
def test_any_bytes_raise_only_skein_errors(body: bytes, content_type: str, gzipped: bool) -> None:
    encoding = "gzip" if gzipped else None
    decode_quietly(gzip.compress(body) if gzipped else body, content_type, encoding)
    decode_quietly(body, content_type, "gzip")
    decode_quietly(body, content_type, "deflate")


SEED_BODIES = [rich_request().SerializeToString()] + [
    uncompressed_body(wire) for wire in CAPTURED if wire.sdk == "python"
][:4]


@QUICK
@given(data=st.data())
def test_a_mutated_protobuf_body_raises_only_skein_errors(data: st.DataObject) -> None:
    body = bytearray(data.draw(st.sampled_from(SEED_BODIES)))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(body) - 1), st.integers(0, 7)), max_size=3)
    )
    for position, bit in flips:
        body[position] ^= 1 << bit
    cut = data.draw(st.none() | st.integers(0, len(body)))

    decoded = decode_quietly(bytes(body[:cut]), PROTOBUF)

    if decoded is not None:
        assert_well_formed(decoded, len(decoded.spans) + len(decoded.rejected))


# ── The answer ────────────────────────────────────────────────────────────────────────


def test_a_protobuf_answer_with_rejections_carries_partial_success() -> None:
    response = ExportTraceServiceResponse.FromString(
        encode_response(3, "3 spans had bad ids", False)
    )

    assert response.partial_success.rejected_spans == 3
    assert response.partial_success.error_message == "3 spans had bad ids"


def test_a_protobuf_answer_without_rejections_is_empty() -> None:
    body = encode_response(0, "", False)

    assert not ExportTraceServiceResponse.FromString(body).HasField("partial_success")


def test_a_json_answer_with_rejections_follows_protobufs_json_mapping() -> None:
    body = encode_response(3, "bad ids: ü", True)

    assert json.loads(body) == MessageToDict(
        ExportTraceServiceResponse.FromString(encode_response(3, "bad ids: ü", False))
    )
    assert json.loads(body)["partialSuccess"]["rejectedSpans"] == "3"  # int64 as a string
    parsed = Parse(body, ExportTraceServiceResponse())
    assert (parsed.partial_success.rejected_spans, parsed.partial_success.error_message) == (
        3,
        "bad ids: ü",
    )


def test_a_json_answer_without_rejections_is_an_empty_object() -> None:
    assert json.loads(encode_response(0, "", True)) == {}


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/x-protobuf", False),
        ("application/jsonl", False),
        (None, False),
        ("", False),
    ],
)
def test_is_json_matches_the_media_type_only(content_type: str | None, expected: bool) -> None:
    assert is_json(content_type) is expected
