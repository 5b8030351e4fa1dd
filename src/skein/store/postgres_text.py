"""Text that PostgreSQL can store: U+0000 becomes U+FFFD on the way in.

PostgreSQL's text types cannot hold the NUL character, and psycopg refuses a string that
contains one. A span whose tool output or prompt carries a NUL would then fail its whole
request on PostgreSQL, while SQLite stores it as sent. So on PostgreSQL every NUL becomes
U+FFFD (the replacement character): the span is kept, with one character changed.

Two places do it. Every connection dumps Python strings through the dumpers below, so
whatever is written (spans, scores, comments, prices, rules) and every query parameter loses
its NULs the same way: a lookup by an id that held a NUL finds what was stored under it. And
`nul_free` replaces them in what a write brings (batches, session assignments, audit
entries) before the store folds it with what it reads back, so the folds compare the
strings the database holds: a session id "a<NUL>" in a batch and the stored "a<U+FFFD>" are
one session. It reaches into mappings too, which become JSON: a NUL there would be written
`\\u0000`, which PostgreSQL's `jsonb` refuses when a query reads metadata or tags as it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any, TypeVar, cast

import orjson
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
    Dumpers looked up by PostgreSQL type (`COPY` after `set_types`) are psycopg's own and
    still refuse a NUL: nothing in Skein copies that way.
    """
    connection.adapters.register_dumper(str, NulFreeBinaryTextDumper)
    connection.adapters.register_dumper(str, NulFreeTextDumper)


def nul_free(value: T) -> T:
    """`value` with NUL replaced in every string it holds, as deep as dataclass fields,
    tuples, lists and mappings (keys and values) go; `value` itself when none holds one.

    Mappings become JSON on the way in, and PostgreSQL's `jsonb` (which some queries cast
    stored JSON to) refuses `\\u0000` as well, so their NULs are replaced too.
    """
    return cast(T, _replaced(value))


def _replaced(value: object) -> object:
    kind: Any = type(value)
    if kind is str:
        return cast(str, value).replace(NUL, REPLACEMENT)  # the same object when none
    if kind in _HOLD_NO_TEXT:
        return value
    if kind is dict or isinstance(value, Mapping):
        return _replaced_mapping(cast("Mapping[Any, Any]", value))
    if isinstance(value, tuple | list):
        return _replaced_items(value)
    if dataclasses.is_dataclass(value):
        return _replaced_fields(value, _field_names(kind))
    return value


_HOLD_NO_TEXT = frozenset({int, float, bool, type(None)})


def _replaced_mapping(mapping: Mapping[Any, Any]) -> object:
    if not _may_hold_nul(mapping):
        return mapping
    return {_replaced(key): _replaced(item) for key, item in mapping.items()}


def _may_hold_nul(mapping: Mapping[Any, Any]) -> bool:
    """False when the mapping, as JSON, holds no NUL: found at C speed for the usual
    metadata; True when it cannot be told that way."""
    try:
        return b"\\u0000" in orjson.dumps(mapping)
    except TypeError:
        return True  # not plain JSON (keys that are not strings, say): walk it


def _replaced_items(items: tuple[Any, ...] | list[Any]) -> object:
    replaced = [_replaced(item) for item in items]
    if all(new is old for new, old in zip(replaced, items, strict=True)):
        return items
    if isinstance(items, list):
        return replaced
    make = getattr(items, "_make", None)  # a NamedTuple keeps its type
    return make(replaced) if make is not None else tuple(replaced)


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


@functools.cache
def _field_names(kind: Any) -> tuple[str, ...]:
    """The fields of a dataclass type that `dataclasses.replace` can set."""
    return tuple(field.name for field in dataclasses.fields(kind) if field.init)
