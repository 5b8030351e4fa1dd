from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from skein.ingest.guards import (
    TRUNCATED_CODE,
    cap_attributes,
    cap_patches,
    drop_foreign_spans,
    truncation_marker,
)
from skein.ingest.mapping import IngestContext, map_request
from skein.records import DecodedRequest, EventPatch, IngestWarning, RejectedSpan
from tests.factories import make_event, make_resource, make_span

LIMIT = 20


def span_ids(decoded: DecodedRequest) -> list[str]:
    return [span.span_id for span in decoded.spans]


def named(warnings: tuple[IngestWarning, ...]) -> list[str]:
    """The attribute each warning names (between the first pair of quotes)."""
    return sorted(w.message.split("'", 2)[1] for w in warnings)


# -- drop_foreign_spans ---------------------------------------------------------------------------


def test_spans_whose_scope_names_another_public_key_are_rejected_in_request_order() -> None:
    mine = make_resource(scope_attributes={"public_key": "pk-a"})
    other = make_resource(scope_attributes={"public_key": "pk-b"})
    decoded = DecodedRequest(
        spans=(
            make_span(span_id="01" * 8, resource=mine),
            make_span(span_id="03" * 8, resource=other),
            make_span(span_id="04" * 8, resource=make_resource()),
        ),
        rejected=(RejectedSpan(1, "bad id"),),
    )
    kept = drop_foreign_spans(decoded, "pk-a")
    assert span_ids(kept) == ["01" * 8, "04" * 8]
    assert [(r.index, r.span_id) for r in kept.rejected] == [(1, None), (2, "03" * 8)]
    assert "public_key" in kept.rejected[1].reason
    mapped = map_request(kept, "p", IngestContext())
    assert [o.id for o in mapped.observations] == ["01" * 8, "04" * 8]
    assert [r.index for r in mapped.rejected] == [1, 2]


def test_spans_without_a_usable_scope_public_key_are_kept() -> None:
    resources = [
        make_resource(),
        make_resource(scope_attributes={"public_key": ""}),
        make_resource(scope_attributes={"public_key": 7}),
        make_resource(scope_attributes={"public_key": "pk-a"}),
    ]
    decoded = DecodedRequest(tuple(make_span(resource=r) for r in resources))
    assert drop_foreign_spans(decoded, "pk-a") is decoded


# -- cap_attributes -------------------------------------------------------------------------------


def test_a_long_string_attribute_is_cut_with_a_marker_and_a_warning() -> None:
    long_text = "x" * (LIMIT + 5)
    span = make_span(attributes={"input": long_text, "short": "ok", "n": 3})
    capped, warnings = cap_attributes(DecodedRequest((span,)), LIMIT)
    attributes = capped.spans[0].attributes
    assert attributes["input"] == "x" * LIMIT + truncation_marker(LIMIT + 5)
    assert attributes["short"] == "ok" and attributes["n"] == 3
    assert [(w.code, w.span_id) for w in warnings] == [(TRUNCATED_CODE, span.span_id)]
    assert "'input'" in warnings[0].message


def test_values_at_the_limit_are_kept_whole_and_nothing_is_copied() -> None:
    decoded = DecodedRequest((make_span(attributes={"a": "y" * LIMIT, "b": b"z" * LIMIT}),))
    assert cap_attributes(decoded, LIMIT) == (decoded, ())
    assert cap_attributes(decoded, LIMIT)[0] is decoded


def test_nested_event_resource_and_bytes_values_are_cut() -> None:
    resource = make_resource(attributes={"service.name": "s" * 50})
    span = make_span(
        attributes={"messages": [{"content": "m" * 50}, "short"], "blob": b"b" * 50},
        events=(make_event("gen_ai.choice", message="c" * 50),),
        resource=resource,
    )
    second = make_span(span_id="02" * 8, resource=resource)
    capped, warnings = cap_attributes(DecodedRequest((span, second)), LIMIT)
    first = capped.spans[0]
    assert first.attributes["messages"][0]["content"].startswith("m" * LIMIT + "…")
    assert first.attributes["messages"][1] == "short"
    assert first.attributes["blob"] == b"b" * LIMIT
    assert first.events[0].attributes["message"].startswith("c" * LIMIT + "…")
    assert first.resource.attributes["service.name"].startswith("s" * LIMIT + "…")
    # The shared resource is cut once, reported once, and both spans get the cut one.
    assert capped.spans[1].resource is first.resource
    assert named(warnings) == [
        "blob",
        "event gen_ai.choice message",
        "messages",
        "resource service.name",
    ]


