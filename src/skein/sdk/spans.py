"""Observations: thin wrappers over OpenTelemetry spans with the seed's (Langfuse 3.x) API.

`SkeinSpan` (and `SkeinGeneration`, the same thing for LLM calls) has `update`, `update_trace`,
`end`, `score`, `score_trace` and the `start_*` methods that create children. The
`start_as_current_*` methods return a context manager that makes the new observation current
for the `with` block and ends it on exit; an exception leaving the block is recorded on the
observation (level ERROR, OpenTelemetry status ERROR and an `exception` event) and re-raised.

Unknown keyword fields are ignored with one warning instead of silently (Langfuse's
`span.update(session_id=...)` pitfall): trace-level values belong in `update_trace`.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Generic, Literal, TypedDict, TypeVar, Unpack

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from skein.sdk import attributes as keys
from skein.sdk.attributes import AttributeMap
from skein.sdk.pipeline import Pipeline
from skein.sdk.registry import error_once, warn_once
from skein.sdk.scores import ScoreTarget, checked_data_type, score_body

logger = logging.getLogger(__name__)

ObservationType = Literal[
    "span",
    "generation",
    "event",
    "agent",
    "tool",
    "chain",
    "retriever",
    "evaluator",
    "embedding",
    "guardrail",
]
Level = Literal["DEBUG", "DEFAULT", "WARNING", "ERROR"]


class SpanFields(TypedDict, total=False):
    """What any observation can record."""

    input: Any
    output: Any
    metadata: Any
    version: str
    level: Level
    status_message: str


class GenerationFields(SpanFields, total=False):
    """What an LLM call (generation, embedding) can record on top."""

    completion_start_time: datetime.datetime
    model: str
    model_parameters: Mapping[str, Any]
    usage_details: Mapping[str, int | float]
    cost_details: Mapping[str, float]
    prompt: Any


class TraceFields(TypedDict, total=False):
    """Trace-level values: they apply to the whole trace, whichever span they are set on."""

    name: str
    user_id: str
    session_id: str
    version: str
    release: str
    input: Any
    output: Any
    metadata: Any
    tags: Iterable[str]
    public: bool


class TraceContext(TypedDict, total=False):
    """Start in an existing trace (e.g. one from another service): ids as lowercase hex."""

    trace_id: str
    parent_span_id: str


def _prompt_attributes(prompt: Any) -> AttributeMap:
    if getattr(prompt, "is_fallback", False):
        return {}
    found: AttributeMap = {}
    name, version = getattr(prompt, "name", None), getattr(prompt, "version", None)
    if isinstance(name, str):
        found[keys.PROMPT_NAME] = name
    if isinstance(version, int):
        found[keys.PROMPT_VERSION] = version
    return found


def _completion_start(value: Any) -> AttributeMap:
    moment = keys.iso_timestamp(value) if isinstance(value, datetime.datetime) else str(value)
    return {keys.COMPLETION_START_TIME: keys.to_json(moment)}


def _level(value: Any) -> AttributeMap:
    level = keys.checked_level(value)
    return {keys.OBSERVATION_LEVEL: level} if level else {}


OBSERVATION_FIELDS: dict[str, Callable[[Any], AttributeMap]] = {
    "input": lambda value: {keys.OBSERVATION_INPUT: keys.serialize(value)},
    "output": lambda value: {keys.OBSERVATION_OUTPUT: keys.serialize(value)},
    "metadata": lambda value: keys.metadata_attributes(keys.OBSERVATION_METADATA, value),
    "version": lambda value: {keys.VERSION: str(value)},
    "level": _level,
    "status_message": lambda value: {keys.OBSERVATION_STATUS_MESSAGE: str(value)},
    "completion_start_time": _completion_start,
    "model": lambda value: {keys.MODEL_NAME: str(value)},
    "model_parameters": lambda value: {keys.MODEL_PARAMETERS: keys.to_json(value)},
    "usage_details": lambda value: {keys.USAGE_DETAILS: keys.to_json(value)},
    "cost_details": lambda value: {keys.COST_DETAILS: keys.to_json(value)},
    "prompt": _prompt_attributes,
}


def _checked_id_entry(key: str, kind: str) -> Callable[[Any], AttributeMap]:
    def convert(value: Any) -> AttributeMap:
        checked = keys.checked_id(kind, value)
        return {key: checked} if checked is not None else {}

    return convert


TRACE_FIELDS: dict[str, Callable[[Any], AttributeMap]] = {
    "name": lambda value: {keys.TRACE_NAME: str(value)},
    "user_id": _checked_id_entry(keys.USER_ID, "user"),
    "session_id": _checked_id_entry(keys.SESSION_ID, "session"),
    "version": lambda value: {keys.VERSION: str(value)},
    "release": lambda value: {keys.RELEASE: str(value)},
    "input": lambda value: {keys.TRACE_INPUT: keys.serialize(value)},
    "output": lambda value: {keys.TRACE_OUTPUT: keys.serialize(value)},
    "metadata": lambda value: keys.metadata_attributes(keys.TRACE_METADATA, value),
    "tags": lambda value: {keys.TRACE_TAGS: keys.tag_tuple(value)},
    "public": lambda value: {keys.TRACE_PUBLIC: bool(value)},
}


def field_attributes(
    fields: Mapping[str, Any], converters: Mapping[str, Callable[[Any], AttributeMap]], where: str
) -> AttributeMap:
    """Attributes for the given keyword fields; unknown names are ignored with a warning."""
    found: AttributeMap = {}
    for name, value in fields.items():
        convert = converters.get(name)
        if convert is None:
            hint = " (trace-level values go in update_trace)" if name in TRACE_FIELDS else ""
            warn_once(logger, f"{where}() has no field {name!r}: ignored{hint}")
        elif value is not None:
            found.update(convert(value))
    return found


def observation_attributes(fields: Mapping[str, Any], where: str) -> AttributeMap:
    return field_attributes(fields, OBSERVATION_FIELDS, where)


def trace_attributes(fields: Mapping[str, Any], where: str = "update_trace") -> AttributeMap:
    return field_attributes(fields, TRACE_FIELDS, where)


def apply_observation_fields(span: otel_trace.Span, fields: Mapping[str, Any], where: str) -> None:
    """Set FIELDS on SPAN (any OpenTelemetry span); level ERROR also sets status ERROR."""
    found = observation_attributes(fields, where)
    if found:
        span.set_attributes(found)
    if found.get(keys.OBSERVATION_LEVEL) == "ERROR":
        message = found.get(keys.OBSERVATION_STATUS_MESSAGE)
        span.set_status(Status(StatusCode.ERROR, str(message) if message else None))


def record_error(span: otel_trace.Span, error: BaseException, as_event: bool = True) -> None:
    """Mark SPAN as failed by ERROR: level ERROR, status message, OTel status ERROR."""
    message = str(error) or type(error).__name__
    level = "ERROR" if isinstance(error, Exception) else "WARNING"
    span.set_attributes({keys.OBSERVATION_LEVEL: level, keys.OBSERVATION_STATUS_MESSAGE: message})
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {message}"))
    if as_event:
        span.record_exception(error)


def trace_context_parent(trace_context: TraceContext) -> tuple[otel_context.Context, AttributeMap]:
    """A remote parent in the given trace; `as_root` when no parent span id is given."""
    trace_id = int(trace_context["trace_id"], 16)
    parent_id = trace_context.get("parent_span_id")
    span_id = int(parent_id, 16) if parent_id else secrets.randbits(64)
    remote = SpanContext(
        trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    context = otel_trace.set_span_in_context(NonRecordingSpan(remote))
    return context, ({} if parent_id else {keys.AS_ROOT: True})


def start_observation(
    pipeline: Pipeline,
    name: str,
    as_type: str,
    parent: otel_context.Context | None,
    fields: Mapping[str, Any],
    trace_context: TraceContext | None = None,
) -> SkeinSpan:
    """Start an observation under PARENT (the current context when None); never raises.

    When the SDK fails, the observation returned wraps a non-recording span: every method
    still works and records nothing.
    """
    try:
        return _start_observation(pipeline, name, as_type, parent, fields, trace_context)
    except Exception as error:
        error_once(logger, "could not start an observation", error)
        return SkeinSpan(otel_trace.INVALID_SPAN, pipeline, "span")


def _start_observation(
    pipeline: Pipeline,
    name: str,
    as_type: str,
    parent: otel_context.Context | None,
    fields: Mapping[str, Any],
    trace_context: TraceContext | None,
) -> SkeinSpan:
    as_type = keys.checked_type(as_type)
    found: AttributeMap = {keys.OBSERVATION_TYPE: as_type}
    if trace_context:
        try:
            parent, root_flag = trace_context_parent(trace_context)
            found.update(root_flag)
        except (KeyError, ValueError, TypeError) as error:
            error_once(logger, "trace_context needs a hex trace_id: ignored", error)
    found.update(observation_attributes(fields, f"start {as_type}"))
    span = pipeline.tracer.start_span(str(name), context=parent, attributes=found)
    wrapper = SkeinGeneration if as_type in keys.GENERATION_TYPES else SkeinSpan
    return wrapper(span, pipeline, as_type)


Observation = TypeVar("Observation", bound="SkeinSpan")


class CurrentObservation(Generic[Observation]):
    """`with` block in which an observation is the current span; ends it on exit."""

    def __init__(self, observation: Observation, end_on_exit: bool = True) -> None:
        self._observation = observation
        self._end_on_exit = end_on_exit
        self._tokens: list[object] = []

    def __enter__(self) -> Observation:
        context = otel_trace.set_span_in_context(self._observation.otel_span)
        self._tokens.append(otel_context.attach(context))
        return self._observation

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if error is not None and not isinstance(error, GeneratorExit):
                record_error(self._observation.otel_span, error)
            if self._tokens:
                otel_context.detach(self._tokens.pop())  # type: ignore[arg-type]
            if self._end_on_exit:
                self._observation.end()
        except Exception as failure:  # never replace the user's exception with ours
            error_once(logger, "could not close an observation", failure)


class SkeinSpan:
    """One observation (span, agent, tool, chain, retriever, event, ...)."""

    __slots__ = ("_span", "_pipeline", "as_type")

    def __init__(self, span: otel_trace.Span, pipeline: Pipeline, as_type: str = "span") -> None:
        self._span = span
        self._pipeline = pipeline
        self.as_type = as_type

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.as_type} id={self.id} trace_id={self.trace_id}>"

    @property
    def otel_span(self) -> otel_trace.Span:
        """The underlying OpenTelemetry span."""
        return self._span

    @property
    def id(self) -> str:
        return otel_trace.format_span_id(self._span.get_span_context().span_id)

    @property
    def trace_id(self) -> str:
        return otel_trace.format_trace_id(self._span.get_span_context().trace_id)

    def update(self, *, name: str | None = None, **fields: Unpack[GenerationFields]) -> SkeinSpan:
        """Record more about this observation (input, output, metadata, level, usage...)."""
        try:
            if name is not None:
                self._span.update_name(str(name))
            apply_observation_fields(self._span, fields, "update")
        except Exception as error:
            error_once(logger, "update failed", error)
        return self

    def update_trace(self, **fields: Unpack[TraceFields]) -> SkeinSpan:
        """Set trace-level values: they reach every span of this trace (see docs/sdk.md)."""
        try:
            self._pipeline.update_trace(self._span, trace_attributes(fields))
        except Exception as error:
            error_once(logger, "update_trace failed", error)
        return self

    def set_trace_as_public(self) -> SkeinSpan:
        return self.update_trace(public=True)

    def end(self, *, end_time: int | None = None) -> SkeinSpan:
        """End the observation (END_TIME in nanoseconds since the epoch, default now)."""
        try:
            self._span.end(end_time=end_time)
        except Exception as error:
            error_once(logger, "end failed", error)
        return self

    def score(
        self,
        *,
        name: str,
        value: float | str | bool,
        score_id: str | None = None,
        data_type: str | None = None,
        comment: str | None = None,
        config_id: str | None = None,
        metadata: Any = None,
    ) -> None:
        """Score this observation."""
        target = ScoreTarget(trace_id=self.trace_id, observation_id=self.id)
        self._send_score(target, name, value, score_id, data_type, comment, config_id, metadata)

    def score_trace(
        self,
        *,
        name: str,
        value: float | str | bool,
        score_id: str | None = None,
        data_type: str | None = None,
        comment: str | None = None,
        config_id: str | None = None,
        metadata: Any = None,
    ) -> None:
        """Score this observation's trace."""
        target = ScoreTarget(trace_id=self.trace_id)
        self._send_score(target, name, value, score_id, data_type, comment, config_id, metadata)

    def _send_score(self, target: ScoreTarget, *values: Any) -> None:
        send_score(self._pipeline, target, *values)

    # --- children ------------------------------------------------------------------------

    def _child(self, name: str, as_type: str, fields: Mapping[str, Any]) -> SkeinSpan:
        parent = otel_trace.set_span_in_context(self._span)
        return start_observation(self._pipeline, name, as_type, parent, fields)

    def start_span(self, name: str, **fields: Unpack[SpanFields]) -> SkeinSpan:
        return self._child(name, "span", fields)

    def start_generation(self, name: str, **fields: Unpack[GenerationFields]) -> SkeinGeneration:
        return self._child(name, "generation", fields)  # type: ignore[return-value]

    def start_observation(
        self, name: str, as_type: ObservationType = "span", **fields: Unpack[GenerationFields]
    ) -> SkeinSpan:
        return self._child(name, as_type, fields)

    def start_as_current_span(
        self, name: str, end_on_exit: bool = True, **fields: Unpack[SpanFields]
    ) -> CurrentObservation[SkeinSpan]:
        return CurrentObservation(self._child(name, "span", fields), end_on_exit)

    def start_as_current_generation(
        self, name: str, end_on_exit: bool = True, **fields: Unpack[GenerationFields]
    ) -> CurrentObservation[SkeinGeneration]:
        child = self._child(name, "generation", fields)
        return CurrentObservation(child, end_on_exit)  # type: ignore[arg-type]

    def start_as_current_observation(
        self,
        name: str,
        as_type: ObservationType = "span",
        end_on_exit: bool = True,
        **fields: Unpack[GenerationFields],
    ) -> CurrentObservation[SkeinSpan]:
        return CurrentObservation(self._child(name, as_type, fields), end_on_exit)

    def create_event(self, name: str, **fields: Unpack[SpanFields]) -> SkeinSpan:
        """An event: an observation that starts and ends at once."""
        return self._child(name, "event", fields).end()


class SkeinGeneration(SkeinSpan):
    """An LLM call (generation or embedding): model, parameters, usage, cost."""

    __slots__ = ()


def send_score(
    pipeline: Pipeline,
    target: ScoreTarget,
    name: str,
    value: float | str | bool,
    score_id: str | None = None,
    data_type: str | None = None,
    comment: str | None = None,
    config_id: str | None = None,
    metadata: Any = None,
) -> None:
    """Queue one score for sending; never raises."""
    try:
        body = score_body(
            target,
            name=name,
            value=value,
            score_id=score_id,
            data_type=checked_data_type(data_type),
            comment=comment,
            config_id=config_id,
            metadata=metadata,
            environment=pipeline.config.environment,
        )
        pipeline.scores.send(body)
    except Exception as error:
        error_once(logger, "could not queue a score", error)
