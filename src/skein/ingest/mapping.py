"""Turning decoded spans into observations: types, levels, I/O, usage, and trace values.

    Span ──map_span──► Observation (+ its TraceAttributes) and IngestWarnings

`map_span` reads every convention Skein knows (Langfuse, OTel GenAI, OpenInference,
Traceloop, Vercel AI, MLflow) in the precedence langfuse-server.md §1.4–1.6 describes; the
alias tables live in `conventions`, I/O in `messages`, usage and cost in `usage`. It is total
over its input: a value of the wrong type is ignored or stringified, never raised on. The
only spans it refuses (`MappingError`) are those that cannot be stored: no ids, or times
outside 1970-01-02..2262-01-01. `map_request` maps a whole request; a refused span becomes a
`RejectedSpan` and never takes its neighbours with it.

What comes out is always storable: metadata is strict JSON (bytes as base64, NaN and
infinities as strings, nesting bounded) and text has no lone surrogates (a `"\\ud800"`
escape inside a JSON-encoded value becomes U+FFFD), so one odd value cannot fail a commit.

Mapping runs for every span, so what a request's spans share is worked out once
(`RequestMemo`): each resource's values, and each attribute key set's `KeyShape`, which
says which readers have any key to read: a reader whose keys a span has none of is not
called (`READ_KEYS` lists them; its empty value is what it would return), so every
convention is still read, at the cost of a dict lookup for the spans that use none of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from skein.ingest.conventions import (
    METADATA_BLOBS,
    OBSERVATION_METADATA_BLOB,
    OBSERVATION_METADATA_PREFIXES,
    PUBLIC_KEYS,
    SESSION_ALIASES,
    SESSION_KEYS,
    TAG_ALIASES,
    TRACE_METADATA_BLOB,
    TRACE_METADATA_PREFIXES,
    USER_ALIASES,
    USER_KEYS,
    IdProblem,
    as_text,
    clean_text,
    find_id,
    first_text,
    flattened_keys,
    is_true,
    jsonable,
    keys_present,
    merged_metadata,
    read_id,
    read_public,
    read_tags,
    text_of,
    unquote,
)
from skein.ingest.messages import (
    INPUT_INDEXED_PREFIXES,
    INPUT_KEYS,
    OUTPUT_INDEXED_PREFIXES,
    OUTPUT_KEYS,
    Found,
    extract_input,
    extract_output,
)
from skein.ingest.usage import (
    COST_KEY,
    COST_TOTAL_KEYS,
    GENKIT_SUBTYPE_KEY,
    MODEL_KEYS,
    PARAMETER_KEYS,
    PARAMETER_PREFIXES,
    USAGE_KEY,
    USAGE_PREFIXES,
    is_vercel_aggregate,
    read_cost,
    read_model,
    read_model_parameters,
    read_usage,
    token_counts,
    total_cost,
)
from skein.records import (
    OBSERVATION_TYPES,
    STATUS_ERROR,
    STATUS_OK,
    DecodedRequest,
    IngestWarning,
    MappedBatch,
    Observation,
    RejectedSpan,
    Resource,
    Span,
    SpanEvent,
    TraceAttributes,
)

logger = logging.getLogger(__name__)

NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND
MIN_TIME_NS = NS_PER_DAY  # 1970-01-02: anything earlier is an unset or broken clock
# The databases store ns as signed 64-bit integers, which run out in April 2262.
MAX_TIME_NS = (date(2262, 1, 1) - date(1970, 1, 1)).days * NS_PER_DAY
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LEVEL_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(("DEBUG", "TRACE", "VERBOSE"), "DEBUG"),
    **dict.fromkeys(("DEFAULT", "INFO", "LOG", "NOTICE", "OK", "SUCCESS"), "DEFAULT"),
    **dict.fromkeys(("WARN", "WARNING"), "WARNING"),
    **dict.fromkeys(("ERROR", "FATAL", "CRITICAL"), "ERROR"),
}
EXCEPTION_EVENT = "exception"
LANGFUSE_TYPES: Mapping[str, str] = {kind.lower(): kind for kind in OBSERVATION_TYPES}
OPENINFERENCE_KINDS: Mapping[str, str] = {
    "CHAIN": "CHAIN",
    "RETRIEVER": "RETRIEVER",
    "LLM": "GENERATION",
    "EMBEDDING": "EMBEDDING",
    "AGENT": "AGENT",
    "TOOL": "TOOL",
    "GUARDRAIL": "GUARDRAIL",
    "EVALUATOR": "EVALUATOR",
}
GENAI_OPERATIONS: Mapping[str, str] = {
    **dict.fromkeys(
        ("chat", "completion", "text_completion", "generate_content", "generate"), "GENERATION"
    ),
    "embeddings": "EMBEDDING",
    "invoke_agent": "AGENT",
    "create_agent": "AGENT",
    "execute_tool": "TOOL",
}
GENKIT_SUBTYPES: Mapping[str, str] = {
    "model": "GENERATION",
    "background-model": "GENERATION",
    "embedder": "EMBEDDING",
    "tool": "TOOL",
    "tool.v2": "TOOL",
    "retriever": "RETRIEVER",
    "evaluator": "EVALUATOR",
}
VERCEL_OPERATIONS: Mapping[str, str] = {
    "ai.generateText.doGenerate": "GENERATION",
    "ai.streamText.doStream": "GENERATION",
    "ai.generateObject.doGenerate": "GENERATION",
    "ai.streamObject.doStream": "GENERATION",
    "ai.embed.doEmbed": "EMBEDDING",
    "ai.embedMany.doEmbed": "EMBEDDING",
}
# The declared-type rules of §1.6, in order: (attribute, table, how its value is folded).
TYPE_TABLES: tuple[tuple[str, Mapping[str, str], Callable[[str], str]], ...] = (
    ("langfuse.observation.type", LANGFUSE_TYPES, str.lower),
    ("openinference.span.kind", OPENINFERENCE_KINDS, str.upper),
    ("gen_ai.operation.name", GENAI_OPERATIONS, str.lower),
    ("genkit:metadata:subtype", GENKIT_SUBTYPES, str.lower),
)
VERCEL_TYPE_KEYS = ("operation.name", "ai.operationId")
TOOL_TYPE_KEYS = ("gen_ai.tool.name", "gen_ai.tool.call.id")
MODEL_TYPE_KEYS = (
    "langfuse.observation.model.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "model",
)
GENERATION_ATTRIBUTES = (
    "langfuse.observation.model.name",
    "langfuse.observation.usage_details",
    "langfuse.observation.cost_details",
    "langfuse.observation.completion_start_time",
    "langfuse.observation.model.parameters",
    "langfuse.observation.prompt.name",
)
NAME_KEYS = ("gen_ai.tool.name", "genkit:name", "logfire.msg", "ai.toolCall.name")
VERCEL_NAME_KEY = "ai.operationId"  # named `<ai.telemetry.functionId>:<operation id>`
ENVIRONMENT_KEYS = ("langfuse.environment", "deployment.environment.name", "deployment.environment")
ENVIRONMENT_PATTERN = re.compile(r"[a-z0-9_-]+")
ENVIRONMENT_PREFIX = re.compile(r"^(?:langfuse[-_]?)+")
MAX_ENVIRONMENT_LENGTH = 40
PROMPT_PREFIXES = ("langfuse.observation.prompt.", "langfuse.prompt.")
TRACE_NAME_KEY = "langfuse.trace.name"
TRACE_INPUT_KEY = "langfuse.trace.input"
TRACE_OUTPUT_KEY = "langfuse.trace.output"
MAX_PROMPT_VERSION = 2**31 - 1
# Span attributes the mapping reads; left out of the catch-all `attributes` metadata.
CONSUMED_PREFIXES = (
    "langfuse.",
    "gen_ai.prompt",
    "gen_ai.completion",
    "llm.input_messages",
    "llm.output_messages",
    "ai.telemetry.metadata.",
    "traceloop.association.properties.",
)
CONSUMED_KEYS = frozenset((*SESSION_KEYS, *USER_KEYS, "tag.tags"))

# Scopes of SDKs whose every attribute the mapping consumes: no catch-all "attributes".
SDK_SCOPES = ("langfuse-sdk", "skein-sdk")

# The attribute keys, and key prefixes, that each of these readers reads. A span with none
# of a reader's keys gets the reader's empty value without it running (see `KeyShape`).
READ_KEYS: Mapping[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "session": (frozenset((*SESSION_ALIASES.keys, *METADATA_BLOBS)), ()),
    "user": (frozenset((*USER_ALIASES.keys, *METADATA_BLOBS)), ()),
    "tags": (frozenset((*TAG_ALIASES, *METADATA_BLOBS)), ()),
    "trace_metadata": (frozenset((TRACE_METADATA_BLOB,)), TRACE_METADATA_PREFIXES),
    "trace_values": (
        frozenset((TRACE_NAME_KEY, TRACE_INPUT_KEY, TRACE_OUTPUT_KEY, *PUBLIC_KEYS)),
        (),
    ),
    "model": (frozenset((*MODEL_KEYS, GENKIT_SUBTYPE_KEY)), ()),
    "type": (
        frozenset(
            (
                *(key for key, _, _ in TYPE_TABLES),
                *VERCEL_TYPE_KEYS,
                *TOOL_TYPE_KEYS,
                *MODEL_TYPE_KEYS,
            )
        ),
        (),
    ),
    "input": (INPUT_KEYS, INPUT_INDEXED_PREFIXES),
    "output": (OUTPUT_KEYS, OUTPUT_INDEXED_PREFIXES),
    "usage": (frozenset((USAGE_KEY,)), USAGE_PREFIXES),
    "cost": (frozenset((COST_KEY, *COST_TOTAL_KEYS)), ()),
    "parameters": (frozenset(PARAMETER_KEYS), PARAMETER_PREFIXES),
    "prompt": (frozenset(prefix + "name" for prefix in PROMPT_PREFIXES), ()),
    "name": (frozenset((*NAME_KEYS, VERCEL_NAME_KEY)), ()),
    "observation_metadata": (
        frozenset((OBSERVATION_METADATA_BLOB,)),
        OBSERVATION_METADATA_PREFIXES,
    ),
    "environment": (frozenset(ENVIRONMENT_KEYS), ()),
}
NO_ID_FOUND: tuple[None, None, tuple[IdProblem, ...]] = (None, None, ())
# (session id, its source key, user id, its source key)
TraceIds = tuple[str | None, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class IngestContext:
    """What the request headers say about the sender; all optional."""

    sdk_name: str | None = None
    sdk_version: str | None = None
    ingestion_version: int | None = None


class MappingError(Exception):
    """A span that cannot be stored; the message is the reason reported to the sender."""


def map_request(decoded: DecodedRequest, project_id: str, context: IngestContext) -> MappedBatch:
    """Map every span of a request; spans that fail join the decoder's rejections."""
    observations: list[Observation] = []
    warnings: list[IngestWarning] = []
    rejected = list(decoded.rejected)
    indexes = request_indexes(len(decoded.spans), decoded.rejected)
    memo = RequestMemo()
    python_repr = sends_python_repr(context)
    for index, span in zip(indexes, decoded.spans, strict=True):
        try:
            observation, span_warnings = _map_span(span, python_repr, memo)
        except MappingError as error:
            rejected.append(_rejected(index, span, str(error)))
            continue
        except Exception as error:  # a mapper bug must not lose the request's other spans
            logger.exception("could not map span %s of trace %s", span.span_id, span.trace_id)
            rejected.append(_rejected(index, span, f"internal error while mapping: {error!r}"))
            continue
        observations.append(observation)
        warnings.extend(span_warnings)
    rejected.sort(key=lambda item: item.index)
    return MappedBatch(project_id, tuple(observations), tuple(warnings), tuple(rejected))


