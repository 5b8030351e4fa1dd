"""Text that PostgreSQL can store: U+0000 becomes U+FFFD on the way in.

PostgreSQL's text types cannot hold the NUL character, and psycopg refuses a string that
contains one. A span whose tool output or prompt carries a NUL would then fail its whole
request on PostgreSQL, while SQLite stores it as sent. So on PostgreSQL every NUL becomes
U+FFFD (the replacement character): the span is kept, with one character changed.

Two places do it. Every connection dumps Python strings through the dumpers below, so
whatever is written (spans, scores, comments, session assignments) and every query
parameter loses its NULs the same way: a lookup by an id that held a NUL finds what was
stored under it. And `nul_free` replaces them in the batches a write brings before the
store folds them with what it reads back, so the folds compare the strings the database
holds: a session id "a<NUL>" in a batch and the stored "a<U+FFFD>" are one session.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

from psycopg import Connection
from psycopg.abc import Buffer
from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

NUL = "\x00"
REPLACEMENT = "\ufffd"

T = TypeVar("T")


class NulFreeTextDumper(StrDumperUnknown):
    """psycopg's default string dumper (text format, type left to the server), NUL replaced."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace(NUL, REPLACEMENT))


class NulFreeBinaryTextDumper(StrBinaryDumper):
    """psycopg's binary string dumper (used by binary COPY and `%b`), NUL replaced."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace(NUL, REPLACEMENT))


def store_nul_free_text(connection: Connection[Any]) -> None:
    """Make the connection dump every string through the NUL-free dumpers.

    The text one is registered last, so it stays the dumper of plain `%s` placeholders.
    """
    connection.adapters.register_dumper(str, NulFreeBinaryTextDumper)
    connection.adapters.register_dumper(str, NulFreeTextDumper)


def nul_free(value: T) -> T:
    """`value` with NUL replaced in every string of its dataclass fields, tuples and lists, as
    deep as they go; `value` itself when none holds one.

    Mappings are left as they are: they are stored as JSON, which writes a NUL as `\\u0000`.
    """
    return cast(T, _replaced(value))


def _replaced(value: object) -> object:
    kind = type(value)
    if kind is str:
        return cast(str, value).replace(NUL, REPLACEMENT)  # the same object when none
    if kind in _HOLD_NO_TEXT:
        return value
    if kind is tuple or kind is list:
        return _replaced_items(cast("tuple[Any, ...] | list[Any]", value))
    if dataclasses.is_dataclass(value):
        return _replaced_fields(value, _field_names(kind))
    return value


# Types of most fields, returned at once (mappings, stored as JSON, are left alone too).
_HOLD_NO_TEXT = frozenset({int, float, bool, type(None), dict})


def _replaced_items(items: tuple[Any, ...] | list[Any]) -> object:
    replaced = [_replaced(item) for item in items]
    if all(new is old for new, old in zip(replaced, items, strict=True)):
        return items
    return replaced if isinstance(items, list) else tuple(replaced)


def _replaced_fields(record: Any, names: tuple[str, ...]) -> object:
    changes = {}
    for name in names:
        old = getattr(record, name)
        if type(old) in _HOLD_NO_TEXT:
            continue
        new = _replaced(old)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(record, **changes) if changes else record


# The field names of each record type met, found once per process.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(field.name for field in dataclasses.fields(kind))
    return names
