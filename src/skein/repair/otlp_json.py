"""Stored observations back to OTLP/JSON spans that map to the same observations.

Every value goes into the attribute Skein's mapping reads first for it (the `langfuse.*`
conventions), under the span's original resource and scope (kept in its metadata). A span
that came from a non-SDK scope gets its other attributes back too, so the catch-all
`attributes` metadata comes out the same. The session and user ids go under the key they
were read from when that is an attribute name, so their provenance survives.

Not carried: a cost Skein computed from its price table is sent as a cost, so on import its
source reads "sdk"; the values of a Langfuse trace-create that no span carries go on the
root span (`trace_values`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from skein.fold import TraceSummary
from skein.records import Observation

SESSION_ATTRIBUTE = "langfuse.session.id"
USER_ATTRIBUTE = "langfuse.user.id"
# Metadata keys Skein adds from the resource, scope and other attributes (not the user's).
DERIVED_METADATA = ("resourceAttributes", "scope", "attributes")
LEVEL_STATUS = {"ERROR": 2}


def otlp_request(
    observations: Sequence[Observation], trace: TraceSummary | None = None
) -> dict[str, Any]:
    """One OTLP/JSON ExportTraceServiceRequest holding the observations (of one trace)."""
    groups: dict[str, tuple[Mapping[str, Any], Mapping[str, Any], list[dict[str, Any]]]] = {}
    root_id = trace.root_id if trace else None
    for observation in observations:
        resource, scope = _resource_of(observation), _scope_of(observation)
        key = json.dumps([resource, scope], sort_keys=True, default=str)
        extra = trace_values(trace, observations) if observation.id == root_id and trace else {}
        groups.setdefault(key, (resource, scope, []))[2].append(span_json(observation, extra))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attributes_json(resource)},
                "scopeSpans": [{"scope": scope_json(scope), "spans": spans}],
            }
            for resource, scope, spans in groups.values()
        ]
    }


def span_json(observation: Observation, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    o = observation
    span: dict[str, Any] = {
        "traceId": o.trace_id,
        "spanId": o.id,
        "name": o.name,
        "kind": 1,
        "startTimeUnixNano": str(o.start_ns),
        "endTimeUnixNano": str(o.end_ns),
        "attributes": attributes_json({**span_attributes(o), **(extra or {})}),
        "status": {"code": LEVEL_STATUS.get(o.level, 0)},
    }
    if o.parent_id:
        span["parentSpanId"] = o.parent_id
    return span


def span_attributes(o: Observation) -> dict[str, Any]:
    """The attributes that map back to this observation."""
    found: dict[str, Any] = dict(_other_attributes(o))
    found.update(_observation_values(o))
    found.update(_trace_attributes(o))
    return {key: value for key, value in found.items() if value is not None}


def _observation_values(o: Observation) -> dict[str, Any]:
    return {
        "langfuse.observation.type": o.type.lower(),
        "langfuse.observation.level": o.level,
        "langfuse.observation.status_message": o.status_message,
        "langfuse.observation.input": o.input,
        "langfuse.observation.output": o.output,
        "langfuse.observation.metadata": _json(_user_metadata(o.metadata)),
        "langfuse.observation.model.name": o.model,
        "langfuse.observation.model.parameters": o.model_parameters,
        "langfuse.observation.usage_details": _json(o.usage),
        "langfuse.observation.cost_details": _json(o.cost),
        "langfuse.observation.completion_start_time": _iso(o.completion_start_ns),
        "langfuse.observation.prompt.name": o.prompt_name,
        "langfuse.observation.prompt.version": o.prompt_version,
        "langfuse.environment": o.environment,
        "langfuse.release": o.release,
        "langfuse.version": o.version,
        "langfuse.internal.as_root": True if o.is_root and o.parent_id else None,
    }


def _trace_attributes(o: Observation) -> dict[str, Any]:
    t = o.trace
    found: dict[str, Any] = {
        "langfuse.trace.name": t.name,
        "langfuse.trace.tags": list(t.tags) or None,
        "langfuse.trace.metadata": _json(t.metadata),
        "langfuse.trace.public": t.public,
        "langfuse.trace.input": t.input,
        "langfuse.trace.output": t.output,
    }
    if t.session_id is not None:
        found[_source_key(t.session_source, SESSION_ATTRIBUTE)] = t.session_id
    if t.user_id is not None:
        found[_source_key(t.user_source, USER_ATTRIBUTE)] = t.user_id
    return found


def trace_values(trace: TraceSummary, observations: Iterable[Observation]) -> dict[str, Any]:
    """Trace-level values of the summary that no observation carries (a trace-create's)."""
    carried = list(observations)
    found: dict[str, Any] = {}
    root_name = next((o.name for o in carried if o.id == trace.root_id), None)
    if trace.name and trace.name != root_name and not any(o.trace.name for o in carried):
        found["langfuse.trace.name"] = trace.name
    if trace.user_id and not any(o.trace.user_id for o in carried):
        found[USER_ATTRIBUTE] = trace.user_id
    if trace.metadata and not any(o.trace.metadata for o in carried):
        found["langfuse.trace.metadata"] = _json(trace.metadata)
    if trace.tags and not any(o.trace.tags for o in carried):
        found["langfuse.trace.tags"] = list(trace.tags)
    return found


def _source_key(source: str | None, default: str) -> str:
    """The attribute a value was read from, when it is one (not a rule's or a backfill's)."""
    if source and ":" not in source:
        return source
    return default


def _user_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k not in DERIVED_METADATA}


def _other_attributes(o: Observation) -> Mapping[str, Any]:
    other = o.metadata.get("attributes")
    return other if isinstance(other, Mapping) else {}


def _resource_of(o: Observation) -> Mapping[str, Any]:
    resource = o.metadata.get("resourceAttributes")
    return resource if isinstance(resource, Mapping) else {}


def _scope_of(o: Observation) -> Mapping[str, Any]:
    scope = o.metadata.get("scope")
    return scope if isinstance(scope, Mapping) else {"name": "skein-sdk"}


def scope_json(scope: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(scope.get("name") or ""),
        "version": str(scope.get("version") or ""),
        "attributes": attributes_json(scope.get("attributes") or {}),
    }


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


# -- OTLP/JSON AnyValue ----------------------------------------------------------------------------


def attributes_json(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(key), "value": any_value(value)} for key, value in attributes.items()]


def any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": attributes_json(value)}}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(item) for item in value]}}
    return {"stringValue": "" if value is None else str(value)}