def request_indexes(count: int, rejected: Sequence[RejectedSpan]) -> list[int]:
    """The request positions of the `count` decoded spans: those the decoder did not reject."""
    skipped = {item.index for item in rejected}
    indexes: list[int] = []
    position = 0
    while len(indexes) < count:
        if position not in skipped:
            indexes.append(position)
        position += 1
    return indexes


def _rejected(index: int, span: Span, reason: str) -> RejectedSpan:
    return RejectedSpan(index, reason, span.trace_id or None, span.span_id or None)


def map_span(
    span: Span, context: IngestContext, memo: RequestMemo | None = None
) -> tuple[Observation, list[IngestWarning]]:
    """One span as an observation, with the warnings about what was worked around.

    `memo` shares what is worked out once per resource and key set between a request's spans."""
    return _map_span(span, sends_python_repr(context), memo or RequestMemo())


def _map_span(
    span: Span, python_repr: bool, memo: RequestMemo
) -> tuple[Observation, list[IngestWarning]]:
    _check_ids(span)
    start_ns, end_ns = span_times(span)
    shape = memo.shape(span.attributes)
    trace, problems = _trace_attributes(span.attributes, python_repr, shape, memo)
    warnings = [_warning(span, problem.code, problem.message) for problem in problems]
    if end_ns < start_ns:
        message = f"span ends {start_ns - end_ns} ns before it starts; end set to its start"
        warnings.append(_warning(span, "end_before_start", message))
        end_ns = start_ns
    values = memo.resource(span.resource)
    return _observation(span, start_ns, end_ns, trace, python_repr, shape, values), warnings


