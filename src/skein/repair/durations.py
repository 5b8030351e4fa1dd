"""Durations as people write them: `30m`, `90s`, `2h`, `1d`, or plain seconds."""

from __future__ import annotations

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError unless it is a positive number with an optional unit."""
    cleaned = text.strip().lower()
    unit = UNITS.get(cleaned[-1:], None)
    number = cleaned[:-1] if unit is not None else cleaned
    try:
        seconds = float(number) * (unit or 1.0)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (e.g. 30m, 90s, 2h)") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"a duration must be positive, got {text!r}")
    return seconds


def duration_label(seconds: float) -> str:
    """The shortest exact spelling: 1800 → "30m", 90 → "90s"."""
    for unit in ("d", "h", "m"):
        if seconds >= UNITS[unit] and seconds % UNITS[unit] == 0:
            return f"{int(seconds // UNITS[unit])}{unit}"
    return f"{seconds:g}s"
