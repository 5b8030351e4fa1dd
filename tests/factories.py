"""Factories for the shared records, with defaults that make a valid, unremarkable value.

make_span(attributes={"session.id": "s1"}, status_code=STATUS_ERROR)
make_span(resource=make_resource(scope_name="openinference.instrumentation.openai"))
"""

from __future__ import annotations

from typing import Any

from skein.records import Resource, Span, SpanEvent

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"
START_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
DURATION_NS = 1_500_000


def make_span(**overrides: Any) -> Span:
    """A root span of one trace, started at START_NS and lasting DURATION_NS."""
    start_ns = overrides.get("start_ns", START_NS)
    fields: dict[str, Any] = {
        "trace_id": TRACE_ID,
        "span_id": SPAN_ID,
        "parent_span_id": None,
        "name": "span",
        "start_ns": start_ns,
        "end_ns": start_ns + DURATION_NS,
        "resource": make_resource(),
    }
    fields.update(overrides)
    return Span(**fields)


def make_resource(**overrides: Any) -> Resource:
    """The resource and scope of an OTel app that is not a Langfuse SDK."""
    fields: dict[str, Any] = {
        "attributes": {"service.name": "test-service", "telemetry.sdk.language": "python"},
        "scope_name": "test-instrumentation",
        "scope_version": "1.0.0",
    }
    fields.update(overrides)
    return Resource(**fields)


def make_event(name: str, time_ns: int = START_NS, **attributes: Any) -> SpanEvent:
    """A span event; attribute keys with dots are passed through a dict: **{"a.b": 1}."""
    return SpanEvent(name=name, time_ns=time_ns, attributes=attributes)
