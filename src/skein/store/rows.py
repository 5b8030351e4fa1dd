"""Rows shared by the SQLite and PostgreSQL stores: columns, decoders, JSON text.

Both backends keep the same columns in the same order, JSON as text, so turning a row into
a record (and a summary into a row) is the same code for both. Large observation text is
the one difference on the way in (SQLite packs it, `sqlite_text`; PostgreSQL has TOAST), so
the observation encoders stay with each backend; decoding unpacks either form.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, replace
from typing import Any

import orjson

from skein.fold import ScoreAggregate, SessionSummary, TraceSummary
from skein.records import IngestWarning, Observation, TraceAttributes
from skein.store.base import Page, StoredWarning, TraceDetail, TraceRows
from skein.store.sqlite_text import PACKED_COLUMNS, Packed, unpack

Row = tuple[Any, ...]

# Observation columns in table order: those the trace fold reads first, large text last.
OBSERVATION_FOLD_COLUMNS = (
    "trace_id", "id", "parent_id", "is_root", "name", "type", "start_ns", "end_ns", "level",
    "environment", "release", "version", "input_tokens", "output_tokens", "total_tokens",
    "total_cost", "trace_session_id", "trace_session_source", "trace_user_id",
    "trace_user_source", "trace_name", "trace_tags", "trace_public", "trace_metadata",
)  # fmt: skip
OBSERVATION_DETAIL_COLUMNS = (
    "status_message", "model", "prompt_name", "prompt_version", "completion_start_ns",
    "usage", "cost", "model_parameters", "metadata", "trace_input", "trace_output",
    "input", "output", "cost_source",
)  # fmt: skip
OBSERVATION_COLUMNS = OBSERVATION_FOLD_COLUMNS + OBSERVATION_DETAIL_COLUMNS
TRACE_COLUMNS = (
    "trace_id", "start_ns", "end_ns", "name", "session_id", "session_source", "user_id",
    "user_source", "tags", "metadata", "public", "environment", "release", "version",
    "root_id", "input_id", "output_id", "observation_count", "error_count", "orphan_count",
    "input_tokens", "output_tokens", "total_tokens", "total_cost",
)  # fmt: skip
SESSION_COLUMNS = (
    "session_id", "trace_count", "first_ns", "last_ns", "observation_count", "error_count",
    "input_tokens", "output_tokens", "total_tokens", "total_cost", "user_ids", "tags",
    "environments", "sources", "scores",
)  # fmt: skip
# The session fold never reads a trace's metadata; skip decoding it.
TRACE_COLUMNS_TO_FOLD = tuple("'{}'" if c == "metadata" else c for c in TRACE_COLUMNS)


def as_is(text: str | None) -> str | None:
    """Large text stored unchanged (PostgreSQL compresses it itself, TOAST)."""
    return text


def observation_row(
    project_id: str,
    o: Observation,
    pack_text: Callable[[str | None], Packed] = as_is,
    metadata_text: Callable[[object], str] | None = None,
) -> Row:
    """The values of `OBSERVATION_COLUMNS`: large text through `pack_text` (as is by default),
    metadata through `metadata_text` (`json_text` by default, or a `MetadataTexts`' `text`)."""
    t = o.trace
    metadata_text = metadata_text or json_text
    return (
        project_id, o.trace_id, o.id, o.parent_id, o.is_root, o.name, o.type, o.start_ns,
        o.end_ns, o.level, o.environment, o.release, o.version, o.input_tokens,
        o.output_tokens, o.total_tokens, o.total_cost, t.session_id, t.session_source,
        t.user_id, t.user_source, t.name, json_text(t.tags), t.public, metadata_text(t.metadata),
        o.status_message, o.model, o.prompt_name, o.prompt_version, o.completion_start_ns,
        json_text(o.usage), json_text(o.cost), o.model_parameters, metadata_text(o.metadata),
        pack_text(t.input), pack_text(t.output), pack_text(o.input), pack_text(o.output),
        o.cost_source,
    )  # fmt: skip


def observation_to_fold(row: Row) -> Observation:
    """An observation as fold_trace needs it: large text left out, trace I/O as a marker."""
    return _observation(row, input=None, output=None, metadata={}, model_parameters=None,
        usage={}, cost={}, detail=(None, None, None, None, None),
        trace_input="" if row[24] else None, trace_output="" if row[25] else None,
    )  # fmt: skip


def observation_from_row(row: Row) -> Observation:
    (
        status_message, model, prompt_name, prompt_version, completion_start_ns, usage, cost,
        model_parameters, metadata, trace_input, trace_output, input_text, output_text,
        cost_source,
    ) = row[len(OBSERVATION_FOLD_COLUMNS):]  # fmt: skip
    return _observation(
        row,
        input=unpack(input_text),
        output=unpack(output_text),
        metadata=from_json(metadata),
        model_parameters=model_parameters,
        usage=from_json(usage),
        cost=from_json(cost),
        detail=(status_message, model, prompt_name, prompt_version, completion_start_ns),
        trace_input=unpack(trace_input),
        trace_output=unpack(trace_output),
        cost_source=cost_source or None,
    )


# Where the packed text columns sit in a row of OBSERVATION_COLUMNS (they are contiguous).
_FIRST_PACKED = OBSERVATION_COLUMNS.index(PACKED_COLUMNS[0])
_AFTER_PACKED = _FIRST_PACKED + len(PACKED_COLUMNS)


def with_text_unpacked(row: Row) -> Row:
    """An observation row with its large text columns (`PACKED_COLUMNS`) as the text written."""
    unpacked = tuple(map(unpack, row[_FIRST_PACKED:_AFTER_PACKED]))
    return row[:_FIRST_PACKED] + unpacked + row[_AFTER_PACKED:]


def detail_from_rows(rows: TraceRows) -> TraceDetail:
    """The TraceDetail of a trace's stored rows: every observation decoded."""
    return TraceDetail(rows.trace, rows.io, tuple(map(observation_from_row, rows.observations)))


def _observation(
    row: Row,
    *,
    input: str | None,
    output: str | None,
    metadata: Mapping[str, Any],
    model_parameters: str | None,
    usage: Mapping[str, float],
    cost: Mapping[str, float],
    detail: tuple[str | None, str | None, str | None, int | None, int | None],
    trace_input: str | None,
    trace_output: str | None,
    cost_source: str | None = None,
) -> Observation:
    """An Observation from the fold columns of a row, plus the given remaining fields."""
    (
        trace_id, id, parent_id, is_root, name, type, start_ns, end_ns, level, environment,
        release, version, input_tokens, output_tokens, total_tokens, total_cost,
        session_id, session_source, user_id, user_source, trace_name, tags, public,
        trace_metadata,
    ) = row[: len(OBSERVATION_FOLD_COLUMNS)]  # fmt: skip
    status_message, model, prompt_name, prompt_version, completion_start_ns = detail
    trace = TraceAttributes(
        session_id=session_id, session_source=session_source, user_id=user_id,
        user_source=user_source, name=trace_name, tags=tuple(from_json(tags)),
        metadata=from_json(trace_metadata), public=None if public is None else bool(public),
        input=trace_input, output=trace_output,
    )  # fmt: skip
    return Observation(
        id=id, trace_id=trace_id, parent_id=parent_id, is_root=bool(is_root), name=name,
        type=type, start_ns=start_ns, end_ns=end_ns, level=level,
        status_message=status_message, input=input, output=output, metadata=metadata,
        model=model, model_parameters=model_parameters, usage=usage, cost=cost,
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total_tokens,
        total_cost=total_cost, completion_start_ns=completion_start_ns,
        environment=environment, release=release, version=version, prompt_name=prompt_name,
        prompt_version=prompt_version, trace=trace, cost_source=cost_source,
    )  # fmt: skip


def trace_row(project_id: str, t: TraceSummary) -> Row:
    return (
        project_id, t.trace_id, t.start_ns, t.end_ns, t.name, t.session_id, t.session_source,
        t.user_id, t.user_source, json_text(t.tags), json_text(t.metadata), t.public, t.environment,
        t.release, t.version, t.root_id, t.input_id, t.output_id, t.observation_count,
        t.error_count, t.orphan_count, t.input_tokens, t.output_tokens, t.total_tokens,
        t.total_cost,
    )  # fmt: skip


def trace_from_row(row: Row) -> TraceSummary:
    values = list(row)
    values[8] = tuple(from_json(values[8]))  # tags
    values[9] = from_json(values[9])  # metadata
    values[10] = bool(values[10])  # public
    return TraceSummary(*values)


def session_row(project_id: str, s: SessionSummary) -> Row:
    return (
        project_id, s.session_id, s.trace_count, s.first_ns, s.last_ns, s.observation_count,
        s.error_count, s.input_tokens, s.output_tokens, s.total_tokens, s.total_cost,
        json_text(s.user_ids), json_text(s.tags), json_text(s.environments), json_text(s.sources),
        json_text({name: asdict(aggregate) for name, aggregate in s.scores.items()}),
    )  # fmt: skip


def session_from_row(row: Row) -> SessionSummary:
    counts = row[:10]
    lists = [tuple(from_json(text)) for text in row[10:14]]
    scores = {name: ScoreAggregate(**fields) for name, fields in from_json(row[14]).items()}
    return replace(SessionSummary(*counts, *lists), scores=scores)


def decoded(page: Page[Row], decode: Callable[[Row], Any]) -> Page[Any]:
    return Page(tuple(decode(row) for row in page.items), page.next_cursor, page.total)


def warning_from_row(row: Row) -> StoredWarning:
    project_id, created_ns, trace_id, span_id, code, message = row
    return StoredWarning(project_id, created_ns, IngestWarning(trace_id, span_id, code, message))


# -- JSON ----------------------------------------------------------------------------------


def _json_default(value: object) -> object:
    """Values JSON has no type for: bytes as base64 text, anything else as its str()."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    return str(value)


JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)


# The text of the common empty values, found by type without the encoder's overhead.
EMPTY_JSON: dict[type, str] = {dict: "{}", tuple: "[]", list: "[]"}

# orjson writes what JSON_ENCODER writes, ten times faster, for the values `_written_alike`
# lets through: dicts, lists and tuples of str, int, bool, None and of floats Python writes
# without an exponent (orjson writes NaN and Infinity as null, and 1e-05 as 0.00001). Of
# those it refuses, JSON_ENCODER writes what it can: an int past 64 bits, a lone surrogate,
# a key other than a str.
_ALIKE_SCALARS = frozenset((str, int, bool, type(None)))


def json_text(value: object) -> str:
    """`value` as JSON_ENCODER writes it, by orjson where that writes the same."""
    if not value:
        return EMPTY_JSON.get(type(value)) or ("{}" if isinstance(value, Mapping) else "[]")
    if _written_alike(value):
        data = _orjson_bytes(value)
        if data is not None:
            return data.decode()
    return JSON_ENCODER.encode(value)


def _written_alike(value: object) -> bool:
    if type(value) is dict:
        return _scalars_alike(value.values())
    if type(value) is list or type(value) is tuple:
        return _scalars_alike(value)
    return False


def _scalars_alike(items: Iterable[object]) -> bool:
    """Whether orjson writes every item as JSON_ENCODER does, if at all (no nesting)."""
    return _ALIKE_SCALARS.issuperset(map(type, items)) or all(map(_scalar_alike, items))


def _scalar_alike(item: object) -> bool:
    """One of `_ALIKE_SCALARS`, or a float Python writes with no exponent (not NaN nor
    ±Infinity either): as orjson writes it."""
    if type(item) is float:
        return item == 0.0 or 1e-4 <= abs(item) < 1e16
    return type(item) in _ALIKE_SCALARS


def _orjson_bytes(value: object) -> bytes | None:
    """orjson's text of `value` (UTF-8), or None if it refuses it."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None


class MetadataTexts:
    """`json_text` of many metadata dicts, by orjson also where they nest dicts, as long as
    each dict nested in them (such as the resource and scope metadata that all spans of a
    request share) is the same object in many and found written alike once.

    Nested dicts are known by identity for the life of this object and must not change
    meanwhile: make one per write.
    """

    def __init__(self) -> None:
        self._alike: dict[int, tuple[object, bool]] = {}

    def text(self, value: object) -> str:
        if type(value) is dict and value and self._items_alike(value):
            data = _orjson_bytes(value)
            if data is not None:
                return data.decode()
        return json_text(value)

    def _items_alike(self, value: dict[Any, Any]) -> bool:
        """Whether orjson writes every item as JSON_ENCODER does, if at all: a scalar, a list of
        scalars, or a dict found so."""
        for item in value.values():
            if type(item) is dict:
                if not self._dict_alike(item):
                    return False
            elif type(item) not in _ALIKE_SCALARS and not _scalar_alike(item):
                if not _written_alike(item):
                    return False
        return True

    def _dict_alike(self, item: dict[Any, Any]) -> bool:
        """Whether orjson writes the dict as json_text does, remembered with the dict itself
        (so no other object takes its id)."""
        found = self._alike.get(id(item))
        if found is None:
            data = _orjson_bytes(item)
            found = (item, data is not None and data.decode() == json_text(item))
            self._alike[id(item)] = found
        return found[1]


def from_json(text: str) -> Any:
    if text == "{}":
        return {}
    return () if text == "[]" else json.loads(text)


def json_ids(ids: Iterable[str]) -> str:
    return json_text(list(ids))
