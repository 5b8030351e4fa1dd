"""Where trace-level values hide in span attributes, and how their values are spelled.

A session id reaches Skein under many names (design.md, rule 1): the OTel and Langfuse keys,
then metadata keys under several prefixes, snake_case or camelCase, flattened
(`langfuse.observation.metadata.sessionId`) or inside a JSON metadata blob. The first usable
value wins; an unusable one (not a string, blank, too long) is skipped with a problem noted,
so the caller can warn and the span is still kept.

Metadata values are spelled differently by every SDK version (langfuse-wire README §6):

    Python 5.x   JSON for every value         "\\"acme\\""  "42"  "true"  "{\\"x\\":1}"
    Python 4.x   str(value), a Python repr    "acme"  "True"  "{'x': 1}"
    Python 3.x   native OTLP types            "acme"  3  True
    JS 5.x       raw strings, JSON otherwise  "acme"  "5"  "{\\"a\\":1}"

`decode_value` undoes all of them: JSON first, then (where the sender may be Python 4.x) a
guarded `ast.literal_eval` of a container or True/False/None, else the raw string.
"""

from __future__ import annotations

import ast
import base64
import json
import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SESSION_KEYS = ("langfuse.session.id", "session.id", "gen_ai.conversation.id")
USER_KEYS = ("langfuse.user.id", "user.id", "enduser.id")
METADATA_PREFIXES = (
    "langfuse.trace.metadata.",
    "langfuse.observation.metadata.",
    "metadata.",
    "ai.telemetry.metadata.",
    "traceloop.association.properties.",
)
# Attributes whose value is a whole metadata object (a JSON object string or a kvlist).
METADATA_BLOBS = ("langfuse.trace.metadata", "langfuse.observation.metadata", "metadata")
SESSION_NAMES = (
    "langfuse_session_id",
    "langfuseSessionId",
    "session_id",
    "sessionId",
    "conversation_id",
    "conversationId",
    "thread_id",
    "threadId",
)
USER_NAMES = ("langfuse_user_id", "langfuseUserId", "user_id", "userId")
PUBLIC_KEYS = ("langfuse.trace.public", "langfuse.public")
TAG_KEYS = ("langfuse.trace.tags", "langfuse.tags")
TAG_NAME = "langfuse_tags"
TAG_LATE_KEYS = ("ai.telemetry.metadata.tags", "tag.tags")
TRACE_METADATA_BLOB = "langfuse.trace.metadata"
TRACE_METADATA_PREFIXES = (
    "langfuse.trace.metadata.",
    "ai.telemetry.metadata.",
    "traceloop.association.properties.",
)
OBSERVATION_METADATA_BLOB = "langfuse.observation.metadata"
OBSERVATION_METADATA_PREFIXES = ("langfuse.observation.metadata.",)

MAX_ID_LENGTH = 200
MAX_LITERAL_LENGTH = 10_000
MAX_NESTING = 32
MAX_INTEGER_BITS = 10_000
_JSON_START = frozenset('{["-0123456789tfn')
_PYTHON_CONSTANTS: Mapping[str, Any] = {"True": True, "False": False, "None": None}
_JSON_CONSTANTS: Mapping[str, Any] = {"true": True, "false": False, "null": None}
# Longest digit string read without json.loads (far below int()'s digit limit).
_MAX_PLAIN_DIGITS = 18
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class IdAliases:
    """The keys one kind of id is read from, in precedence order."""

    kind: str  # "session" or "user": names the warning codes, e.g. "session_id_empty"
    keys: tuple[str, ...]  # flattened attribute keys, the direct keys first
    names: tuple[str, ...]  # names looked up inside metadata blobs
    # Each key's place in `keys`: a span's few attributes are looked up, not the many keys.
    ranks: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ranks = {key: rank for rank, key in enumerate(self.keys)}
        if len(ranks) != len(self.keys):
            raise ValueError(f"the {self.kind} id aliases repeat a key")
        object.__setattr__(self, "ranks", ranks)


