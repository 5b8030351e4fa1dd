"""Opaque cursors for keyset pagination, shared by the store backends.

A list sorted by (value, id) continues after the last row it returned: the cursor carries
that row's sort value and id, plus the sort it belongs to, so a cursor of one sort is refused
by another instead of silently skipping rows. The text is URL-safe base64 of a JSON array.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from skein.errors import BadRequest

SortValue = int | float | str


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the sort it was in and the last row's (value, id)."""

    sort: str
    descending: bool
    value: SortValue
    key: str | int


def encode_cursor(position: Position) -> str:
    payload = [position.sort, position.descending, position.value, position.key]
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, sort: str, descending: bool) -> Position:
    """The position a cursor names; BadRequest if it is malformed or from another sort."""
    payload = _payload(cursor)
    if payload[0] != sort or payload[1] is not descending:
        raise BadRequest("parameter 'cursor' belongs to another sort order")
    value, key = payload[2], payload[3]
    assert isinstance(value, int | float | str) and isinstance(key, str | int)
    return Position(sort, descending, value, key)


def _payload(cursor: str) -> list[object]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        payload = json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadRequest("parameter 'cursor' is not a cursor this server issued") from error
    if not _well_formed(payload):
        raise BadRequest("parameter 'cursor' is not a cursor this server issued")
    return list(payload)


def _well_formed(payload: object) -> bool:
    return (
        isinstance(payload, list)
        and len(payload) == 4
        and isinstance(payload[0], str)
        and isinstance(payload[1], bool)
        and isinstance(payload[2], int | float | str)
        and not isinstance(payload[2], bool)
        and isinstance(payload[3], str | int)
        and not isinstance(payload[3], bool)
    )
