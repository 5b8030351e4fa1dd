from __future__ import annotations

import pytest

from skein.repair.durations import duration_label, parse_duration
from skein.repair.keys import find_session_id, value_at

SPAN_METADATA = {
    "chat": {"id": "nested-1"},
    "attributes": {"gen_ai.thread": "attr-1", "count": 7},
    "resourceAttributes": {"service.name": "svc"},
}


@pytest.mark.parametrize(
    ("key", "expected"),
    [("chat.id", "nested-1"), ("metadata.chat.id", "nested-1"), ("gen_ai.thread", "attr-1"),
     ("count", 7), ("service.name", "svc"), ("missing", None), ("chat.id.deeper", None)],
)  # fmt: skip
def test_value_at_reads_literal_attribute_and_nested_keys(key: str, expected: object) -> None:
    assert value_at(SPAN_METADATA, key) == expected


def test_find_session_id_skips_unusable_values() -> None:
    maps = [{"k": ""}, {"k": True}, {"k": "x" * 201}, {"k": 42}]
    assert find_session_id(maps, "k") == "42"
    assert find_session_id([{"k": " padded "}], "k") == "padded"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("90s", 90), ("2h", 7200), ("45", 45)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(duration_label(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "m", "-5m", "0", "abc", "inf"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