def metadata_keys(names: tuple[str, ...]) -> tuple[str, ...]:
    """Every `prefix + name`, prefix-major: all names under the first prefix come first."""
    return tuple(prefix + name for prefix in METADATA_PREFIXES for name in names)


SESSION_ALIASES = IdAliases("session", SESSION_KEYS + metadata_keys(SESSION_NAMES), SESSION_NAMES)
USER_ALIASES = IdAliases("user", USER_KEYS + metadata_keys(USER_NAMES), USER_NAMES)
TAG_ALIASES = TAG_KEYS + metadata_keys((TAG_NAME,)) + TAG_LATE_KEYS
TAG_RANKS: Mapping[str, int] = {key: rank for rank, key in enumerate(TAG_ALIASES)}


@dataclass(frozen=True, slots=True)
class IdProblem:
    code: str  # e.g. "session_id_too_long"
    message: str


@dataclass(frozen=True, slots=True)
class IdReading:
    """The id a span carries (if any), the key it came from, and the values passed over."""

    value: str | None = None
    source: str | None = None
    problems: tuple[IdProblem, ...] = ()


NO_ID = IdReading()  # what most spans carry; shared, as readings are immutable


def read_id(attributes: Mapping[str, Any], aliases: IdAliases) -> IdReading:
    """The first usable id under `aliases`; unusable values are skipped with a problem."""
    value, source, problems = find_id(attributes, aliases)
    return NO_ID if value is None and not problems else IdReading(value, source, problems)


def find_id(
    attributes: Mapping[str, Any], aliases: IdAliases, keys: Sequence[str] | None = None
) -> tuple[str | None, str | None, tuple[IdProblem, ...]]:
    """`read_id` as a plain (value, source, problems) tuple, for the per-span mapping.

    `keys`, if given, are `keys_present(attributes, aliases.ranks)`, worked out before."""
    if keys:  # the usual case: a usable id under the first key; else the loop sees it again
        value, _ = checked_id(attributes[keys[0]], keys[0], aliases.kind)
        if value is not None:
            return value, keys[0], ()
    problems: list[IdProblem] = []
    for source, raw in id_candidates(attributes, aliases, keys):
        value, problem = checked_id(raw, source, aliases.kind)
        if value is not None:
            return value, source, tuple(problems)
        if problem is not None:
            problems.append(problem)
    return None, None, tuple(problems)


def id_candidates(
    attributes: Mapping[str, Any], aliases: IdAliases, keys: Sequence[str] | None = None
) -> Iterator[tuple[str, Any]]:
    """(source key, raw value) for every alias present, in precedence order (`find_id`)."""
    for key in keys_present(attributes, aliases.ranks) if keys is None else keys:
        yield key, attributes[key]
    for blob_key in METADATA_BLOBS:
        if attributes.get(blob_key) is None:
            continue  # as_object(None) is {}
        blob = as_object(attributes[blob_key])
        for name in aliases.names:
            if name in blob:
                yield f"{blob_key}[{name}]", blob[name]


def keys_present(attributes: Collection[str], ranks: Mapping[str, int]) -> list[str]:
    """The keys of `ranks` that `attributes` (a mapping or its keys) has, in rank order.

    Same as testing every key of `ranks` in turn, but the set intersection looks up only the
    span's few attributes (or the few keys, whichever side is smaller)."""
    present = ranks.keys() & (attributes.keys() if isinstance(attributes, dict) else attributes)
    return sorted(present, key=ranks.__getitem__) if len(present) > 1 else list(present)


def checked_id(raw: Any, source: str, kind: str) -> tuple[str | None, IdProblem | None]:
    """The id in `raw` once unquoted, or the problem that makes it unusable."""
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        return None, _id_problem(kind, "not_string", f"{source!r} holds a {type_label(raw)}")
    value = unquote(raw)
    if not value.strip():
        return None, _id_problem(kind, "empty", f"{source!r} is empty")
    if len(value) > MAX_ID_LENGTH:
        detail = f"{source!r} is {len(value)} characters long (limit {MAX_ID_LENGTH})"
        return None, _id_problem(kind, "too_long", detail)
    return value, None


