"""JSON text of the stored rows: `json_text` writes exactly what `JSON_ENCODER` writes (while
orjson writes what it can), and `MetadataTexts` exactly what `json_text` writes (while it
checks each dict that several metadata values share once)."""

from __future__ import annotations

import json
import math
from types import MappingProxyType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from skein.store.rows import JSON_ENCODER, MetadataTexts, json_text

KEYS = st.one_of(
    st.text(max_size=6),
    st.sampled_from(("resourceAttributes", "scope", "é", '"', "\n")),
    st.integers(-3, 3),
    st.sampled_from((True, False, None, 1.5)),
)
# Floats of every magnitude around where Python starts writing an exponent (1e-4, 1e16).
EDGE_FLOATS = st.builds(
    lambda mantissa, exponent: mantissa * 10.0**exponent,
    st.floats(-10, 10, allow_nan=False),
    st.integers(-8, 20),
)
SURROGATES = st.text(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(2**63 - 2, 2**64 + 2),
    st.floats(),
    EDGE_FLOATS,
    st.text(max_size=8),
    SURROGATES,
    st.binary(max_size=4),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
    ),
    max_leaves=8,
)


CONTAINERS = st.one_of(
    st.dictionaries(KEYS, JSONISH, max_size=5),
    st.lists(JSONISH, max_size=5),
    st.lists(JSONISH, max_size=5).map(tuple),
)


@given(CONTAINERS)
def test_json_text_is_the_encoders_text(
    value: dict[Any, Any] | list[Any] | tuple[Any, ...],
) -> None:
    assert json_text(value) == JSON_ENCODER.encode(value)


# Floats orjson writes otherwise than Python (as 0.00001, 1e16, null) and some it writes alike.
FLOATS = (1e-05, 9.999999999999999e-05, 1e-4, 6.06e-05, 1e16, 9999999999999998.0, -0.0, 5e-324)
SPECIAL_FLOATS = (math.nan, math.inf, -math.inf)


def test_floats_are_written_as_python_writes_them_even_where_orjson_would_not() -> None:
    for number in FLOATS + SPECIAL_FLOATS:
        for value in ([number], {"cost": number}, {"n": 1, "cost": number}):
            assert json_text(value) == JSON_ENCODER.encode(value)


def test_metadata_orjson_would_write_otherwise_is_written_as_json_text() -> None:
    for number in FLOATS + SPECIAL_FLOATS:
        shared = {"cost": number, "name": "agent"}
        values = [
            {"a": 1, "resource": shared},
            {"resource": shared},
            {"costs": [number], "tags": ("a",)},
            {"costs": [[number]], "n": None},
        ]
        texts = MetadataTexts()

        assert [texts.text(value) for value in values] == [json_text(value) for value in values]
        assert json_text(values[0]) == JSON_ENCODER.encode(values[0])


@st.composite
def metadata_sharing_dicts(draw: st.DrawFn) -> list[Any]:
    """Metadata values whose items are often one of a few dict objects they all share."""
    shared = draw(st.lists(st.dictionaries(st.text(max_size=4), JSONISH, max_size=3), max_size=3))
    item = st.one_of(JSONISH, st.sampled_from(shared)) if shared else JSONISH
    values = st.one_of(st.dictionaries(KEYS, item, max_size=5), JSONISH)
    return draw(st.lists(values, min_size=1, max_size=6))


@given(metadata_sharing_dicts())
def test_the_texts_are_json_texts(values: list[Any]) -> None:
    texts = MetadataTexts()

    assert [texts.text(value) for value in values] == [json_text(value) for value in values]


def test_a_shared_dict_reads_the_same_in_every_value_that_holds_it() -> None:
    resource = {"service.name": "agent", "n": 1}
    scope = {"name": "sdk", "attributes": {"public_key": "pk"}}
    values: list[dict[str, Any]] = [
        {"a": 1, "resourceAttributes": resource, "scope": scope},
        {"resourceAttributes": resource, "scope": scope},
        {"resourceAttributes": resource, "b": [resource], "scope": scope, "c": {}},
    ]
    texts = MetadataTexts()

    found = [json.loads(texts.text(value)) for value in values]

    assert found == [json.loads(json.dumps(value)) for value in values]
    assert [list(value) for value in found] == [list(value) for value in values]


def test_values_other_than_non_empty_dicts_are_json_texts() -> None:
    texts = MetadataTexts()

    values: tuple[object, ...] = ({}, (), [], None, ("a", 1), MappingProxyType({"k": {}}), b"0")
    for value in values:
        assert texts.text(value) == json_text(value)


def test_empty_values_keep_their_texts() -> None:
    empty: tuple[object, ...] = ({}, (), [], None, MappingProxyType({}))
    assert [json_text(value) for value in empty] == [
        "{}",
        "[]",
        "[]",
        "[]",
        "{}",
    ]
