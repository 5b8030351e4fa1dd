"""The plain records that cross Skein's internal boundaries.

Decoding turns wire formats into these, mapping turns spans into observations, and the
store writes and reads them. Nothing past the decoder sees protobuf or raw JSON.

    OTLP body ──decode──► Span ──map──► Observation (+ TraceAttributes, IngestWarning)
                                              │
                                         store.write ──► traces, sessions (folded, rolled up)

Times are integers in nanoseconds since the Unix epoch. Ids are lowercase hex strings:
32 characters for a trace, 16 for a span.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

# A decoded OTLP AnyValue: str, bool, int, float, None, a list of these (arrayValue),
# a dict of these (kvlistValue), or bytes (bytesValue).
AttributeValue: TypeAlias = Any
Attributes: TypeAlias = Mapping[str, AttributeValue]

OBSERVATION_TYPES = (
    "SPAN",
    "GENERATION",
    "EVENT",
    "AGENT",
    "TOOL",
    "CHAIN",
    "RETRIEVER",
    "EMBEDDING",
    "EVALUATOR",
    "GUARDRAIL",
)
LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
# A Langfuse `trace-create` is stored as one extra row of its trace: this type and id, rooted,
# carrying the trace's own values. `fold_trace` ranks it first and leaves it out of the counts;
# observation lists leave it out.
TRACE_CARRIER_TYPE = "TRACE"
TRACE_CARRIER_ID = ""

STATUS_UNSET = 0
STATUS_OK = 1
STATUS_ERROR = 2


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resource:
    """The resource and instrumentation scope a span was reported under (shared, not copied)."""

    attributes: Attributes = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""
    scope_attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Span:
    """One OTLP span as decoded from protobuf or JSON, before any interpretation."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    kind: int = 0
    status_code: int = STATUS_UNSET
    status_message: str = ""
    attributes: Attributes = field(default_factory=dict)
    events: tuple[SpanEvent, ...] = ()
    resource: Resource = field(default_factory=Resource)


@dataclass(frozen=True, slots=True)
class RejectedSpan:
    """A span the decoder or mapper could not use; reported through OTLP partial_success."""

    index: int
    reason: str
    trace_id: str | None = None
    span_id: str | None = None


@dataclass(frozen=True, slots=True)
class DecodedRequest:
    spans: tuple[Span, ...]
    rejected: tuple[RejectedSpan, ...] = ()


@dataclass(frozen=True, slots=True)
class TraceAttributes:
    """Trace-level values carried by one span. Any span may carry them; the store folds them.

    `session_source` and `user_source` name the attribute key the value was read from
    (its provenance), e.g. "session.id" or "langfuse.observation.metadata.langfuseSessionId".
    """

    session_id: str | None = None
    session_source: str | None = None
    user_id: str | None = None
    user_source: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    public: bool | None = None
    input: str | None = None
    output: str | None = None


@dataclass(frozen=True, slots=True)
class IngestWarning:
    """Something Skein noticed and worked around while ingesting; stored and shown."""

    trace_id: str
    span_id: str | None
    code: str  # e.g. "session_id_too_long", "session_id_empty", "session_id_not_string"
    message: str


@dataclass(frozen=True, slots=True)
class Observation:
    """One span as Skein stores it: typed, with its own values and its trace-level values.

    `input`, `output` and `model_parameters` are text as sent (usually JSON). `usage` and
    `cost` are normalised detail maps ({"input": 10, "output": 20, "total": 30}); the
    `*_tokens` and `total_cost` fields are derived from them for rollups.
    """

    id: str
    trace_id: str
    parent_id: str | None
    is_root: bool
    name: str
    type: str
    start_ns: int
    end_ns: int
    level: str = "DEFAULT"
    status_message: str | None = None
    input: str | None = None
    output: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None
    model_parameters: str | None = None
    usage: Mapping[str, float] = field(default_factory=dict)
    cost: Mapping[str, float] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    total_cost: float | None = None
    completion_start_ns: int | None = None
    environment: str = "default"
    release: str | None = None
    version: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    trace: TraceAttributes = field(default_factory=TraceAttributes)
    # Where `cost` came from: "sdk" (sent), "price:<id>" (Skein's price table) or
    # "project-price:<id>" (the project's own price); None without a cost.
    cost_source: str | None = None


@dataclass(frozen=True, slots=True)
class EventPatch:
    """The values one Langfuse ingestion event sets on one observation or trace.

    `kind` is "observation" or "trace"; `target_id` is that observation's or trace's id.
    `values` maps field names to JSON values, only those the event set. The store keeps every
    patch (one per target and event id: a re-sent event changes nothing) and rebuilds the
    target by merging all its patches (`skein.patches`).
    """

    kind: str
    target_id: str
    event_id: str
    timestamp_ns: int
    is_update: bool
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Score:
    """A score on a trace, an observation (with its trace) or a session.

    NUMERIC scores have `value`; BOOLEAN ones `value` 0 or 1 and `string_value` "True" or
    "False"; CATEGORICAL ones `string_value` (and `value` when sent as a number).
    """

    id: str
    name: str
    data_type: str
    value: float | None
    string_value: str | None
    timestamp_ns: int
    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    source: str = "API"
    comment: str | None = None
    config_id: str | None = None
    environment: str = "default"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_ns: int = 0
    updated_ns: int = 0


@dataclass(frozen=True, slots=True)
class MappedBatch:
    """What one ingestion request contributes: stored in one transaction with its neighbours.

    `patches` and `scores` come from the Langfuse batch and score endpoints; `pricing`, when
    given, is applied to every observation the store rebuilds from patches (cost from prices).
    """

    project_id: str
    observations: tuple[Observation, ...]
    warnings: tuple[IngestWarning, ...] = ()
    rejected: tuple[RejectedSpan, ...] = ()
    patches: tuple[EventPatch, ...] = ()
    scores: tuple[Score, ...] = ()
    pricing: Callable[[Observation], Observation] | None = None

    @property
    def size(self) -> int:
        """How many items it brings to write (for the writer's queue limits)."""
        return len(self.observations) + len(self.patches) + len(self.scores)