def _id_problem(kind: str, problem: str, detail: str) -> IdProblem:
    return IdProblem(f"{kind}_id_{problem}", f"{kind} id in {detail}; not used")


def type_label(value: Any) -> str:
    """A JSON-ish name for a value's type, for messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def unquote(text: str) -> str:
    """`"\\"s1\\""` → `"s1"`: one level of JSON string quoting removed, if it is there."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return clean_text(text)
    ok, parsed = parse_json(text)
    return clean_text(parsed if ok and isinstance(parsed, str) else text)


def clean_text(text: str) -> str:
    """`text` as storable Unicode: lone surrogates (from JSON `\\ud800` escapes) → U+FFFD."""
    if text.isascii():
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) if `text` is a JSON document, else (False, None). Never raises."""
    simple = _simple_json(text)
    if simple is not None:
        return simple
    stripped = text.lstrip()
    if not stripped or stripped[0] not in _JSON_START:
        return False, None
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _simple_json(text: str) -> tuple[bool, Any] | None:
    """What json.loads makes of the most common short documents, without calling it.

    A string with nothing to unescape, a plain non-negative integer, or true/false/null
    (Python 5.x sends every metadata value as JSON). None when `text` is anything else: the
    caller parses it in full."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
        # No quote or escape inside, and printable: no control character JSON would refuse.
        if '"' not in inner and "\\" not in inner and inner.isprintable():
            return True, inner
        return None
    if text.isdigit() and text.isascii() and len(text) <= _MAX_PLAIN_DIGITS:
        return (True, int(text)) if text[0] != "0" or len(text) == 1 else None
    if text in _JSON_CONSTANTS:
        return True, _JSON_CONSTANTS[text]
    return None


def parse_python_literal(text: str) -> tuple[bool, Any]:
    """(True, value) if `text` is a Python repr of a container or True/False/None."""
    if text in _PYTHON_CONSTANTS:
        return True, _PYTHON_CONSTANTS[text]
    if not text or text[0] not in "{[(" or len(text) > MAX_LITERAL_LENGTH:
        return False, None
    try:
        return True, ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def decode_value(value: Any, *, python_repr: bool = True) -> Any:
    """A metadata value as the user set it, whichever SDK encoding it arrived in."""
    if not isinstance(value, str):
        return value
    ok, parsed = parse_json(value)
    if ok:
        return parsed
    if python_repr:
        ok, parsed = parse_python_literal(value)
        if ok:
            return parsed
    return value


def loads_or_same(value: Any) -> Any:
    """A JSON string parsed, anything else (or a string that is not JSON) unchanged."""
    if not isinstance(value, str):
        return value
    ok, parsed = parse_json(value)
    return parsed if ok else value


def as_object(value: Any, *, python_repr: bool = True) -> Mapping[str, Any]:
    """A metadata blob as a mapping; {} when it is absent or not an object."""
    decoded = decode_value(value, python_repr=python_repr)
    return decoded if isinstance(decoded, Mapping) else {}


def text_of(value: Any) -> str | None:
    """A non-blank string, or a finite number as text; None for anything else."""
    if value is None:
        return None
    if isinstance(value, str):
        return clean_text(value) if value.strip() else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        return str(value) if math.isfinite(value) else None
    return str(value) if value.bit_length() <= 64 else None


