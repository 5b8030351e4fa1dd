"""Stored values (inputs, outputs, metadata) as a page shows them: messages, JSON or text,
cut to a size a browser renders at once, with the full value one request away.

A 5 MB input is neither parsed nor pretty-printed for the page: past `PARSE_LIMIT` characters
the page shows the first `CLIP_CHARS` of the text as stored, and the expand link loads the
whole value from `/ui/value/...`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skein.ui.messages import Message, decode, parse_messages

CLIP_CHARS = 20_000
PARSE_LIMIT = 1_000_000
PREVIEW_CHARS = 160
PREVIEW_MESSAGES = 6

EMPTY = "empty"
MESSAGES = "messages"
JSON = "json"
TEXT = "text"


@dataclass(frozen=True, slots=True)
class Clip:
    """The start of a text, and how long the whole text is."""

    text: str
    total: int

    @property
    def clipped(self) -> bool:
        return self.total > len(self.text)


def clip(text: str, limit: int = CLIP_CHARS) -> Clip:
    """At most `limit` characters of `text`, cut at a line end when one is near."""
    if len(text) <= limit:
        return Clip(text, len(text))
    cut = text.rfind("\n", limit - limit // 10, limit)
    return Clip(text[: cut if cut > 0 else limit], len(text))


@dataclass(frozen=True, slots=True)
class Shown:
    """A stored value for the page: its messages, or its JSON or text body (clipped)."""

    kind: str
    messages: tuple[Message, ...] = ()
    body: Clip | None = None
    size: int = 0


def show_value(text: str | None, side: str = "input") -> Shown:
    """How a stored input or output (side="output") is shown."""
    if text is None or not text.strip():
        return Shown(EMPTY)
    if len(text) > PARSE_LIMIT:
        return Shown(TEXT, body=clip(text), size=len(text))
    value = decode(text)
    messages = parse_messages(value, side)
    if messages:
        return Shown(MESSAGES, messages=messages, size=len(text))
    return show_data(value, len(text))


def show_data(value: Any, size: int = 0) -> Shown:
    """A decoded value that is not messages: text as is, anything else as indented JSON."""
    if isinstance(value, str):
        return Shown(TEXT, body=clip(value), size=size or len(value))
    if value is None or (isinstance(value, Mapping | list) and not value):
        return Shown(EMPTY)
    body = pretty_json(value)
    return Shown(JSON, body=clip(body), size=size or len(body))


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def full_text(text: str) -> str:
    """A stored value in full, for the expand endpoint: indented when it is JSON."""
    value = decode(text)
    if isinstance(value, str):
        return value
    return pretty_json(value)


def preview(text: str | None, side: str = "input") -> str:
    """One line for a list: the last user message (or the first message) of a value."""
    if not text:
        return ""
    if len(text) > PARSE_LIMIT:
        return _one_line(text)
    value = decode(text)
    messages = parse_messages(_tail(value), side)
    if not messages:
        return _one_line(value if isinstance(value, str) else json.dumps(value, default=str))
    wanted = "user" if side == "input" else "assistant"
    spoken = [m for m in messages if m.role == wanted and m.text] or [m for m in messages if m.text]
    chosen = spoken[-1] if spoken else messages[-1]
    return _one_line(chosen.text or _parts_summary(chosen))


def _tail(value: Any) -> Any:
    """The last few messages of a long history: a preview needs no more."""
    if isinstance(value, list) and len(value) > PREVIEW_MESSAGES:
        return value[-PREVIEW_MESSAGES:]
    if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
        return _tail(value["messages"])
    return value


def data_preview(text: str | None) -> str:
    """One line of a value as data: text as it is, anything else as compact JSON."""
    if not text:
        return ""
    value = decode(text) if len(text) <= PARSE_LIMIT else text
    if isinstance(value, str):
        return _one_line(value)
    return _one_line(json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str))


def _parts_summary(message: Message) -> str:
    names = [part.name or part.kind for part in message.parts]
    return ", ".join(names)


def _one_line(text: str) -> str:
    flat = " ".join(text[: PREVIEW_CHARS * 4].split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
