"""Rows of the PostgreSQL store: the SQLite store's encoders and decoders, shared.

Both backends keep the same columns in the same order, JSON as text, so reading a row back
is the same code (`skein.store.sqlite`). One difference on the way in: PostgreSQL compresses
large values itself (TOAST), so observation text is stored as it is, not through
`sqlite_text.pack`.
"""

from __future__ import annotations

from typing import Any

from skein.records import Observation
from skein.store.sqlite import (
    JSON_ENCODER,
    OBSERVATION_COLUMNS,
    OBSERVATION_FOLD_COLUMNS,
    SESSION_COLUMNS,
    TRACE_COLUMNS,
    TRACE_COLUMNS_TO_FOLD,
    _json,
    _observation_from_row,
    _observation_to_fold,
    _session_from_row,
    _session_row,
    _trace_from_row,
    _trace_row,
    _warning_from_row,
)

__all__ = [
    "JSON_ENCODER",
    "OBSERVATION_COLUMNS",
    "OBSERVATION_FOLD_COLUMNS",
    "SESSION_COLUMNS",
    "TRACE_COLUMNS",
    "TRACE_COLUMNS_TO_FOLD",
    "observation_from_row",
    "observation_row",
    "observation_to_fold",
    "session_from_row",
    "session_row",
    "trace_from_row",
    "trace_row",
    "warning_from_row",
]

Row = tuple[Any, ...]

observation_from_row = _observation_from_row
observation_to_fold = _observation_to_fold
session_from_row = _session_from_row
session_row = _session_row
trace_from_row = _trace_from_row
trace_row = _trace_row
warning_from_row = _warning_from_row


def observation_row(project_id: str, o: Observation) -> Row:
    """The values of `OBSERVATION_COLUMNS` (after project_id), text unpacked."""
    t = o.trace
    return (
        project_id, o.trace_id, o.id, o.parent_id, o.is_root, o.name, o.type, o.start_ns,
        o.end_ns, o.level, o.environment, o.release, o.version, o.input_tokens,
        o.output_tokens, o.total_tokens, o.total_cost, t.session_id, t.session_source,
        t.user_id, t.user_source, t.name, _json(t.tags), t.public, _json(t.metadata),
        o.status_message, o.model, o.prompt_name, o.prompt_version, o.completion_start_ns,
        _json(o.usage), _json(o.cost), o.model_parameters, _json(o.metadata), t.input,
        t.output, o.input, o.output, o.cost_source,
    )  # fmt: skip


def ids_json(ids: Any) -> str:
    return JSON_ENCODER.encode(list(ids))