def read_session_id(attributes: Mapping[str, Any]) -> tuple[str | None, str | None, list[str]]:
    """(session id, the key it came from, why other candidate values were not used)."""
    reading = read_id(attributes, SESSION_ALIASES)
    return reading.value, reading.source, [problem.message for problem in reading.problems]


def _warning(span: Span, code: str, message: str) -> IngestWarning:
    return IngestWarning(span.trace_id, span.span_id or None, code, message)


def sends_python_repr(context: IngestContext) -> bool:
    """Whether metadata may be Python reprs: Python SDK 4.x, or a sender that is not known."""
    if context.ingestion_version is not None and context.ingestion_version >= 4:
        return False
    name = (context.sdk_name or "").strip().lower()
    if not name:
        return True
    major = _major_version(context.sdk_version)
    return name == "python" and major in (None, 4)


def _major_version(version: str | None) -> int | None:
    match = re.match(r"\s*(\d{1,4})", version or "")
    return int(match.group(1)) if match else None


# ── Ids and times ─────────────────────────────────────────────────────────────────────


def _check_ids(span: Span) -> None:
    trace_id, span_id = span.trace_id, span.span_id
    if (
        type(trace_id) is str
        and type(span_id) is str
        and trace_id.strip("0")
        and span_id.strip("0")
    ):
        return  # the common case; the loop below finds which id is wrong
    for label, value in (("trace id", span.trace_id), ("span id", span.span_id)):
        if not isinstance(value, str) or not value.strip("0"):
            raise MappingError(f"the span has no valid {label} ({value!r})")


