"""The JSON objects of the read API, in Langfuse's shapes (camelCase) plus Skein's extras.

Every object carries the keys the Langfuse SDKs' response models require
(research: langfuse-wire/python-v4/read_response_models.txt). Times are ISO 8601 in UTC with
milliseconds and `Z`; durations (`latency`, `timeToFirstToken`) are seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping
from typing import Any

from skein.fold import ScoreAggregate, SessionSummary, TraceSummary
from skein.records import Observation
from skein.store.base import TraceIO

NS_PER_SECOND = 1_000_000_000
NS_PER_MS = 1_000_000
# v2 observations cut metadata strings to this many characters unless `expandMetadata` names them.
METADATA_PREVIEW_CHARS = 200
TRACE_FIELD_GROUPS = ("core", "io", "scores", "observations", "metrics")
OBSERVATION_FIELD_GROUPS = (
    "core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics",
    "trace_context",
)  # fmt: skip
DEFAULT_OBSERVATION_FIELDS = ("core", "basic")


def iso(ns: int | None) -> str | None:
    """`2024-05-01T12:00:00.123Z` for a time in nanoseconds since the epoch."""
    if ns is None:
        return None
    seconds, rest = divmod(ns, NS_PER_SECOND)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // NS_PER_MS:03d}Z"


def seconds(ns: int) -> float:
    return ns / NS_PER_SECOND


def json_value(text: str | None) -> Any:
    """Stored text as the JSON value it holds, or the text itself when it is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def html_path(trace_id: str) -> str:
    return f"/traces/{trace_id}"


# -- Traces ----------------------------------------------------------------------------------


def trace_json(project_id: str, trace: TraceSummary, io: TraceIO | None) -> dict[str, Any]:
    """Langfuse's `Trace`, plus Skein's rollups of the trace."""
    shaped: dict[str, Any] = {
        "id": trace.trace_id,
        "projectId": project_id,
        "timestamp": iso(trace.start_ns),
        "name": trace.name,
        "sessionId": trace.session_id,
        "userId": trace.user_id,
        "release": trace.release,
        "version": trace.version,
        "metadata": dict(trace.metadata),
        "tags": list(trace.tags),
        "public": trace.public,
        "bookmarked": False,
        "environment": trace.environment,
        "externalId": None,
        "createdAt": iso(trace.start_ns),
        "updatedAt": iso(trace.end_ns),
        "htmlPath": html_path(trace.trace_id),
        "latency": seconds(trace.duration_ns),
        "totalCost": trace.total_cost,
        "observationCount": trace.observation_count,
        "errorCount": trace.error_count,
        "usage": token_counts(trace.input_tokens, trace.output_tokens, trace.total_tokens),
        "sessionSource": trace.session_source,
    }
    if io is not None:
        shaped["input"] = json_value(io.input)
        shaped["output"] = json_value(io.output)
    return shaped


def token_counts(input_tokens: int, output_tokens: int, total_tokens: int) -> dict[str, int]:
    return {"input": input_tokens, "output": output_tokens, "total": total_tokens}


def without_metrics(shaped: dict[str, Any]) -> dict[str, Any]:
    """A trace listed without the `metrics` group: Langfuse answers -1 for its numbers."""
    return {**shaped, "latency": -1, "totalCost": -1}


# -- Observations (v1) ---------------------------------------------------------------------


def observation_json(project_id: str, o: Observation) -> dict[str, Any]:
    """Langfuse's v1 `ObservationsView` (the legacy `Observation` and its computed fields)."""
    return {
        "id": o.id,
        "projectId": project_id,
        "traceId": o.trace_id,
        "parentObservationId": o.parent_id,
        "type": o.type,
        "name": o.name,
        "startTime": iso(o.start_ns),
        "endTime": iso(o.end_ns),
        "completionStartTime": iso(o.completion_start_ns),
        "createdAt": iso(o.start_ns),
        "updatedAt": iso(o.end_ns),
        "environment": o.environment,
        "version": o.version,
        "level": o.level,
        "statusMessage": o.status_message,
        "input": json_value(o.input),
        "output": json_value(o.output),
        "metadata": dict(o.metadata),
        **_model_fields(o),
        **_prompt_fields(o),
        **_usage_fields(o),
        **_metric_fields(o),
    }


