"""Build OTLP/HTTP request bodies (protobuf and JSON) for tests from plain span specs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

BASE_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


@dataclass
class SpanSpec:
    trace_id: str
    span_id: str
    parent_id: str | None = None
    name: str = "span"
    attributes: dict[str, Any] = field(default_factory=dict)
    start_ns: int = BASE_NS
    end_ns: int = BASE_NS + 1_000_000
    status_code: int = 0


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list | tuple):
        result = AnyValue()
        result.array_value.values.extend(any_value(v) for v in value)
        return result
    return AnyValue(string_value=str(value))


def protobuf_body(*spans: SpanSpec, resource: dict[str, Any] | None = None) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (resource or {}).items():
        resource_spans.resource.attributes.append(KeyValue(key=key, value=any_value(value)))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests"
    for spec in spans:
        span = scope_spans.spans.add()
        span.trace_id = bytes.fromhex(spec.trace_id)
        span.span_id = bytes.fromhex(spec.span_id)
        if spec.parent_id:
            span.parent_span_id = bytes.fromhex(spec.parent_id)
        span.name = spec.name
        span.start_time_unix_nano = spec.start_ns
        span.end_time_unix_nano = spec.end_ns
        span.status.code = spec.status_code  # type: ignore[assignment]
        for key, value in spec.attributes.items():
            span.attributes.append(KeyValue(key=key, value=any_value(value)))
    return request.SerializeToString()


def json_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [json_value(v) for v in value]}}
    return {"stringValue": str(value)}


def json_body(*spans: SpanSpec) -> bytes:
    def encode(spec: SpanSpec) -> dict[str, Any]:
        span: dict[str, Any] = {
            "traceId": spec.trace_id,
            "spanId": spec.span_id,
            "name": spec.name,
            "kind": 1,
            "startTimeUnixNano": str(spec.start_ns),
            "endTimeUnixNano": str(spec.end_ns),
            "attributes": [{"key": k, "value": json_value(v)} for k, v in spec.attributes.items()],
            "status": {"code": spec.status_code},
        }
        if spec.parent_id:
            span["parentSpanId"] = spec.parent_id
        return span

    scope = {"scope": {"name": "tests"}, "spans": [encode(s) for s in spans]}
    return json.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": [scope]}]}).encode()
