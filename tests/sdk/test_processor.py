"""The trace-attribute processor: late and nested trace values reach every span of the trace."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from skein.sdk import attributes as keys
from skein.sdk.context import propagate_attributes, session
from skein.sdk.processor import HoldLimits, TraceAttributeProcessor


class Recorder(SpanProcessor):
    """A downstream processor that keeps what it is given."""

    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []
        self.flushes = 0
        self.was_shut_down = False

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.flushes += 1
        return True

    def shutdown(self) -> None:
        self.was_shut_down = True

    def names(self) -> list[str]:
        return [span.name for span in self.ended]

    def value(self, name: str, key: str) -> object:
        found = [span for span in self.ended if span.name == name]
        assert len(found) == 1, f"{name}: {len(found)} spans"
        return (found[0].attributes or {}).get(key)


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    recorder: Recorder
    processor: TraceAttributeProcessor
    tracer: otel_trace.Tracer
    clock: Clock = field(default_factory=Clock)


def make_rig(limits: HoldLimits | None = None, defaults: dict[str, str] | None = None) -> Rig:
    recorder, clock = Recorder(), Clock()
    processor = TraceAttributeProcessor(recorder, limits, defaults, clock=clock)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    return Rig(recorder, processor, provider.get_tracer("test"), clock)


@pytest.fixture
def rig() -> Iterator[Rig]:
    yield make_rig()


def explicit_update(rig: Rig, **values: str) -> None:
    """What `update_current_trace` does: set on the current span and tell the processor."""
    span = otel_trace.get_current_span()
    span.set_attributes(values)
    rig.processor.update_trace(span.get_span_context().trace_id, dict(values))


def test_a_late_nested_update_reaches_root_ended_siblings_and_later_spans(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("root"):
        with rig.tracer.start_as_current_span("sibling-before"):
            pass
        with rig.tracer.start_as_current_span("child"):
            with rig.tracer.start_as_current_span("grandchild"):
                explicit_update(rig, **{keys.SESSION_ID: "late", keys.USER_ID: "u"})
        with rig.tracer.start_as_current_span("sibling-after"):
            pass
        assert rig.recorder.ended == [], "spans are held until the root ends"

    names = ["sibling-before", "grandchild", "child", "sibling-after", "root"]
    assert rig.recorder.names() == names
    for name in names:
        assert rig.recorder.value(name, keys.SESSION_ID) == "late"
        assert rig.recorder.value(name, keys.USER_ID) == "u"
    assert rig.processor.tracked_traces() == 0


def test_a_value_set_directly_on_a_child_span_is_learned_when_it_ends(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("root"):
        with rig.tracer.start_as_current_span("child") as child:
            child.set_attribute(keys.SESSION_ID, "from-child")
        with rig.tracer.start_as_current_span("later"):
            pass

    assert rig.recorder.value("root", keys.SESSION_ID) == "from-child"
    assert rig.recorder.value("later", keys.SESSION_ID) == "from-child"


def test_learned_values_fill_gaps_but_do_not_overwrite_a_spans_own_value(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("root"):
        with rig.tracer.start_as_current_span("first") as first:
            first.set_attribute(keys.SESSION_ID, "s-first")
        with rig.tracer.start_as_current_span("second") as second:
            second.set_attribute(keys.SESSION_ID, "s-second")

    assert rig.recorder.value("first", keys.SESSION_ID) == "s-first"
    assert rig.recorder.value("second", keys.SESSION_ID) == "s-second"
    assert rig.recorder.value("root", keys.SESSION_ID) == "s-first"


def test_an_explicit_update_overrides_every_span_and_the_last_one_wins(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("root"):
        with session("from-context"):
            with rig.tracer.start_as_current_span("in-context"):
                pass
        with rig.tracer.start_as_current_span("child"):
            explicit_update(rig, **{keys.SESSION_ID: "first-update"})
            explicit_update(rig, **{keys.SESSION_ID: "second-update"})

    for name in ("root", "in-context", "child"):
        assert rig.recorder.value(name, keys.SESSION_ID) == "second-update"


def test_tags_from_several_spans_are_merged_onto_all(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("root"):
        with propagate_attributes(tags=["a", "b"]):
            with rig.tracer.start_as_current_span("one"):
                pass
        with propagate_attributes(tags=["c"]):
            with rig.tracer.start_as_current_span("two"):
                pass

    for name in ("root", "one", "two"):
        assert rig.recorder.value(name, keys.TRACE_TAGS) == ("a", "b", "c")


def test_trace_input_goes_on_the_root_only(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("root"):
        with rig.tracer.start_as_current_span("child"):
            explicit_update(rig, **{keys.TRACE_INPUT: "question"})
        with rig.tracer.start_as_current_span("other"):
            pass

    assert rig.recorder.value("root", keys.TRACE_INPUT) == "question"
    assert rig.recorder.value("child", keys.TRACE_INPUT) == "question"
    assert rig.recorder.value("other", keys.TRACE_INPUT) is None


def test_explicit_version_only_fills_spans_without_their_own(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("root"):
        with rig.tracer.start_as_current_span("versioned", attributes={keys.VERSION: "obs-2"}):
            pass
        explicit_update(rig, **{keys.VERSION: "trace-1"})

    assert rig.recorder.value("root", keys.VERSION) == "trace-1"
    assert rig.recorder.value("versioned", keys.VERSION) == "obs-2"


def test_spans_ending_after_the_root_are_stamped_and_passed_on_at_once(rig: Rig) -> None:
    root = rig.tracer.start_span("root")
    context = otel_trace.set_span_in_context(root)
    straggler = rig.tracer.start_span("straggler", context=context)
    root.set_attribute(keys.SESSION_ID, "s")
    root.end()
    assert rig.recorder.names() == ["root"]
    straggler.end()

    assert rig.recorder.names() == ["root", "straggler"]
    assert rig.recorder.value("straggler", keys.SESSION_ID) == "s"
    assert rig.processor.tracked_traces() == 0


def test_a_trace_with_too_many_spans_is_released_in_parts(rig: Rig) -> None:
    small = make_rig(HoldLimits(max_spans_per_trace=3))
    with small.tracer.start_as_current_span("root"):
        for index in range(4):
            with small.tracer.start_as_current_span(f"child-{index}"):
                pass
        assert small.recorder.names() == ["child-0", "child-1", "child-2"]
        explicit_update(small, **{keys.SESSION_ID: "late"})

    assert small.recorder.names()[3:] == ["child-3", "root"]
    assert small.recorder.value("child-0", keys.SESSION_ID) is None, "released as it was"
    assert small.recorder.value("child-3", keys.SESSION_ID) == "late"


def test_a_trace_over_the_byte_limit_is_released(rig: Rig) -> None:
    small = make_rig(HoldLimits(max_bytes_per_trace=1000))
    with small.tracer.start_as_current_span("root"):
        with small.tracer.start_as_current_span("big", attributes={"payload": "x" * 2000}):
            pass
        assert small.recorder.names() == ["big"]


def test_held_spans_are_released_after_the_maximum_hold_time(rig: Rig) -> None:
    slow = make_rig(HoldLimits(max_hold_seconds=5))
    root = slow.tracer.start_span("root")
    context = otel_trace.set_span_in_context(root)
    slow.tracer.start_span("early", context=context).end()
    slow.clock.now += 6
    assert slow.recorder.names() == []
    slow.tracer.start_span("trigger", context=context).end()

    assert slow.recorder.names() == ["early"]
    root.end()
    assert slow.recorder.names() == ["early", "trigger", "root"]


def test_the_oldest_trace_is_released_when_too_many_are_tracked(rig: Rig) -> None:
    few = make_rig(HoldLimits(max_traces=2))
    roots = [few.tracer.start_span(f"root-{index}") for index in range(2)]
    context = otel_trace.set_span_in_context(roots[0])
    few.tracer.start_span("held", context=context).end()
    few.tracer.start_span("root-2").end()

    assert few.recorder.names() == ["held", "root-2"]
    assert few.processor.tracked_traces() == 1
    roots[0].end()
    assert few.recorder.names()[-1] == "root-0", "an evicted trace's spans pass straight on"


def test_force_flush_releases_everything_held_and_keeps_tracking(rig: Rig) -> None:
    with rig.tracer.start_as_current_span("root"):
        with rig.tracer.start_as_current_span("child"):
            pass
        assert rig.processor.force_flush()
        assert rig.recorder.names() == ["child"]
        assert rig.recorder.flushes == 1
        explicit_update(rig, **{keys.SESSION_ID: "after-flush"})
        with rig.tracer.start_as_current_span("after"):
            pass

    assert rig.recorder.value("after", keys.SESSION_ID) == "after-flush"
    assert rig.recorder.value("root", keys.SESSION_ID) == "after-flush"


def test_shutdown_releases_held_spans_and_shuts_down_downstream(rig: Rig) -> None:
    root = rig.tracer.start_span("root")
    rig.tracer.start_span("child", context=otel_trace.set_span_in_context(root)).end()
    rig.processor.shutdown()

    assert rig.recorder.names() == ["child"]
    assert rig.recorder.was_shut_down
    assert rig.processor.tracked_traces() == 0


def test_a_remote_parent_makes_a_local_root(rig: Rig) -> None:
    sampled = otel_trace.TraceFlags(otel_trace.TraceFlags.SAMPLED)
    remote = otel_trace.SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=sampled)
    context = otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(remote))
    with rig.tracer.start_as_current_span("local-root", context=context):
        with rig.tracer.start_as_current_span("child"):
            explicit_update(rig, **{keys.SESSION_ID: "s"})

    assert rig.recorder.names() == ["child", "local-root"]
    assert rig.recorder.value("local-root", keys.SESSION_ID) == "s"


def test_span_defaults_fill_spans_without_their_own_value() -> None:
    rig = make_rig(defaults={keys.ENVIRONMENT: "staging"})
    with rig.tracer.start_as_current_span("plain"):
        pass
    with rig.tracer.start_as_current_span("own", attributes={keys.ENVIRONMENT: "prod"}):
        pass

    assert rig.recorder.value("plain", keys.ENVIRONMENT) == "staging"
    assert rig.recorder.value("own", keys.ENVIRONMENT) == "prod"


def test_a_span_needing_nothing_is_passed_on_uncopied(rig: Rig) -> None:
    untracked = ReadableSpan("untracked", context=otel_trace.SpanContext(1, 2, is_remote=False))
    rig.processor.on_end(untracked)

    assert rig.recorder.ended == [untracked]
