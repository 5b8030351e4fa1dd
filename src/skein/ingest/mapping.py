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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from skein.ingest.conventions import (
    OBSERVATION_METADATA_BLOB,
    OBSERVATION_METADATA_PREFIXES,
    SESSION_ALIASES,
    SESSION_KEYS,
    TRACE_METADATA_BLOB,
    TRACE_METADATA_PREFIXES,
    USER_ALIASES,
    USER_KEYS,
    IdProblem,
    as_text,
    clean_text,
    first_text,
    is_true,
    jsonable,
    read_id,
    read_metadata,
    read_public,
    read_tags,
    text_of,
    unquote,
)
from skein.ingest.messages import Found, extract_input, extract_output
from skein.ingest.usage import (
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
ENVIRONMENT_KEYS = ("langfuse.environment", "deployment.environment.name", "deployment.environment")
ENVIRONMENT_PATTERN = re.compile(r"[a-z0-9_-]+")
ENVIRONMENT_PREFIX = re.compile(r"^(?:langfuse[-_]?)+")
MAX_ENVIRONMENT_LENGTH = 40
PROMPT_PREFIXES = ("langfuse.observation.prompt.", "langfuse.prompt.")
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
    resources = ResourceMetadata()
    python_repr = sends_python_repr(context)
    for index, span in zip(indexes, decoded.spans, strict=True):
        try:
            observation, span_warnings = _map_span(span, python_repr, resources)
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
    span: Span, context: IngestContext, resources: ResourceMetadata | None = None
) -> tuple[Observation, list[IngestWarning]]:
    """One span as an observation, with the warnings about what was worked around.

    `resources` shares the metadata made of each resource between the spans of a request."""
    return _map_span(span, sends_python_repr(context), resources or ResourceMetadata())


def _map_span(
    span: Span, python_repr: bool, resources: ResourceMetadata
) -> tuple[Observation, list[IngestWarning]]:
    _check_ids(span)
    start_ns, end_ns = span_times(span)
    trace, problems = trace_attributes(span, python_repr=python_repr)
    warnings = [_warning(span, problem.code, problem.message) for problem in problems]
    if end_ns < start_ns:
        message = f"span ends {start_ns - end_ns} ns before it starts; end set to its start"
        warnings.append(_warning(span, "end_before_start", message))
        end_ns = start_ns
    return _observation(span, start_ns, end_ns, trace, python_repr, resources), warnings


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


def trace_attributes(
    span: Span, *, python_repr: bool = True
) -> tuple[TraceAttributes, list[IdProblem]]:
    """The trace-level values this span carries, and the unusable ids it passed over."""
    attributes = span.attributes
    session = read_id(attributes, SESSION_ALIASES)
    user = read_id(attributes, USER_ALIASES)
    metadata = read_metadata(
        attributes, TRACE_METADATA_BLOB, TRACE_METADATA_PREFIXES, python_repr=python_repr
    )
    trace = TraceAttributes(
        session_id=session.value,
        session_source=session.source,
        user_id=user.value,
        user_source=user.source,
        name=text_of(attributes.get("langfuse.trace.name")),
        tags=read_tags(attributes, python_repr=python_repr),
        metadata=jsonable(metadata),
        public=read_public(attributes),
        input=as_text(attributes.get("langfuse.trace.input")),
        output=as_text(attributes.get("langfuse.trace.output")),
    )
    return trace, [*session.problems, *user.problems]


# ── The observation ───────────────────────────────────────────────────────────────────


def _observation(
    span: Span,
    start_ns: int,
    end_ns: int,
    trace: TraceAttributes,
    python_repr: bool,
    resources: ResourceMetadata,
) -> Observation:
    attributes = span.attributes
    aggregate = is_vercel_aggregate(attributes, span.resource.scope_name)
    model = None if aggregate else read_model(attributes)
    kind = observation_type(span, model)
    found_input, found_output = extract_input(span), extract_output(span)
    usage = {} if aggregate else read_usage(attributes)
    cost = {} if aggregate else read_cost(attributes)
    input_tokens, output_tokens, total_tokens = token_counts(usage)
    prompt_name, prompt_version = read_prompt(attributes) if kind == "GENERATION" else (None, None)
    parent = parent_id(span)
    return Observation(
        id=span.span_id,
        trace_id=span.trace_id,
        parent_id=parent,
        is_root=parent is None or is_true(attributes.get("langfuse.internal.as_root")),
        name=observation_name(span),
        type=kind,
        start_ns=start_ns,
        end_ns=end_ns,
        level=observation_level(span),
        status_message=status_message(span),
        input=as_text(found_input.value) if found_input else None,
        output=as_text(found_output.value) if found_output else None,
        metadata=observation_metadata(
            span,
            _used_keys(span, found_input, found_output),
            python_repr=python_repr,
            resources=resources,
        ),
        model=model,
        model_parameters=None if aggregate else read_model_parameters(attributes),
        usage=usage,
        cost=cost,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
        total_cost=total_cost(cost),
        completion_start_ns=completion_start_ns(
            attributes.get("langfuse.observation.completion_start_time")
        ),
        environment=read_environment(span),
        release=_span_then_resource(span, "langfuse.release", "langfuse.release"),
        version=_span_then_resource(span, "langfuse.version", "service.version"),
        prompt_name=prompt_name,
        prompt_version=prompt_version,
        trace=trace,
    )


