"""`GET /api/public/traces/{id}` written as JSON text straight from the stored rows.

A trace of 200 observations answers a megabyte, nearly all of it the observations' input and
output. Decoding each row into an Observation, shaping a dict per observation and encoding it
all took most of the time; here each observation's JSON is written from its row, its stored
JSON text spliced in (`json_text`). The keys, their order and every value are those of
`shapes.observation_json` (tests/api/test_trace_text.py holds the two to each other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from skein.api.json_text import (
    ENCODER,
    number_text,
    object_text,
    stored_text,
    string_text,
    value_text,
)
from skein.api.shapes import (
    cost_details,
    iso,
    model_parameters,
    seconds,
    trace_json,
    usage_details,
    without_metrics,
)
from skein.fold import TraceSummary
from skein.store.base import TraceIO
from skein.store.rows import OBSERVATION_COLUMNS, Row, from_json


def trace_text(
    project_id: str,
    trace: TraceSummary,
    io: TraceIO | None,
    observations: Sequence[Row],
    scores: list[dict[str, Any]],
    metrics: bool = True,
) -> bytes:
    """Langfuse's `TraceWithFullDetails` as UTF-8 JSON: `shapes.trace_json` (with `io` when
    given, its metrics as -1 without `metrics`), the observations' rows and the scores.

    The text is gathered as pieces and joined once: the observations' input and output, the
    bulk of it, are copied into the answer once instead of once per enclosing string."""
    shaped = trace_json(project_id, trace, None)
    pieces = [ENCODER.encode(shaped if metrics else without_metrics(shaped))[:-1]]
    if io is not None:
        pieces += (',"input":', value_text(io.input), ',"output":', value_text(io.output))
    pieces.append(',"observations":[')
    project = string_text(project_id)
    for index, row in enumerate(observations):
        if index:
            pieces.append(",")
        pieces += observation_pieces(project, row)
    pieces.append(f'],"scores":{ENCODER.encode(scores)}}}')
    return "".join(pieces).encode()


def _columns(*names: str) -> itemgetter[Any]:
    """The values of the named columns of an observation row."""
    return itemgetter(*[OBSERVATION_COLUMNS.index(name) for name in names])


_NAMES = _columns("id", "trace_id", "parent_id", "type", "name")
_TIMES = _columns("start_ns", "end_ns", "completion_start_ns")
_LABELS = _columns("environment", "version", "level", "status_message")
_CONTENT = _columns("input", "output", "metadata")
_MODEL = _columns("model", "model_parameters", "prompt_name", "prompt_version")
_TOKENS = _columns("input_tokens", "output_tokens", "total_tokens")
_COST = _columns("usage", "cost", "total_cost", "cost_source")


def observation_pieces(project: str, row: Row) -> tuple[str, ...]:
    """`shapes.observation_json` of a stored row (`OBSERVATION_COLUMNS`, large text
    unpacked) as pieces of JSON text; `project` is the project id as JSON text. The input
    and output are pieces of their own, so they are copied only into the whole answer."""
    input_text, output_text, metadata = _CONTENT(row)
    return (
        f'{{{_names_members(project, row)},{_times_members(row)},"input":',
        value_text(input_text),
        ',"output":',
        value_text(output_text),
        f',"metadata":{stored_text(metadata)},{_model_members(row)},{_usage_members(row)},',
        f"{_metrics_members(row)}}}",
    )


def _names_members(project: str, row: Row) -> str:
    id, trace_id, parent_id, type, name = map(string_text, _NAMES(row))
    return (
        f'"id":{id},"projectId":{project},"traceId":{trace_id},'
        f'"parentObservationId":{parent_id},"type":{type},"name":{name}'
    )


def _times_members(row: Row) -> str:
    start, end, first_token = map(_iso_text, _TIMES(row))
    environment, version, level, status_message = map(string_text, _LABELS(row))
    return (
        f'"startTime":{start},"endTime":{end},"completionStartTime":{first_token},'
        f'"createdAt":{start},"updatedAt":{end},"environment":{environment},'
        f'"version":{version},"level":{level},"statusMessage":{status_message}'
    )


def _model_members(row: Row) -> str:
    model, parameters, prompt_name, prompt_version = _MODEL(row)
    return (
        f'"model":{string_text(model)},"modelId":null,"internalModelId":null,'
        f'"modelParameters":{_parameters_text(parameters)},'
        '"inputPrice":null,"outputPrice":null,"totalPrice":null,'
        f'"promptId":null,"promptName":{string_text(prompt_name)},'
        f'"promptVersion":{number_text(prompt_version)}'
    )


def _parameters_text(parameters: str | None) -> str:
    """`model_parameters` as JSON text: a stored JSON object as it is."""
    return object_text(parameters) or ENCODER.encode(model_parameters(parameters))


def _usage_members(row: Row) -> str:
    input_tokens, output_tokens, total_tokens = map(number_text, _TOKENS(row))
    usage, cost, total_cost, cost_source = _COST(row)
    costs = from_json(cost)
    input_cost, output_cost = number_text(costs.get("input")), number_text(costs.get("output"))
    total = number_text(total_cost)
    return (
        f'"usage":{{"input":{input_tokens},"output":{output_tokens},"total":{total_tokens},'
        f'"unit":"TOKENS","inputCost":{input_cost},"outputCost":{output_cost},'
        f'"totalCost":{total}}},"usageDetails":{_details_text(usage_details(from_json(usage)))},'
        f'"costDetails":{_details_text(cost_details(costs))},"unit":"TOKENS",'
        f'"promptTokens":{input_tokens},"completionTokens":{output_tokens},'
        f'"totalTokens":{total_tokens},"calculatedInputCost":{input_cost},'
        f'"calculatedOutputCost":{output_cost},"calculatedTotalCost":{total},'
        f'"totalCost":{total},"usagePricingTierName":null,"usagePricingTierId":null,'
        f'"costSource":{string_text(cost_source or None)}'
    )


def _details_text(details: Mapping[str, float]) -> str:
    return ENCODER.encode(details) if details else "{}"


def _metrics_members(row: Row) -> str:
    start_ns, end_ns, first_token_ns = _TIMES(row)
    first_token = None if first_token_ns is None else seconds(first_token_ns - start_ns)
    return (
        f'"latency":{number_text(seconds(end_ns - start_ns))},'
        f'"timeToFirstToken":{number_text(first_token)}'
    )


def _iso_text(ns: int | None) -> str:
    return "null" if ns is None else f'"{iso(ns)}"'
