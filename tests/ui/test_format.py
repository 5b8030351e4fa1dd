from __future__ import annotations

import pytest

from skein.ui import format

MS = 1_000_000
S = 1_000_000_000


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (None, "—"),
        (int(0.5 * MS), "0.5 ms"),
        (42 * MS, "42 ms"),
        (1240 * MS, "1.24 s"),
        (42 * S, "42.0 s"),
        (200 * S, "3 m 20 s"),
        (180 * S, "3 m"),
        (2 * 3600 * S + 300 * S, "2 h 5 m"),
        (3 * 86400 * S + 4 * 3600 * S, "3 d 4 h"),
    ],
)
def test_duration(ns: int | None, text: str) -> None:
    assert format.duration(ns) == text


def test_times_are_utc() -> None:
    ns = 1_700_000_000 * S
    assert format.timestamp(ns) == "2023-11-14 22:13:20"
    assert format.iso(ns + 5 * MS) == "2023-11-14T22:13:20.005Z"
    assert format.local_input(ns) == "2023-11-14T22:13"


def test_ago() -> None:
    now = 1_700_000_000 * S
    assert format.ago(now - 10 * S, now) == "just now"
    assert format.ago(now - 300 * S, now) == "5 min ago"
    assert format.ago(now - 7200 * S, now) == "2 h ago"
    assert format.ago(now - 3 * 86400 * S, now) == "3 d ago"


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "—"), (0, "0"), (12345, "12,345"), (123_456, "123.5k"), (12_300_000, "12.3M")],
)
def test_count(value: int | None, text: str) -> None:
    assert format.count(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "—"),
        (None, "—"),
        (250.0, "$250"),
        (1.5, "$1.50"),
        (0.0421, "$0.042"),
        (0.00018, "$0.00018"),
    ],
)
def test_cost(value: float | None, text: str) -> None:
    assert format.cost(value) == text


def test_size_and_percent() -> None:
    assert format.size(512) == "512 B"
    assert format.size(5 * 1024 * 1024) == "5.0 MB"
    assert format.percent(1, 3) == "33.3%"
    assert format.percent(1, 0) == "—"
    assert format.percent(1, 10_000) == "<0.1%"
    assert format.percent(9999, 10_000) == ">99.9%"