def _model_fields(o: Observation) -> dict[str, Any]:
    return {
        "model": o.model,
        "modelId": None,
        "internalModelId": None,
        "modelParameters": model_parameters(o.model_parameters),
        "inputPrice": None,
        "outputPrice": None,
        "totalPrice": None,
    }


def model_parameters(text: str | None) -> dict[str, Any]:
    """The SDK models want an object: a JSON object as sent, else the value under "value"."""
    value = json_value(text)
    if value is None:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def _prompt_fields(o: Observation) -> dict[str, Any]:
    return {"promptId": None, "promptName": o.prompt_name, "promptVersion": o.prompt_version}


def _usage_fields(o: Observation) -> dict[str, Any]:
    usage = token_counts(o.input_tokens, o.output_tokens, o.total_tokens)
    return {
        "usage": {
            **usage,
            "unit": "TOKENS",
            "inputCost": o.cost.get("input"),
            "outputCost": o.cost.get("output"),
            "totalCost": o.total_cost,
        },
        "usageDetails": usage_details(o.usage),
        "costDetails": cost_details(o.cost),
        "unit": "TOKENS",
        "promptTokens": o.input_tokens,
        "completionTokens": o.output_tokens,
        "totalTokens": o.total_tokens,
        "calculatedInputCost": o.cost.get("input"),
        "calculatedOutputCost": o.cost.get("output"),
        "calculatedTotalCost": o.total_cost,
        "totalCost": o.total_cost,
        "usagePricingTierName": None,
        "usagePricingTierId": None,
        "costSource": o.cost_source,
    }


def usage_details(usage: Mapping[str, float]) -> dict[str, int]:
    """Usage counts as integers (the SDK models declare `Dict[str, int]`), with a `total`."""
    return {key: round(value) for key, value in with_total(usage).items()}


def cost_details(cost: Mapping[str, float]) -> dict[str, float]:
    return {key: float(value) for key, value in with_total(cost).items()}


def with_total(details: Mapping[str, float]) -> dict[str, float]:
    """Details with `total` as sent, else the sum of the other keys (as Langfuse answers)."""
    if not details or "total" in details:
        return dict(details)
    return {**details, "total": sum(details.values())}


def _metric_fields(o: Observation) -> dict[str, Any]:
    first_token = o.completion_start_ns
    return {
        "latency": seconds(o.end_ns - o.start_ns),
        "timeToFirstToken": None if first_token is None else seconds(first_token - o.start_ns),
    }


# -- Observations (v2: field groups) -------------------------------------------------------


def observation_v2_json(
    project_id: str,
    o: Observation,
    trace: TraceSummary | None,
    groups: Collection[str],
    expand_metadata: Collection[str] = (),
) -> dict[str, Any]:
    """Langfuse's `ObservationV2` with the core group and the asked-for `groups`.

    `sessionId`, `userId` and the trace context are the trace's folded values, so an
    observation is in its trace's session even when it never carried the id itself."""
    shaped: dict[str, Any] = {
        "id": o.id,
        "traceId": o.trace_id,
        "startTime": iso(o.start_ns),
        "endTime": iso(o.end_ns),
        "projectId": project_id,
        "parentObservationId": o.parent_id,
        "type": o.type,
        "modelId": None,
        "inputPrice": None,
        "outputPrice": None,
        "totalPrice": None,
    }
    for group in groups:
        shaped.update(_V2_GROUPS.get(group, _no_fields)(o, trace, expand_metadata))
    return shaped


def _no_fields(
    o: Observation, trace: TraceSummary | None, expand: Collection[str]
) -> dict[str, Any]:
    return {}


def _v2_basic(
    o: Observation, trace: TraceSummary | None, expand: Collection[str]
) -> dict[str, Any]:
    return {
        "name": o.name,
        "level": o.level,
        "statusMessage": o.status_message,
        "version": o.version,
        "environment": o.environment,
        "bookmarked": False,
        "public": trace.public if trace else False,
        "userId": trace.user_id if trace else o.trace.user_id,
        "sessionId": trace.session_id if trace else o.trace.session_id,
        "isRootObservation": o.is_root,
    }