def span_times(span: Span) -> tuple[int, int]:
    """(start, end) in ns; a missing one copies the other. Raises for unusable times."""
    start_ns, end_ns = span.start_ns, span.end_ns
    if not start_ns and not end_ns:
        raise MappingError("the span has neither a start nor an end time")
    start_ns, end_ns = start_ns or end_ns, end_ns or start_ns
    if MIN_TIME_NS <= start_ns <= MAX_TIME_NS and MIN_TIME_NS <= end_ns <= MAX_TIME_NS:
        return start_ns, end_ns
    for label, value in (("start", start_ns), ("end", end_ns)):
        if not MIN_TIME_NS <= value <= MAX_TIME_NS:
            raise MappingError(
                f"the span's {label} time ({value} ns since the epoch) is outside"
                " 1970-01-02..2262-01-01"
            )
    return start_ns, end_ns


def parent_id(span: Span) -> str | None:
    parent = span.parent_span_id
    return parent if parent and parent.strip("0") else None


def completion_start_ns(value: Any) -> int | None:
    """An ISO timestamp (possibly JSON-quoted twice over) in ns; None if unreadable."""
    if not isinstance(value, str):
        return None
    text = unquote(unquote(value.strip())).strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000
    return ns if MIN_TIME_NS <= ns <= MAX_TIME_NS else None


# ── Trace-level values ────────────────────────────────────────────────────────────────