def test_a_capped_span_still_maps_and_keeps_its_neighbours() -> None:
    huge = "h" * 10_000_000
    spans = (
        make_span(span_id="01" * 8, attributes={"langfuse.observation.input": huge}),
        make_span(span_id="02" * 8, attributes={"langfuse.observation.input": "small"}),
    )
    capped, warnings = cap_attributes(DecodedRequest(spans), 1000)
    mapped = map_request(capped, "p", IngestContext())
    assert [o.id for o in mapped.observations] == ["01" * 8, "02" * 8]
    assert mapped.observations[0].input is not None
    assert len(mapped.observations[0].input) < 1100
    assert mapped.observations[1].input == "small"
    assert len(warnings) == 1


def test_a_long_string_in_a_list_of_strings_is_cut() -> None:
    tags = ["short", "t" * (LIMIT + 1), ""]
    span = make_span(attributes={"langfuse.trace.tags": tags, "flag": True})
    capped, warnings = cap_attributes(DecodedRequest((make_span(span_id="01" * 8), span)), LIMIT)
    assert capped.spans[1].attributes["langfuse.trace.tags"] == [
        "short",
        "t" * LIMIT + truncation_marker(LIMIT + 1),
        "",
    ]
    assert named(warnings) == ["langfuse.trace.tags"]
    assert [w.span_id for w in warnings] == [span.span_id]


def test_a_list_of_more_items_than_the_limit_is_not_cut() -> None:
    decoded = DecodedRequest((make_span(attributes={"ids": list(range(LIMIT * 3))}),))
    assert cap_attributes(decoded, LIMIT)[0] is decoded
    assert cap_attributes(decoded, LIMIT)[1] == ()


def test_a_long_scope_attribute_is_cut_once_for_every_span_of_its_scope() -> None:
    resource = make_resource(scope_attributes={"public_key": "pk-a", "note": "n" * (LIMIT * 2)})
    spans = tuple(make_span(span_id=f"{n:016x}", resource=resource) for n in range(1, 4))
    capped, warnings = cap_attributes(DecodedRequest(spans), LIMIT)
    capped_resource = capped.spans[0].resource
    assert capped_resource.scope_attributes["note"].startswith("n" * LIMIT + "…")
    assert capped_resource.scope_attributes["public_key"] == "pk-a"
    assert all(span.resource is capped_resource for span in capped.spans)
    assert named(warnings) == ["scope note"]
    assert [w.span_id for w in warnings] == [spans[0].span_id]


attribute_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30) | st.binary(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


def longest(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list):
        return max(map(longest, value), default=0)
    if isinstance(value, dict):
        return max(map(longest, value.values()), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(attributes=st.dictionaries(st.text(max_size=8), attribute_values, max_size=5))
def test_after_capping_no_value_is_longer_than_the_limit_plus_its_marker(
    attributes: dict[str, Any],
) -> None:
    limit = 14  # more than the factory resource's values
    capped, warnings = cap_attributes(DecodedRequest((make_span(attributes=attributes),)), limit)
    result = capped.spans[0].attributes
    assert result.keys() == attributes.keys()
    assert longest(dict(result)) <= limit + len(truncation_marker(10**6))
    too_long = [key for key, value in attributes.items() if longest(value) > limit]
    assert len(warnings) == len(too_long)
    for key in too_long:
        assert any(w.message.startswith(f"attribute {key!r} ") for w in warnings)
    for key in attributes.keys() - set(too_long):
        assert result[key] == attributes[key]


plain_values: st.SearchStrategy[Any] = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=LIMIT + 3)
)