def _v2_time(o: Observation, trace: TraceSummary | None, expand: Collection[str]) -> dict[str, Any]:
    return {
        "completionStartTime": iso(o.completion_start_ns),
        "createdAt": iso(o.start_ns),
        "updatedAt": iso(o.end_ns),
    }


def _v2_io(o: Observation, trace: TraceSummary | None, expand: Collection[str]) -> dict[str, Any]:
    return {"input": o.input, "output": o.output}


def _v2_metadata(
    o: Observation, trace: TraceSummary | None, expand: Collection[str]
) -> dict[str, Any]:
    return {"metadata": {k: _preview(k, v, expand) for k, v in o.metadata.items()}}


def _preview(key: str, value: Any, expand: Collection[str]) -> Any:
    if isinstance(value, str) and key not in expand and len(value) > METADATA_PREVIEW_CHARS:
        return value[:METADATA_PREVIEW_CHARS]
    return value


def _v2_model(
    o: Observation, trace: TraceSummary | None, expand: Collection[str]
) -> dict[str, Any]:
    return {
        "model": o.model,
        "providedModelName": o.model,
        "internalModelId": None,
        "modelParameters": model_parameters(o.model_parameters),
    }


def _v2_usage(
    o: Observation, trace: TraceSummary | None, expand: Collection[str]
) -> dict[str, Any]:
    return {
        "usageDetails": usage_details(o.usage),
        "costDetails": cost_details(o.cost),
        "totalCost": o.total_cost,
        "usagePricingTierName": None,
        "costSource": o.cost_source,
    }


def _v2_prompt(
    o: Observation, trace: TraceSummary | None, expand: Collection[str]
) -> dict[str, Any]:
    return _prompt_fields(o)


def _v2_metrics(
    o: Observation, trace: TraceSummary | None, expand: Collection[str]
) -> dict[str, Any]:
    return _metric_fields(o)


def _v2_trace_context(
    o: Observation, trace: TraceSummary | None, expand: Collection[str]
) -> dict[str, Any]:
    return {
        "traceName": trace.name if trace else o.trace.name,
        "tags": list(trace.tags if trace else o.trace.tags),
        "release": trace.release if trace else o.release,
    }


_V2_GROUPS = {
    "basic": _v2_basic,
    "time": _v2_time,
    "io": _v2_io,
    "metadata": _v2_metadata,
    "model": _v2_model,
    "usage": _v2_usage,
    "prompt": _v2_prompt,
    "metrics": _v2_metrics,
    "trace_context": _v2_trace_context,
}


# -- Sessions --------------------------------------------------------------------------------


def session_json(project_id: str, s: SessionSummary) -> dict[str, Any]:
    """Langfuse's `Session`, plus the session's rollups."""
    return {
        "id": s.session_id,
        "projectId": project_id,
        "createdAt": iso(s.first_ns),
        "environment": s.environments[0] if s.environments else "default",
        "bookmarked": False,
        "public": False,
        "traceCount": s.trace_count,
        "firstActivity": iso(s.first_ns),
        "lastActivity": iso(s.last_ns),
        "durationMs": s.duration_ns / NS_PER_MS,
        "observationCount": s.observation_count,
        "errorCount": s.error_count,
        "usage": token_counts(s.input_tokens, s.output_tokens, s.total_tokens),
        "totalCost": s.total_cost,
        "userIds": list(s.user_ids),
        "tags": list(s.tags),
        "environments": list(s.environments),
        "sessionSources": list(s.sources),
        "scores": {name: score_aggregate_json(a) for name, a in s.scores.items()},
    }


def score_aggregate_json(aggregate: ScoreAggregate) -> dict[str, Any]:
    return {
        "dataType": aggregate.data_type,
        "count": aggregate.count,
        "average": aggregate.average,
        "minimum": aggregate.minimum,
        "maximum": aggregate.maximum,
        "values": dict(aggregate.values),
    }