def _trace_attributes(
    attributes: Mapping[str, Any], python_repr: bool, shape: KeyShape, memo: RequestMemo
) -> tuple[TraceAttributes, list[IdProblem]]:
    """The trace-level values a span carries, and the unusable ids it passed over."""
    session_id, session_source, session_problems = (
        find_id(attributes, SESSION_ALIASES, shape.session_keys) if shape.session else NO_ID_FOUND
    )
    user_id, user_source, user_problems = (
        find_id(attributes, USER_ALIASES, shape.user_keys) if shape.user else NO_ID_FOUND
    )
    problems = [*session_problems, *user_problems]
    ids = (session_id, session_source, user_id, user_source)
    if shape.trace_metadata or shape.trace_values or shape.tags:
        return _trace_with_values(attributes, python_repr, shape, ids), problems
    return memo.trace_of_ids(ids), problems


def _trace_with_values(
    attributes: Mapping[str, Any], python_repr: bool, shape: KeyShape, ids: TraceIds
) -> TraceAttributes:
    session_id, session_source, user_id, user_source = ids
    metadata = (
        merged_metadata(
            attributes, TRACE_METADATA_BLOB, shape.trace_metadata_keys, python_repr=python_repr
        )
        if shape.trace_metadata
        else {}
    )
    name, public, input_text, output_text = (
        _trace_values(attributes) if shape.trace_values else (None, None, None, None)
    )
    return TraceAttributes(
        session_id=session_id,
        session_source=session_source,
        user_id=user_id,
        user_source=user_source,
        name=name,
        tags=read_tags(attributes, python_repr=python_repr) if shape.tags else (),
        metadata=jsonable(metadata),
        public=public,
        input=input_text,
        output=output_text,
    )


def _trace_values(
    attributes: Mapping[str, Any],
) -> tuple[str | None, bool | None, str | None, str | None]:
    """The trace's name, public flag, input and output."""
    return (
        text_of(attributes.get(TRACE_NAME_KEY)),
        read_public(attributes),
        as_text(attributes.get(TRACE_INPUT_KEY)),
        as_text(attributes.get(TRACE_OUTPUT_KEY)),
    )


# ── The observation ───────────────────────────────────────────────────────────────────


def _observation(
    span: Span,
    start_ns: int,
    end_ns: int,
    trace: TraceAttributes,
    python_repr: bool,
    shape: KeyShape,
    values: ResourceValues,
) -> Observation:
    attributes = span.attributes
    aggregate = is_vercel_aggregate(attributes, span.resource.scope_name)
    model = read_model(attributes) if shape.model and not aggregate else None
    kind = observation_type(span, model, values) if shape.type else "SPAN"
    found_input = extract_input(span) if shape.input or span.events else None
    found_output = extract_output(span) if shape.output or span.events else None
    usage = read_usage(attributes) if shape.usage and not aggregate else {}
    cost = read_cost(attributes) if shape.cost and not aggregate else {}
    input_tokens, output_tokens, total_tokens = token_counts(usage)
    prompt_name, prompt_version = (
        read_prompt(attributes) if kind == "GENERATION" and shape.prompt else (None, None)
    )
    parent = parent_id(span)
    return Observation(
        id=span.span_id,
        trace_id=span.trace_id,
        parent_id=parent,
        is_root=parent is None or is_true(attributes.get("langfuse.internal.as_root")),
        name=observation_name(span) if shape.name else span_name(span),
        type=kind,
        start_ns=start_ns,
        end_ns=end_ns,
        level=observation_level(span),
        status_message=status_message(span),
        input=as_text(found_input.value) if found_input else None,
        output=as_text(found_output.value) if found_output else None,
        metadata=observation_metadata(
            span, _used_keys(values, found_input, found_output), python_repr, shape, values
        ),
        model=model,
        model_parameters=(
            read_model_parameters(attributes) if shape.parameters and not aggregate else None
        ),
        usage=usage,
        cost=cost,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
        total_cost=total_cost(cost),
        completion_start_ns=completion_start_ns(
            attributes.get("langfuse.observation.completion_start_time")
        ),
        environment=read_environment(span) if shape.environment else values.environment,
        release=_span_then_resource(attributes, "langfuse.release", values.release),
        version=_span_then_resource(attributes, "langfuse.version", values.version),
        prompt_name=prompt_name,
        prompt_version=prompt_version,
        trace=trace,
    )