@given(attributes=st.dictionaries(st.text("abcxyz", max_size=5), plain_values, max_size=6))
def test_plain_values_are_cut_exactly_when_a_string_is_over_the_limit(
    attributes: dict[str, Any],
) -> None:
    span = make_span(attributes=attributes)
    capped, warnings = cap_attributes(DecodedRequest((span,)), LIMIT)
    too_long = sorted(k for k, v in attributes.items() if isinstance(v, str) and len(v) > LIMIT)
    assert named(warnings) == too_long
    if not too_long:
        assert capped.spans[0] is span  # nothing copied either


def test_a_str_subclass_is_still_measured() -> None:
    class Text(str):
        pass

    capped, warnings = cap_attributes(
        DecodedRequest((make_span(attributes={"k": Text("x" * (LIMIT + 1))}),)), LIMIT
    )
    assert named(warnings) == ["k"]
    assert capped.spans[0].attributes["k"].startswith("x" * LIMIT + "…")


@settings(max_examples=150, deadline=None)
@given(
    span_maps=st.lists(
        st.dictionaries(st.text("abc", max_size=3), attribute_values, max_size=4),
        min_size=1,
        max_size=4,
    ),
    event_maps=st.lists(
        st.dictionaries(st.text("xyz", max_size=3), attribute_values, max_size=3), max_size=2
    ),
    scope_map=st.dictionaries(st.text("pq", max_size=3), attribute_values, max_size=3),
)
def test_a_request_is_left_alone_exactly_when_no_value_anywhere_is_too_long(
    span_maps: list[dict[str, Any]],
    event_maps: list[dict[str, Any]],
    scope_map: dict[str, Any],
) -> None:
    limit = 14  # more than the factory resource's values
    resource = make_resource(scope_attributes=scope_map)
    events = tuple(make_event(f"e{n}", **attributes) for n, attributes in enumerate(event_maps))
    spans = tuple(
        make_span(span_id=f"{n + 1:016x}", attributes=attributes, resource=resource, events=events)
        for n, attributes in enumerate(span_maps)
    )
    decoded = DecodedRequest(spans)
    capped, warnings = cap_attributes(decoded, limit)
    maps = [*span_maps, *event_maps, scope_map]
    too_long = sum(longest(value) > limit for attributes in maps for value in attributes.values())
    too_long_in_events = sum(longest(v) > limit for m in event_maps for v in m.values())
    # Every span reports its own events' cuts; the shared scope's are reported once.
    expected = too_long + too_long_in_events * (len(spans) - 1)
    assert len(warnings) == expected
    assert (capped is decoded) == (expected == 0)
    for span in capped.spans:
        assert longest(dict(span.attributes)) <= limit + len(truncation_marker(10**6))
        assert longest(dict(span.resource.scope_attributes)) <= limit + len(
            truncation_marker(10**6)
        )


def test_batch_event_patches_with_nothing_long_are_returned_as_they_are() -> None:
    patch = EventPatch(
        "observation", "o1", "e1", 1, False, {"input": "x" * 10, "usage": {"input": 3}}
    )

    capped, warnings = cap_patches([patch], 10)

    assert capped[0] is patch and warnings == ()


def test_a_long_batch_value_is_cut_and_named_in_a_warning_on_its_trace() -> None:
    patch = EventPatch("observation", "o1", "e1", 1, True, {"trace_id": "t1", "tags": ["y" * 11]})

    [capped], [warning] = cap_patches([patch], 10)

    assert capped.values == {"trace_id": "t1", "tags": ["y" * 10 + truncation_marker(11)]}
    assert (warning.trace_id, warning.span_id, warning.code) == ("t1", "o1", "attribute_truncated")


def test_ids_in_batch_event_patches_are_never_cut() -> None:
    values = {"trace_id": "t" * 20, "parent_id": "p" * 20, "name": "n" * 20}
    patch = EventPatch("observation", "o1", "e1", 1, False, values)

    [capped], [warning] = cap_patches([patch], 10)

    assert capped.values == {**values, "name": "n" * 10 + truncation_marker(20)}
    assert "'name'" in warning.message
