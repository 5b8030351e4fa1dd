"""The span processor that makes trace-level attributes reach every span of their trace.

A session id (or user id, trace name, tags, trace metadata, public flag) may be set on any
span: the root, a nested child, late, after siblings have ended. `TraceAttributeProcessor`
keeps, per trace id, what has been learned so far and:

- stamps it onto each span as the span starts (with the context's attributes and baggage);
- holds ended spans back until the trace's local root span ends, then stamps them (and the
  root) with the trace's final attributes and passes them to the next processor (the OTel
  `BatchSpanProcessor`, which batches and exports);
- bounds what it holds: past `HoldLimits` (spans or bytes per trace, seconds held, traces
  tracked) the held spans go out as they are, and the trace keeps being tracked;
- releases everything on `force_flush` and `shutdown`.

Precedence when values disagree: a value set with `update_trace` / `update_current_trace`
overrides every span of the trace (the last call wins); a value learned from a span's own
attributes or context only fills spans that have none (the first one learned wins); tags are
merged. Trace input and output go on the local root only. An ended span is immutable, so
stamping one makes a shallow copy with the extra attributes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from skein.sdk import attributes as keys
from skein.sdk.attributes import AttributeMap, AttributeValue
from skein.sdk.context import context_attributes, fill_missing
from skein.sdk.registry import error_once

logger = logging.getLogger(__name__)

SPAN_OVERHEAD_BYTES = 256
# Explicit trace updates of these keys only fill spans that lack them (they are also
# per-observation fields, so they must not overwrite a span's own value).
FILL_ONLY_KEYS = (keys.VERSION, keys.RELEASE)


@dataclass(frozen=True, slots=True)
class HoldLimits:
    """How much the processor holds back while waiting for a trace's root span to end."""

    max_spans_per_trace: int = 1000
    max_bytes_per_trace: int = 4 * 1024 * 1024
    max_hold_seconds: float = 30.0
    max_traces: int = 10_000


@dataclass(frozen=True, slots=True)
class Stamp:
    """A snapshot of one trace's attributes, applied to its spans outside the lock."""

    learned: AttributeMap
    explicit: AttributeMap
    root_values: AttributeMap
    root_ids: frozenset[int]

    def additions(self, span_id: int, current: Mapping[str, object]) -> AttributeMap:
        """What must be set on a span that has CURRENT to carry the trace's values."""
        added = fill_missing(current, self.learned)
        added.update(self.explicit)
        if span_id in self.root_ids:
            added.update(self.root_values)
        return {key: value for key, value in added.items() if current.get(key) != value}


@dataclass(slots=True)
class TraceState:
    """What the processor knows and holds for one trace."""

    learned: AttributeMap = field(default_factory=dict)
    explicit: AttributeMap = field(default_factory=dict)
    root_values: AttributeMap = field(default_factory=dict)
    root_ids: set[int] = field(default_factory=set)
    open_spans: int = 0
    open_roots: int = 0
    held: list[ReadableSpan] = field(default_factory=list)
    held_bytes: int = 0
    held_since: float | None = None

    def learn(self, values: Mapping[str, object]) -> None:
        """Take trace-level values found on a span or its context (first one wins)."""
        for key, value in values.items():
            if key == keys.TRACE_TAGS and isinstance(value, tuple | list):
                self._add_tags(value)
            elif keys.is_spread_key(key) or key in keys.ROOT_KEYS:
                target = self.root_values if key in keys.ROOT_KEYS else self.learned
                target.setdefault(key, value)  # type: ignore[arg-type]

    def apply_update(self, values: AttributeMap) -> None:
        """Take an explicit trace update: it overrides what was learned (last call wins)."""
        for key, value in values.items():
            if key == keys.TRACE_TAGS and isinstance(value, tuple):
                self._add_tags(value)
            elif key in keys.ROOT_KEYS:
                self.root_values[key] = value
            elif key in FILL_ONLY_KEYS:
                self.learned.setdefault(key, value)
            else:
                self.explicit[key] = value

    def _add_tags(self, tags: tuple[object, ...] | list[object]) -> None:
        known = self.learned.get(keys.TRACE_TAGS, ())
        assert isinstance(known, tuple)
        self.learned[keys.TRACE_TAGS] = keys.merged_tags(known, (str(tag) for tag in tags))

    def stamp(self) -> Stamp:
        if not (self.learned or self.explicit or self.root_values):
            return EMPTY_STAMP
        return Stamp(
            dict(self.learned),
            dict(self.explicit),
            dict(self.root_values),
            frozenset(self.root_ids),
        )

    def take_held(self) -> list[ReadableSpan]:
        held, self.held, self.held_bytes, self.held_since = self.held, [], 0, None
        return held


Release = tuple[list[ReadableSpan], Stamp]
EMPTY_STAMP = Stamp({}, {}, {}, frozenset())


