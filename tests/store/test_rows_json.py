"""JSON text of the stored rows: `MetadataTexts` writes exactly what `json_text` writes, while
it encodes each dict that several metadata values share once."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from skein.store.rows import MetadataTexts, json_text

KEYS = st.one_of(
    st.text(max_size=6),
    st.sampled_from(("resourceAttributes", "scope", "é", '"', "\n")),
    st.integers(-3, 3),
    st.sampled_from((True, False, None, 1.5)),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
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
