"""JSON text written directly: each value as JSONResponse encodes it, stored JSON as it is."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from skein.api.json_text import (
    is_strict_json,
    number_text,
    object_text,
    stored_text,
    string_text,
    value_text,
)
from skein.api.shapes import json_value

STORED_TEXTS = [
    '{"role": "user", "content": "line\\nbreak \\"quoted\\" \\u00e9 \\ud83d\\ude80"}',
    '[1, 2.5, -0.0, 1e-07, 12345678901234567890, true, false, null, {"": []}]',
    '  {"padded": "with whitespace"}\n',
    '"just a string"',
    "42",
    "plain words, not JSON",
    "{not json}",
    "",
    '{"a": 1} trailing',
    "\ufeff[1]",
    "日本語 🚀 \x00 \u2028",
    '{"note": "NaN and Infinity are words here"}',
    '"\\ud800 is a lone surrogate"',
    "1e400",
    "[-12345678901234567890123, 1E+2]",
]


def encoded(value: Any) -> str:
    """What JSONResponse writes for `value`, as text."""
    return JSONResponse(value).body.decode()


@pytest.mark.parametrize("text", STORED_TEXTS)
def test_a_text_is_written_as_the_value_json_value_gives(text: str) -> None:
    written = value_text(text)

    assert json.loads(written) == json_value(text)


def test_json_text_is_written_as_sent_and_other_text_as_a_string() -> None:
    assert value_text('{"a": [1, 2]}') == '{"a": [1, 2]}'
    assert value_text("plain ü\n") == encoded("plain ü\n")
    assert value_text(None) == "null"


@pytest.mark.parametrize("text", ['{"x": NaN}', "[Infinity]", "-Infinity"])
def test_nan_and_infinity_are_refused_as_jsonresponse_refuses_them(text: str) -> None:
    with pytest.raises(ValueError):
        JSONResponse({"input": json_value(text)})
    with pytest.raises(ValueError):
        value_text(text)


def test_text_with_nan_that_is_not_json_is_a_string() -> None:
    assert value_text("NaN, then more") == encoded("NaN, then more")


def test_stored_json_is_written_unparsed_unless_it_may_hold_nan() -> None:
    assert stored_text('{"k":"v","deep":{"x":[1,2]}}') == '{"k":"v","deep":{"x":[1,2]}}'
    assert stored_text('{"note": "NaN"}') == encoded({"note": "NaN"})
    with pytest.raises(ValueError):
        stored_text('{"x":NaN}')


@pytest.mark.parametrize("value", ["", 'ü " \\ \n \x01 🚀', None])
def test_strings_are_written_as_the_encoder_writes_them(value: str | None) -> None:
    assert string_text(value) == encoded(value)


@pytest.mark.parametrize("value", [0, -3, 10**20, 0.1, 1e-07, 1e16, -0.0, 2.5, True, None])
def test_numbers_are_written_as_the_encoder_writes_them(value: float | None) -> None:
    assert number_text(value) == encoded(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numbers_json_has_not_are_refused(value: float) -> None:
    with pytest.raises(ValueError):
        number_text(value)


def test_only_a_json_object_is_object_text() -> None:
    assert object_text(' {"t": 0.2, "stop": ["\\n"]}') == ' {"t": 0.2, "stop": ["\\n"]}'
    assert object_text("[1, 2]") is None
    assert object_text('{"t": NaN}') is None
    assert object_text("{not json}") is None
    assert object_text(None) is None


@given(st.text(alphabet='{}[]",:0123456789.eE+- \\tnulrsfaNIiyu\u00e9\U0001f680', max_size=40))
def test_text_strict_json_accepts_python_reads_as_the_same_json(text: str) -> None:
    if is_strict_json(text):
        assert json.dumps(json.loads(text)) == json.dumps(json.loads(value_text(text)))
        assert value_text(text) == text


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(JSON_VALUES, st.booleans())
def test_json_python_writes_is_written_as_it_is(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)

    assert value_text(text) == text
