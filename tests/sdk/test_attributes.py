"""Attribute value encoding: raw strings, native scalars, JSON for the rest; id checks."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import uuid

import pytest

from skein.sdk import attributes as keys
from skein.sdk.registry import PROCESS


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Model:
    """Anything with `model_dump` (pydantic models) is encoded through it."""

    def model_dump(self) -> dict[str, str]:
        return {"kind": "model"}


def test_serialize_keeps_strings_raw_and_encodes_the_rest_as_json() -> None:
    assert keys.serialize("plain text") == "plain text"
    assert keys.serialize({"q": "hello"}) == '{"q": "hello"}'
    assert keys.serialize([1, 2.5, None, True]) == "[1, 2.5, null, true]"
    assert keys.serialize("é") == "é"


def test_serialize_handles_common_python_objects() -> None:
    moment = datetime.datetime(2025, 1, 2, 3, 4, 5)
    ident = uuid.UUID(int=1)
    encoded = keys.serialize(
        {"at": moment, "id": ident, "point": Point(1, 2), "model": Model(), "set": {3}}
    )
    assert encoded == (
        '{"at": "2025-01-02T03:04:05", "id": "00000000-0000-0000-0000-000000000001", '
        '"point": {"x": 1, "y": 2}, "model": {"kind": "model"}, "set": [3]}'
    )


def test_serialize_never_raises() -> None:
    looped: list[object] = []
    looped.append(looped)
    assert keys.serialize(looped).startswith("[[")
    assert keys.serialize(object()).startswith('"<object object')


def test_metadata_dicts_become_one_attribute_per_key() -> None:
    found = keys.metadata_attributes(
        keys.OBSERVATION_METADATA,
        {"tenant": "acme", "n": 3, "ok": True, "deep": {"a": 1}, "x": None},
    )
    assert found == {
        "langfuse.observation.metadata.tenant": "acme",
        "langfuse.observation.metadata.n": 3,
        "langfuse.observation.metadata.ok": True,
        "langfuse.observation.metadata.deep": '{"a": 1}',
    }
    assert keys.metadata_attributes(keys.TRACE_METADATA, ["a"]) == {
        "langfuse.trace.metadata": '["a"]'
    }


def test_iso_timestamp_is_utc_with_z() -> None:
    eastern = datetime.timezone(datetime.timedelta(hours=-5))
    moment = datetime.datetime(2025, 1, 1, 7, 0, tzinfo=eastern)
    assert keys.iso_timestamp(moment) == "2025-01-01T12:00:00.000000Z"


def test_tags_are_a_sorted_set() -> None:
    assert keys.tag_tuple(["b", "a", "b", 3]) == ("3", "a", "b")
    assert keys.tag_tuple("single") == ("single",)
    assert keys.merged_tags(("b",), ("a", "b")) == ("a", "b")


def test_spread_keys() -> None:
    assert keys.is_spread_key("session.id")
    assert keys.is_spread_key("langfuse.trace.metadata.plan")
    assert not keys.is_spread_key("langfuse.observation.metadata.plan")
    assert not keys.is_spread_key("langfuse.trace.input")


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("chat-42", True),
        ("x" * 200, True),
        ("x" * 201, False),
        ("", False),
        ("  ", False),
        (7, False),
        (["list"], False),
    ],
)
def test_checked_id(value: object, accepted: bool) -> None:
    expected = value if accepted else None
    assert keys.checked_id("session", value) == expected


def test_checked_id_warns_once_per_distinct_problem(caplog: pytest.LogCaptureFixture) -> None:
    PROCESS.forget_warnings()
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        keys.checked_id("session", "x" * 300)
        keys.checked_id("session", 5)
        keys.checked_id("user", 5)
    assert len(caplog.records) == 3


def test_level_and_type_checks_fall_back_with_a_warning() -> None:
    assert keys.checked_level("error") == "ERROR"
    assert keys.checked_level("LOUD") is None
    assert keys.checked_type("Generation") == "generation"
    assert keys.checked_type("banana") == "span"
