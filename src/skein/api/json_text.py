"""JSON text written directly, for answers too large to build as Python values first.

Every value is written exactly as Starlette's `JSONResponse` encodes it (`ENCODER`), except
stored text that already is JSON: `value_text` puts such text into the answer as it was
sent instead of parsing it only to encode it again, which was most of the time of answering
a large trace. The answer then holds the same values; only insignificant whitespace (and the
choice of escapes) inside that text can differ from encoding its parsed value.

Whether text is JSON is first asked of orjson, which parses strict RFC 8259 JSON about three
times as fast as the standard library. Everything orjson accepts, `json.loads` accepts too;
text it refuses is asked again of the standard parser, so text that only Python reads as
JSON (NaN, numbers past a double's range, lone surrogate escapes) is answered as before.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from typing import Any

import orjson

# JSONResponse's settings: the same bytes for every value that is not stored JSON text.
ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class NonJsonNumber(ValueError):
    """NaN, Infinity or -Infinity: Python's parser reads them, JSON has no such numbers."""


def _refuse(constant: str) -> Any:
    raise NonJsonNumber(constant)


# Parses as `json.loads` does, but stops at NaN and Infinity: text holding one is written
# from its parsed value, so the encoder refuses it exactly as JSONResponse does.
VALIDATOR = json.JSONDecoder(parse_constant=_refuse)


def value_text(text: str | None) -> str:
    """The JSON text of `shapes.json_value(text)`: the text itself when it is JSON, else the
    text as a JSON string."""
    if text is None:
        return "null"
    if is_strict_json(text):
        return text
    try:
        VALIDATOR.decode(text)
    except NonJsonNumber:
        return ENCODER.encode(_parsed_or_text(text))
    except ValueError:
        return encode_basestring(text)
    return text


def is_strict_json(text: str) -> bool:
    """Whether `text` is one JSON value by RFC 8259 (no NaN or Infinity)."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def object_text(text: str | None) -> str | None:
    """`text` itself when it is a JSON object, else None."""
    if text is not None and text.lstrip()[:1] == "{" and is_strict_json(text):
        return text
    return None


def stored_text(text: str) -> str:
    """The JSON text of JSON Skein wrote itself (`rows.json_text`): as it is, needing no
    parsing to be trusted, unless it may hold NaN or Infinity."""
    if "NaN" in text or "Infinity" in text:
        return ENCODER.encode(json.loads(text))
    return text


def string_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def number_text(value: float | None) -> str:
    """A number as the encoder writes it (`repr`; NaN and Infinity refused), or null."""
    if value is None:
        return "null"
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)
    return ENCODER.encode(value)


def _parsed_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