def first_text(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """`text_of` the first of `keys` that has one; None if none has."""
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            text = text_of(value)
            if text is not None:
                return text
    return None


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def read_public(attributes: Mapping[str, Any]) -> bool | None:
    """`langfuse.trace.public` / `langfuse.public`: True, False, or None when unset."""
    for key in PUBLIC_KEYS:
        value = attributes.get(key)
        if value is None:
            continue
        if is_true(value):
            return True
        if value is False or (isinstance(value, str) and value.strip().lower() == "false"):
            return False
    return None


def read_tags(attributes: Mapping[str, Any], *, python_repr: bool = True) -> tuple[str, ...]:
    """Trace tags from every tag key, merged in order, without duplicates or blanks."""
    found: dict[str, None] = {}
    for value in _tag_values(attributes, python_repr):
        for tag in tag_list(value, python_repr=python_repr):
            if tag.strip():
                found.setdefault(tag, None)
    return tuple(found)


def _tag_values(attributes: Mapping[str, Any], python_repr: bool) -> Iterator[Any]:
    for key in keys_present(attributes, TAG_RANKS):
        yield attributes[key]
    for blob_key in METADATA_BLOBS:
        if attributes.get(blob_key) is None:
            continue  # as_object(None) is {}
        blob = as_object(attributes[blob_key], python_repr=python_repr)
        if TAG_NAME in blob:
            yield blob[TAG_NAME]


def tag_list(value: Any, *, python_repr: bool = True) -> list[str]:
    """Tags from an array, a JSON or repr array string, a comma-separated string, or one value."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_tag_text(item) for item in value]
    if not isinstance(value, str):
        return [_tag_text(value)]
    decoded = decode_value(value, python_repr=python_repr)
    if isinstance(decoded, list | tuple):
        return [_tag_text(item) for item in decoded]
    text = decoded if isinstance(decoded, str) else value
    return [part.strip() for part in clean_text(text).split(",")]


def _tag_text(value: Any) -> str:
    return clean_text(value) if isinstance(value, str) else to_json(value)


def flattened_keys(keys: Iterable[str], prefixes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(key, name) of every `prefix<name>` key, prefix by prefix: the order they merge in."""
    # One pass finds the (usually no) flattened keys; they are then taken prefix by prefix.
    matching = [key for key in keys if key.startswith(prefixes)]
    return tuple(
        (key, key[len(prefix) :])
        for prefix in (prefixes if matching else ())
        for key in matching
        if key.startswith(prefix) and len(key) > len(prefix)
    )


def merged_metadata(
    attributes: Mapping[str, Any],
    blob_key: str,
    flattened: tuple[tuple[str, str], ...],
    *,
    python_repr: bool = True,
) -> dict[str, Any]:
    """A metadata blob's entries merged with the `flattened` (key, name) entries (from
    `flattened_keys`), values decoded. A blob that is not an object is kept whole under the
    key "metadata"."""
    metadata: dict[str, Any] = {}
    if blob_key in attributes:
        blob = decode_value(attributes[blob_key], python_repr=python_repr)
        if isinstance(blob, Mapping):
            metadata.update((str(key), value) for key, value in blob.items())
        elif blob is not None:
            metadata["metadata"] = blob
    for key, name in flattened:
        metadata[name] = decode_value(attributes[key], python_repr=python_repr)
    return metadata


def jsonable(value: Any, depth: int = 0) -> Any:
    """`value` made safe for `json.dumps(allow_nan=False)`: bytes → base64, NaN → "NaN", …"""
    if type(value) is dict:  # the common case first: metadata objects
        return _jsonable_container(value, depth + 1) if depth < MAX_NESTING else "[nested too deep]"
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= MAX_INTEGER_BITS else "[integer too large]"
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if depth >= MAX_NESTING:
        return "[nested too deep]"
    return _jsonable_container(value, depth + 1)


def _jsonable_container(value: Any, depth: int) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        # Most keys and values are plain ASCII text, which needs no conversion and no call.
        return {
            key if type(key) is str and key.isascii() else _key_text(key): item
            if type(item) is str and item.isascii()
            else jsonable(item, depth)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [jsonable(item, depth) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item, depth) for item in value), key=to_json)
    return str(value)


def _key_text(key: Any) -> str:
    return clean_text(key) if isinstance(key, str) else to_json(key)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def to_json(value: Any) -> str:
    """Compact JSON text for any decoded value (made JSON-safe first)."""
    return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))


def as_text(value: Any) -> str | None:
    """How input, output and parameters are stored: strings as sent, anything else as JSON."""
    if value is None:
        return None
    return clean_text(value) if isinstance(value, str) else to_json(value)