def _used_keys(
    values: ResourceValues, found_input: Found | None, found_output: Found | None
) -> frozenset[str]:
    """The attribute keys input and output were read from (only SDK scopes need none)."""
    if values.sdk_scope:
        return frozenset()  # observation_metadata has no catch-all to leave them out of
    return _found_keys(found_input) | _found_keys(found_output)


def _found_keys(found: Found | None) -> frozenset[str]:
    return frozenset(found.keys) if found else frozenset()


def observation_name(span: Span) -> str:
    """Tool, Genkit, Logfire and Vercel names win over the span name (§1.4 step 8)."""
    attributes = span.attributes
    name = first_text(attributes, NAME_KEYS)
    if name is not None:
        return name
    operation = text_of(attributes.get(VERCEL_NAME_KEY))
    if operation is not None:
        function = text_of(attributes.get("ai.telemetry.functionId"))
        return f"{function}:{operation}" if function else operation
    return span_name(span)


def span_name(span: Span) -> str:
    return clean_text(span.name) if isinstance(span.name, str) else str(span.name)


def observation_type(span: Span, model: str | None, values: ResourceValues) -> str:
    """The first type rule that applies (§1.6), else SPAN."""
    attributes = span.attributes
    if values.legacy_python and _legacy_python_generation(attributes):
        return "GENERATION"
    for key, table, fold in TYPE_TABLES:
        value = attributes.get(key)
        if isinstance(value, str):
            kind = table.get(fold(value.strip()))
            if kind is not None:
                return kind
    return (
        _vercel_type(attributes, model)
        or _tool_type(attributes)
        or _model_type(attributes)
        or "SPAN"
    )


def _legacy_python_generation(attributes: Mapping[str, Any]) -> bool:
    """Python SDK ≤ 3.3.0 sent generations as type "span" with generation attributes."""
    if attributes.get("langfuse.observation.type") != "span":
        return False
    return any(attributes.get(key) is not None for key in GENERATION_ATTRIBUTES)


def is_legacy_python_sdk(resource: Resource) -> bool:
    """Python SDK ≤ 3.3.0 (see `_legacy_python_generation`)."""
    return (
        resource.scope_name == "langfuse-sdk"
        and resource.attributes.get("telemetry.sdk.language") == "python"
        and _version_at_most(resource.scope_version, (3, 3, 0))
    )


def _version_at_most(version: str, limit: tuple[int, ...]) -> bool:
    parts = re.findall(r"\d{1,6}", version)[: len(limit)]
    return bool(parts) and tuple(int(part) for part in parts) <= limit


def _vercel_type(attributes: Mapping[str, Any], model: str | None) -> str | None:
    operation = attributes.get("operation.name")
    operation = operation if isinstance(operation, str) else ""
    operation_id = attributes.get(VERCEL_NAME_KEY)
    if model is not None:
        for name, kind in VERCEL_OPERATIONS.items():
            if operation.startswith(name) or operation_id == name:
                return kind
    calls = (operation, operation_id if isinstance(operation_id, str) else "")
    return "TOOL" if any(text.startswith("ai.toolCall") for text in calls) else None


def _tool_type(attributes: Mapping[str, Any]) -> str | None:
    return "TOOL" if any(attributes.get(key) is not None for key in TOOL_TYPE_KEYS) else None


def _model_type(attributes: Mapping[str, Any]) -> str | None:
    return "GENERATION" if first_text(attributes, MODEL_TYPE_KEYS) is not None else None


def observation_level(span: Span) -> str:
    """The explicit level (aliases allowed), else ERROR for an error status or exception."""
    explicit = span.attributes.get("langfuse.observation.level")
    if isinstance(explicit, str) and explicit.strip().upper() in LEVEL_ALIASES:
        return LEVEL_ALIASES[explicit.strip().upper()]
    if span.status_code == STATUS_ERROR:
        return "ERROR"
    if span.status_code != STATUS_OK and exception_event(span) is not None:
        return "ERROR"
    return "DEFAULT"


