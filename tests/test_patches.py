"""Merging Langfuse event patches into observations and trace carriers."""

from __future__ import annotations

import itertools
from typing import Any

from skein.patches import deep_merge, merge_observation, merge_trace, merge_values, ordered
from skein.records import TRACE_CARRIER_ID, TRACE_CARRIER_TYPE, EventPatch

T0 = 1_700_000_000_000_000_000
SECOND = 1_000_000_000


def patch(event_id: str, at: int, update: bool = False, **values: Any) -> EventPatch:
    return EventPatch("observation", "obs-1", event_id, T0 + at * SECOND, update, values)


def trace_patch(event_id: str, at: int, **values: Any) -> EventPatch:
    return EventPatch("trace", "trace-1", event_id, T0 + at * SECOND, False, values)


def test_patches_apply_by_time_then_create_before_update_then_event_id() -> None:
    late = patch("a", 2)
    update = patch("b", 1, update=True)
    create = patch("c", 1)
    tie = patch("d", 1)

    assert ordered([late, update, tie, create]) == [create, tie, update, late]


def test_later_values_win_and_absent_ones_leave_earlier_values() -> None:
    merged = merge_values(
        [patch("1", 0, name="first", level="ERROR"), patch("2", 1, True, name="second")],
        "observation",
    )

    assert merged == {"name": "second", "level": "ERROR"}


def test_fixed_fields_keep_their_first_value() -> None:
    patches = [
        patch("2", 5, True, trace_id="t-late", start_ns=T0 + 9, environment="prod"),
        patch("1", 1, trace_id="t-early", start_ns=T0 + 1),
    ]

    merged = merge_values(patches, "observation")

    assert (merged["trace_id"], merged["start_ns"]) == ("t-early", T0 + 1)
    assert merged["environment"] == "prod"  # no earlier patch set it


def test_metadata_merges_deeply_and_tags_are_a_sorted_union() -> None:
    first = trace_patch("1", 0, metadata={"a": {"x": 1, "y": 1}, "b": 1}, tags=["z", "a"])
    second = trace_patch("2", 1, metadata={"a": {"y": 2}, "c": 3}, tags=["m"])

    merged = merge_values([second, first], "trace")

    assert merged["metadata"] == {"a": {"x": 1, "y": 2}, "b": 1, "c": 3}
    assert merged["tags"] == ["a", "m", "z"]


def test_deep_merge_replaces_non_objects() -> None:
    assert deep_merge({"a": {"b": 1}, "c": [1]}, {"a": 2, "c": [2]}) == {"a": 2, "c": [2]}


def test_an_observation_is_the_same_for_every_order_of_its_patches() -> None:
    patches = [
        patch("1", 0, type="GENERATION", trace_id="t1", name="llm", model="gpt-4o",
              usage={"input": 10, "output": 5}),
        patch("2", 1, True, type="GENERATION", end_ns=T0 + 3 * SECOND, output="hi",
              cost={"total": 0.5}),
        patch("3", 2, True, type="GENERATION", level="WARNING", metadata={"k": 1}),
    ]  # fmt: skip

    results = [merge_observation("obs-1", list(p)) for p in itertools.permutations(patches)]

    assert all(result == results[0] for result in results)
    first = results[0]
    assert (first.trace_id, first.name, first.type, first.level) == (
        "t1",
        "llm",
        "GENERATION",
        "WARNING",
    )
    assert (first.input_tokens, first.output_tokens, first.total_tokens) == (10, 5, 15)
    assert (first.total_cost, first.cost_source) == (0.5, "sdk")
    assert (first.start_ns, first.end_ns) == (T0, T0 + 3 * SECOND)


def test_without_trace_id_or_times_an_observation_is_its_own_trace_at_its_first_event() -> None:
    observation = merge_observation("obs-1", [patch("1", 4, True), patch("2", 7, True)])

    assert observation.trace_id == "obs-1" and observation.is_root
    assert observation.start_ns == observation.end_ns == T0 + 4 * SECOND
    assert observation.type == "SPAN" and observation.cost_source is None


def test_an_end_before_the_start_is_moved_to_the_start() -> None:
    observation = merge_observation(
        "obs-1", [patch("1", 0, start_ns=T0 + 5 * SECOND, end_ns=T0 + SECOND)]
    )

    assert observation.end_ns == observation.start_ns == T0 + 5 * SECOND


def test_a_create_type_wins_over_an_update_type() -> None:
    patches = [patch("1", 0, type="AGENT"), patch("2", 5, True, type="SPAN")]

    assert merge_observation("obs-1", patches).type == "AGENT"
    assert merge_observation("obs-1", patches[1:]).type == "SPAN"


def test_a_parent_makes_an_observation_a_child() -> None:
    observation = merge_observation("obs-1", [patch("1", 0, parent_id="p")])

    assert observation.parent_id == "p" and not observation.is_root


def test_a_trace_carrier_holds_the_trace_values() -> None:
    carrier = merge_trace(
        "trace-1",
        [
            trace_patch("2", 3, name="renamed", output="bye", tags=["b"]),
            trace_patch("1", 1, name="chat", session_id="s1", session_source="src",
                        user_id="u1", user_source="usrc", input="hello", tags=["a"],
                        public=True, release="r1", version="v1", environment="prod",
                        timestamp_ns=T0),
        ],
    )  # fmt: skip

    assert (carrier.id, carrier.type, carrier.is_root) == (
        TRACE_CARRIER_ID,
        TRACE_CARRIER_TYPE,
        True,
    )
    assert carrier.start_ns == carrier.end_ns == T0
    trace = carrier.trace
    assert (trace.name, trace.session_id, trace.session_source) == ("renamed", "s1", "src")
    assert (trace.user_id, trace.input, trace.output) == ("u1", "hello", "bye")
    assert trace.tags == ("a", "b") and trace.public is True
    assert (carrier.release, carrier.version, carrier.environment) == ("r1", "v1", "prod")


def test_a_trace_without_a_timestamp_starts_at_its_first_event() -> None:
    carrier = merge_trace("trace-1", [trace_patch("1", 9), trace_patch("2", 4)])

    assert carrier.start_ns == T0 + 4 * SECOND and carrier.trace.session_id is None
