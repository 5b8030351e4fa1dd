"""How numbers, times and sizes read on a page (registered as Jinja filters)."""

from __future__ import annotations

import datetime as dt

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
MINUTE_S = 60
HOUR_S = 3600
DAY_S = 86_400


def duration(ns: int | float | None) -> str:
    """A duration the way people say it: 850 ms, 1.24 s, 3 m 20 s, 2 h 5 m, 3 d 4 h."""
    if ns is None:
        return "—"
    if ns < NS_PER_S:
        ms = ns / NS_PER_MS
        return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"
    seconds = ns / NS_PER_S
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < MINUTE_S:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < HOUR_S:
        return _pair(whole // MINUTE_S, "m", whole % MINUTE_S, "s")
    if whole < DAY_S:
        return _pair(whole // HOUR_S, "h", whole % HOUR_S // MINUTE_S, "m")
    return _pair(whole // DAY_S, "d", whole % DAY_S // HOUR_S, "h")


def _pair(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    return f"{major} {major_unit} {minor} {minor_unit}" if minor else f"{major} {major_unit}"


def timestamp(ns: int | None) -> str:
    """UTC date and time to the second (the page's script shows it in local time)."""
    if ns is None:
        return "—"
    moment = dt.datetime.fromtimestamp(ns / NS_PER_S, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def iso(ns: int | None) -> str:
    """ISO 8601 with milliseconds, for `<time datetime>`."""
    if ns is None:
        return ""
    moment = dt.datetime.fromtimestamp(ns / NS_PER_S, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_input(ns: int | None) -> str:
    """A `datetime-local` input's value (UTC, to the minute)."""
    if ns is None:
        return ""
    moment = dt.datetime.fromtimestamp(ns / NS_PER_S, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M")


def ago(ns: int | None, now_ns: int) -> str:
    """How long before `now_ns`: just now, 5 min ago, 3 h ago, 2 d ago."""
    if ns is None:
        return "—"
    seconds = max(0, (now_ns - ns) // NS_PER_S)
    if seconds < 45:
        return "just now"
    if seconds < HOUR_S:
        return f"{max(1, round(seconds / MINUTE_S))} min ago"
    if seconds < DAY_S:
        return f"{seconds // HOUR_S} h ago"
    return f"{seconds // DAY_S} d ago"


def count(value: int | float | None) -> str:
    """An integer with thousands separators; large ones shortened (12.3k, 4.5M)."""
    if value is None:
        return "—"
    number = int(value)
    if abs(number) < 100_000:
        return f"{number:,}"
    if abs(number) < 10_000_000:
        return f"{number / 1000:.1f}k".replace(".0k", "k")
    return f"{number / 1_000_000:.1f}M".replace(".0M", "M")


def cost(value: float | None) -> str:
    """US dollars, with enough digits for fractions of a cent; a dash for no cost."""
    if not value:
        return "—"
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:,.2f}"
    if value >= 0.01:
        return f"${value:.3f}"
    return f"${value:.5f}".rstrip("0")


def size(chars: int) -> str:
    """A text length as bytes-like units (characters, near enough)."""
    if chars < 1024:
        return f"{chars} B"
    if chars < 1024 * 1024:
        return f"{chars / 1024:.1f} KB"
    return f"{chars / 1024 / 1024:.1f} MB"


def percent(part: float, whole: float) -> str:
    if not whole:
        return "—"
    share = 100 * part / whole
    if 0 < share < 0.1:
        return "<0.1%"
    if 99.9 < share < 100:
        return ">99.9%"
    return f"{share:.1f}%".replace(".0%", "%")


def score_value(value: float | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


FILTERS = {
    "duration": duration,
    "timestamp": timestamp,
    "iso": iso,
    "local_input": local_input,
    "count": count,
    "cost": cost,
    "size": size,
    "score_value": score_value,
}