def status_message(span: Span) -> str | None:
    """The explicit status message, else the OTel status message, else the exception."""
    explicit = text_of(span.attributes.get("langfuse.observation.status_message"))
    if explicit is not None:
        return explicit
    if isinstance(span.status_message, str) and span.status_message:
        return clean_text(span.status_message)
    event = exception_event(span)
    return exception_text(event) if event is not None else None


def exception_event(span: Span) -> SpanEvent | None:
    if not span.events:
        return None
    return next((event for event in span.events if event.name == EXCEPTION_EVENT), None)


def exception_text(event: SpanEvent) -> str | None:
    kind = text_of(event.attributes.get("exception.type"))
    message = text_of(event.attributes.get("exception.message"))
    if kind and message:
        return f"{kind}: {message}"
    return kind or message


def read_environment(span: Span) -> str:
    """The first environment key set on the span or else its resource, normalised."""
    for key in ENVIRONMENT_KEYS:
        for source in (span.attributes, span.resource.attributes):
            value = source.get(key)
            if isinstance(value, str) and value:
                return normalised_environment(value)
    return "default"


def resource_environment(attributes: Mapping[str, Any]) -> str:
    """`read_environment` of a span without any environment key of its own."""
    for key in ENVIRONMENT_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return normalised_environment(value)
    return "default"


def normalised_environment(value: str) -> str:
    """Lowercase, without `langfuse` prefixes, at most 40 of [a-z0-9_-]; else "default"."""
    text = ENVIRONMENT_PREFIX.sub("", value.lower())[:MAX_ENVIRONMENT_LENGTH]
    return text if ENVIRONMENT_PATTERN.fullmatch(text) else "default"


def _span_then_resource(
    attributes: Mapping[str, Any], span_key: str, resource_text: str | None
) -> str | None:
    found = text_of(attributes.get(span_key))
    return found if found is not None else resource_text


