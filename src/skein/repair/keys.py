"""Finding a session id under a key the user names, in a span's attributes or metadata.

A key is looked up in each map in turn (a span's trace metadata, then its observation
metadata): first as one literal key (OTel attribute names contain dots), then under the
span's other attributes and resource attributes (which Skein keeps in the metadata), then
as a dotted path into nested objects. A leading `metadata.` is optional.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MAX_SESSION_ID_CHARS = 200
# Where Skein's observation metadata keeps the span's other attributes and its resource's.
NESTED_ATTRIBUTE_MAPS = ("attributes", "resourceAttributes")
METADATA_PREFIX = "metadata."


def find_session_id(maps: Iterable[Mapping[str, Any]], key: str) -> str | None:
    """The first usable session id at `key` in any of the maps."""
    for mapping in maps:
        found = session_id_of(value_at(mapping, key))
        if found is not None:
            return found
    return None


def value_at(mapping: Mapping[str, Any], key: str) -> Any:
    """The value at `key` (literal, under the attribute maps, or as a dotted path), or None."""
    for name in _spellings(key):
        for place in (mapping, *_attribute_maps(mapping)):
            if name in place:
                return place[name]
        nested = _path(mapping, name.split("."))
        if nested is not None:
            return nested
    return None


def session_id_of(value: Any) -> str | None:
    """A value usable as a session id: non-empty text or an integer, at most 200 characters."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text if 0 < len(text) <= MAX_SESSION_ID_CHARS else None


def _spellings(key: str) -> tuple[str, ...]:
    if key.startswith(METADATA_PREFIX):
        return (key, key.removeprefix(METADATA_PREFIX))
    return (key,)


def _attribute_maps(mapping: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [m for name in NESTED_ATTRIBUTE_MAPS if isinstance(m := mapping.get(name), Mapping)]


def _path(mapping: Mapping[str, Any], parts: list[str]) -> Any:
    node: Any = mapping
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