class TraceAttributeProcessor(SpanProcessor):
    """Spreads trace-level attributes over whole traces, then hands spans to DOWNSTREAM."""

    def __init__(
        self,
        downstream: SpanProcessor,
        limits: HoldLimits | None = None,
        span_defaults: Mapping[str, AttributeValue] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._downstream = downstream
        self._limits = limits or HoldLimits()
        self._defaults = dict(span_defaults or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._traces: dict[int, TraceState] = {}
        self._holding: OrderedDict[int, None] = OrderedDict()
        self._pending: list[Release] = []  # released under the lock, sent after it

    # --- the SpanProcessor interface -----------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._send(self._start(span, parent_context))
        except Exception as error:  # a processor must never raise into user code
            error_once(logger, "span processor failed on span start", error)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            releases = self._end(span)
        except Exception as error:
            error_once(logger, "span processor failed on span end", error)
            releases = [([span], EMPTY_STAMP)]
        self._send(releases)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._send(self._release_all(forget=False))
        return self._downstream.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._send(self._release_all(forget=True))
        self._downstream.shutdown()

    # --- explicit trace updates ------------------------------------------------------------

    def update_trace(self, trace_id: int, values: AttributeMap) -> None:
        """Record an explicit `update_trace` for TRACE_ID; a no-op for traces not tracked."""
        with self._lock:
            state = self._traces.get(trace_id)
            if state is not None:
                state.apply_update(values)

    def tracked_traces(self) -> int:
        with self._lock:
            return len(self._traces)

    # --- internals ---------------------------------------------------------------------------

    def _start(self, span: Span, parent_context: Context | None) -> list[Release]:
        from_context = context_attributes(parent_context)
        current = span.attributes or {}
        defaults = {**self._defaults, **from_context} if from_context else self._defaults
        added = fill_missing(current, defaults) if defaults else {}
        span_id, trace_id = span.context.span_id, span.context.trace_id
        with self._lock:
            state = self._track_start(trace_id, span_id, span)
            if from_context:
                state.learn(from_context)
            stamp = state.stamp()
            releases = self._drain() if self._pending or self._holding else []
        if stamp is not EMPTY_STAMP:
            added.update(stamp.additions(span_id, {**current, **added}))
        if added:
            span.set_attributes(added)
        return releases

    def _track_start(self, trace_id: int, span_id: int, span: Span) -> TraceState:
        state = self._traces.get(trace_id)
        is_root = state is None or span.parent is None or span.parent.is_remote
        if state is None:
            state = self._new_state(trace_id)
        state.open_spans += 1
        if is_root:
            state.root_ids.add(span_id)
            state.open_roots += 1
        return state

    def _new_state(self, trace_id: int) -> TraceState:
        state = self._traces[trace_id] = TraceState()
        while len(self._traces) > self._limits.max_traces:
            oldest = next(iter(self._traces))
            self._forget(oldest)
        return state

    def _forget(self, trace_id: int) -> None:
        state = self._traces.pop(trace_id)
        self._holding.pop(trace_id, None)
        if state.held:
            self._pending.append((state.take_held(), state.stamp()))

    def _end(self, span: ReadableSpan) -> list[Release]:
        assert span.context is not None
        trace_id, span_id = span.context.trace_id, span.context.span_id
        with self._lock:
            state = self._traces.get(trace_id)
            if state is None:
                releases: list[Release] = [([span], EMPTY_STAMP)]
            else:
                state.learn(span.attributes or {})
                releases = self._end_tracked(trace_id, state, span, span_id)
            releases.extend(self._drain())
        return releases

    def _drain(self) -> list[Release]:
        """Releases made under the lock so far, plus traces held too long (lock held)."""
        releases, self._pending = self._pending, []
        if self._holding:
            releases.extend(self._expired())
        return releases

    def _end_tracked(
        self, trace_id: int, state: TraceState, span: ReadableSpan, span_id: int
    ) -> list[Release]:
        state.open_spans -= 1
        is_root = span_id in state.root_ids
        if is_root:
            state.open_roots -= 1
        if state.open_roots <= 0 and state.open_spans <= 0:
            del self._traces[trace_id]
        if is_root:
            self._holding.pop(trace_id, None)
            return [([*state.take_held(), span], state.stamp())]
        if state.open_roots <= 0:
            return [([span], state.stamp())]
        return self._hold(trace_id, state, span)

    def _hold(self, trace_id: int, state: TraceState, span: ReadableSpan) -> list[Release]:
        if state.held_since is None:
            state.held_since = self._clock()
            self._holding[trace_id] = None
        state.held.append(span)
        state.held_bytes += _estimated_size(span)
        limits = self._limits
        if (
            len(state.held) < limits.max_spans_per_trace
            and state.held_bytes < limits.max_bytes_per_trace
        ):
            return []
        self._holding.pop(trace_id, None)
        return [(state.take_held(), state.stamp())]

    def _expired(self) -> list[Release]:
        """Release the held spans of traces that have waited longer than the limit."""
        releases: list[Release] = []
        deadline = self._clock() - self._limits.max_hold_seconds
        while self._holding:
            trace_id = next(iter(self._holding))
            state = self._traces.get(trace_id)
            if state is not None and state.held_since is not None and state.held_since > deadline:
                break
            self._holding.popitem(last=False)
            if state is not None and state.held:
                releases.append((state.take_held(), state.stamp()))
        return releases

    def _release_all(self, forget: bool) -> list[Release]:
        with self._lock:
            releases = [
                (state.take_held(), state.stamp()) for state in self._traces.values() if state.held
            ]
            releases.extend(self._pending)
            self._pending = []
            self._holding.clear()
            if forget:
                self._traces.clear()
        return releases

    def _send(self, releases: list[Release]) -> None:
        for spans, stamp in releases:
            for span in spans:
                self._downstream.on_end(_stamped(span, stamp))


def _stamped(span: ReadableSpan, stamp: Stamp) -> ReadableSpan:
    """SPAN with the trace's values added: the span itself when nothing is missing."""
    assert span.context is not None
    if stamp is EMPTY_STAMP:
        return span
    current = span.attributes or {}
    added = stamp.additions(span.context.span_id, current)
    if not added:
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={**current, **added},
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _estimated_size(span: ReadableSpan) -> int:
    values = (span.attributes or {}).values()
    return SPAN_OVERHEAD_BYTES + sum(len(value) for value in values if isinstance(value, str))