def read_prompt(attributes: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """The linked prompt's name and version (the caller applies it to generations only)."""
    for prefix in PROMPT_PREFIXES:
        name = text_of(attributes.get(prefix + "name"))
        if name is not None:
            return name, prompt_version(attributes.get(prefix + "version"))
    return None, None


def prompt_version(value: Any) -> int | None:
    """A prompt version from an int or a string of digits; None for anything else."""
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= MAX_PROMPT_VERSION else None
    return None


# ── Metadata ──────────────────────────────────────────────────────────────────────────


def observation_metadata(
    span: Span,
    used_keys: frozenset[str],
    python_repr: bool,
    shape: KeyShape,
    values: ResourceValues,
) -> dict[str, Any]:
    """The user's observation metadata, plus resource, scope and (non-SDK) other attributes."""
    attributes = span.attributes
    converted: dict[str, Any] = (
        jsonable(
            merged_metadata(
                attributes,
                OBSERVATION_METADATA_BLOB,
                shape.observation_metadata_keys,
                python_repr=python_repr,
            )
        )
        if shape.observation_metadata
        else {}
    )
    # After the user's keys, or in place of a user key of the same name; made, and shared.
    converted["resourceAttributes"], converted["scope"] = values.metadata, values.scope_metadata
    if not values.sdk_scope:
        unconsumed = {key: attributes[key] for key in shape.unconsumed_keys if key not in used_keys}
        converted["attributes"] = jsonable(unconsumed, 1)  # as deep as the user's keys' values
    return converted


def _consumed(key: str) -> bool:
    """Whether the mapping reads `key` whatever its value (input and output keys aside)."""
    return key in CONSUMED_KEYS or key.startswith(CONSUMED_PREFIXES)


# ── What a request's spans share ──────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class KeyShape:
    """What a span's attribute keys alone decide: which readers of `READ_KEYS` have any key
    to read (the others are not called: their empty values are what they would return), and
    the keys some readers look for, in the order they take them.

    A request's spans have few distinct key sets: `RequestMemo` works this out once for each.
    """

    session_keys: tuple[str, ...]  # the session alias keys present, in precedence order
    user_keys: tuple[str, ...]
    trace_metadata_keys: tuple[tuple[str, str], ...]  # (key, name) of flattened metadata
    observation_metadata_keys: tuple[tuple[str, str], ...]
    unconsumed_keys: tuple[str, ...]  # the catch-all metadata's, less input and output keys

    session: bool
    user: bool
    tags: bool
    trace_metadata: bool
    trace_values: bool
    model: bool
    type: bool
    input: bool
    output: bool
    usage: bool
    cost: bool
    parameters: bool
    prompt: bool
    name: bool
    observation_metadata: bool
    environment: bool


def key_shape(keys: Collection[str]) -> KeyShape:
    """The `KeyShape` of a span whose attribute keys are `keys` (in attribute order)."""
    return KeyShape(
        session_keys=tuple(keys_present(keys, SESSION_ALIASES.ranks)),
        user_keys=tuple(keys_present(keys, USER_ALIASES.ranks)),
        trace_metadata_keys=flattened_keys(keys, TRACE_METADATA_PREFIXES),
        observation_metadata_keys=flattened_keys(keys, OBSERVATION_METADATA_PREFIXES),
        unconsumed_keys=tuple(key for key in keys if not _consumed(key)),
        **{reader: _reads_any(keys, *reads) for reader, reads in READ_KEYS.items()},
    )


def _reads_any(keys: Collection[str], exact: frozenset[str], prefixes: tuple[str, ...]) -> bool:
    if not exact.isdisjoint(keys):
        return True
    return bool(prefixes) and any(key.startswith(prefixes) for key in keys)


@dataclass(frozen=True, slots=True)
class ResourceValues:
    """What a resource and scope give each span reported under them (read-only, shared)."""

    metadata: dict[str, Any]  # the JSON-safe `resourceAttributes`
    scope_metadata: dict[str, Any]  # the JSON-safe `scope`
    sdk_scope: bool  # a Langfuse or Skein SDK's: no catch-all `attributes` metadata
    legacy_python: bool  # Python SDK ≤ 3.3.0
    environment: str  # for spans without an environment key of their own
    release: str | None  # for spans without `langfuse.release`
    version: str | None  # for spans without `langfuse.version`


def resource_values(resource: Resource) -> ResourceValues:
    scope = {
        "name": resource.scope_name,
        "version": resource.scope_version,
        "attributes": resource.scope_attributes,
    }
    attributes = resource.attributes
    return ResourceValues(
        metadata=jsonable(attributes),
        scope_metadata=jsonable(scope),
        sdk_scope=resource.scope_name.startswith(SDK_SCOPES),
        legacy_python=is_legacy_python_sdk(resource),
        environment=resource_environment(attributes),
        release=text_of(attributes.get("langfuse.release")),
        version=text_of(attributes.get("service.version")),
    )


class RequestMemo:
    """What the spans of one request share, worked out once: each resource's values, each
    attribute key set's shape, and the trace values of spans that carry ids alone.

    A request's spans share one or a few `Resource` objects and key sets, and the spans of a
    session the same ids; the values made for the first span are reused (read-only, as
    records are immutable) for the others."""

    def __init__(self) -> None:
        self._resources: dict[int, tuple[Resource, ResourceValues]] = {}
        self._shapes: dict[tuple[str, ...], KeyShape] = {}
        self._traces: dict[TraceIds, TraceAttributes] = {}

    def resource(self, resource: Resource) -> ResourceValues:
        made = self._resources.get(id(resource))
        if made is None or made[0] is not resource:
            made = (resource, resource_values(resource))
            self._resources[id(resource)] = made
        return made[1]

    def shape(self, attributes: Mapping[str, Any]) -> KeyShape:
        keys = tuple(attributes)
        shape = self._shapes.get(keys)
        if shape is None:
            shape = self._shapes[keys] = key_shape(keys)
        return shape

    def trace_of_ids(self, ids: TraceIds) -> TraceAttributes:
        """The trace values of a span that carries these ids and no other trace value."""
        trace = self._traces.get(ids)
        if trace is None:
            session_id, session_source, user_id, user_source = ids
            trace = self._traces[ids] = TraceAttributes(
                session_id=session_id,
                session_source=session_source,
                user_id=user_id,
                user_source=user_source,
            )
        return trace
