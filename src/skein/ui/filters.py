"""List filters read from a page's query string: time range, sort and the text fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from skein.errors import BadRequest

RANGES = {
    "1h": 3600,
    "24h": 86_400,
    "7d": 7 * 86_400,
    "30d": 30 * 86_400,
    "90d": 90 * 86_400,
}
RANGE_LABELS = (
    ("", "All time"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("custom", "Custom…"),
)
NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class TimeRange:
    key: str  # "", one of RANGES, or "custom"
    from_ns: int | None
    to_ns: int | None


def time_range(query: Mapping[str, str], now_ns: int) -> TimeRange:
    """The range a list is limited to: a preset (`range=24h`) or `from`/`to` (UTC)."""
    key = query.get("range", "")
    if key in RANGES:
        return TimeRange(key, now_ns - RANGES[key] * NS_PER_S, None)
    start, end = _moment(query.get("from")), _moment(query.get("to"))
    if start is None and end is None:
        return TimeRange("", None, None)
    return TimeRange("custom", start, end)


def _moment(text: str | None) -> int | None:
    """A `datetime-local` value (taken as UTC) or a date, in nanoseconds."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise BadRequest(f"not a date and time: {text!r}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp()) * NS_PER_S


@dataclass(frozen=True, slots=True)
class Sort:
    key: str
    descending: bool

    def toggled(self, key: str) -> str:
        """The `sort` parameter a column header links to: flips the direction of its own."""
        return f"{key}:asc" if key == self.key and self.descending else key


def sort_of(query: Mapping[str, str], allowed: tuple[str, ...], default: str) -> Sort:
    """`sort=cost` (descending) or `sort=cost:asc`; unknown keys fall back to the default."""
    text = query.get("sort", "")
    key, _, direction = text.partition(":")
    if key not in allowed:
        return Sort(default, True)
    return Sort(key, direction != "asc")


def text(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name, "").strip()
    return value or None


def flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "") in ("1", "on", "true", "yes")


def page_number(query: Mapping[str, str], name: str = "page") -> int:
    try:
        return max(1, int(query.get(name, "1")))
    except ValueError:
        return 1