def _used_keys(span: Span, found_input: Found | None, found_output: Found | None) -> frozenset[str]:
    """The attribute keys input and output were read from (only SDK scopes need none)."""
    if span.resource.scope_name.startswith(SDK_SCOPES):
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
    operation = text_of(attributes.get("ai.operationId"))
    if operation is not None:
        function = text_of(attributes.get("ai.telemetry.functionId"))
        return f"{function}:{operation}" if function else operation
    return clean_text(span.name) if isinstance(span.name, str) else str(span.name)


def observation_type(span: Span, model: str | None) -> str:
    """The first type rule that applies (§1.6), else SPAN."""
    attributes = span.attributes
    kind = _legacy_python_generation(span)
    if kind is not None:
        return kind
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


def _legacy_python_generation(span: Span) -> str | None:
    """Python SDK ≤ 3.3.0 sent generations as type "span" with generation attributes."""
    resource = span.resource
    if (
        resource.scope_name != "langfuse-sdk"
        or resource.attributes.get("telemetry.sdk.language") != "python"
        or span.attributes.get("langfuse.observation.type") != "span"
        or not _version_at_most(resource.scope_version, (3, 3, 0))
    ):
        return None
    present = any(span.attributes.get(key) is not None for key in GENERATION_ATTRIBUTES)
    return "GENERATION" if present else None


def _version_at_most(version: str, limit: tuple[int, ...]) -> bool:
    parts = re.findall(r"\d{1,6}", version)[: len(limit)]
    return bool(parts) and tuple(int(part) for part in parts) <= limit


def _vercel_type(attributes: Mapping[str, Any], model: str | None) -> str | None:
    operation = attributes.get("operation.name")
    operation = operation if isinstance(operation, str) else ""
    operation_id = attributes.get("ai.operationId")
    if model is not None:
        for name, kind in VERCEL_OPERATIONS.items():
            if operation.startswith(name) or operation_id == name:
                return kind
    calls = (operation, operation_id if isinstance(operation_id, str) else "")
    return "TOOL" if any(text.startswith("ai.toolCall") for text in calls) else None


def _tool_type(attributes: Mapping[str, Any]) -> str | None:
    tool_keys = ("gen_ai.tool.name", "gen_ai.tool.call.id")
    return "TOOL" if any(attributes.get(key) is not None for key in tool_keys) else None


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


def normalised_environment(value: str) -> str:
    """Lowercase, without `langfuse` prefixes, at most 40 of [a-z0-9_-]; else "default"."""
    text = ENVIRONMENT_PREFIX.sub("", value.lower())[:MAX_ENVIRONMENT_LENGTH]
    return text if ENVIRONMENT_PATTERN.fullmatch(text) else "default"


def _span_then_resource(span: Span, span_key: str, resource_key: str) -> str | None:
    found = text_of(span.attributes.get(span_key))
    return found if found is not None else text_of(span.resource.attributes.get(resource_key))


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


class ResourceMetadata:
    """The JSON-safe `resourceAttributes` and `scope` metadata of each resource, made once.

    A request's spans share one or a few `Resource` objects; their metadata is made for the
    first span and the same (read-only) dicts are reused for the others."""

    def __init__(self) -> None:
        self._made: dict[int, tuple[Resource, dict[str, Any], dict[str, Any]]] = {}

    def of(self, resource: Resource) -> tuple[dict[str, Any], dict[str, Any]]:
        made = self._made.get(id(resource))
        if made is None or made[0] is not resource:
            scope = {
                "name": resource.scope_name,
                "version": resource.scope_version,
                "attributes": resource.scope_attributes,
            }
            made = (resource, jsonable(resource.attributes), jsonable(scope))
            self._made[id(resource)] = made
        return made[1], made[2]


def observation_metadata(
    span: Span,
    used_keys: frozenset[str],
    *,
    python_repr: bool = True,
    resources: ResourceMetadata | None = None,
) -> dict[str, Any]:
    """The user's observation metadata, plus resource, scope and (non-SDK) other attributes."""
    attributes = span.attributes
    resource = span.resource
    metadata = read_metadata(
        attributes,
        OBSERVATION_METADATA_BLOB,
        OBSERVATION_METADATA_PREFIXES,
        python_repr=python_repr,
    )
    # Placeholders keep each key where it goes; the values come made (and shared) below.
    metadata["resourceAttributes"] = metadata["scope"] = None
    if not resource.scope_name.startswith(SDK_SCOPES):
        metadata["attributes"] = {
            key: value for key, value in attributes.items() if not _consumed(key, used_keys)
        }
    converted: dict[str, Any] = jsonable(metadata)
    made = (resources or ResourceMetadata()).of(resource)
    converted["resourceAttributes"], converted["scope"] = made
    return converted


def _consumed(key: str, used_keys: frozenset[str]) -> bool:
    return key in CONSUMED_KEYS or key in used_keys or key.startswith(CONSUMED_PREFIXES)
