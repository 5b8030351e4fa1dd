"""Scores: reading a Langfuse score body, the query over stored scores, and their JSON shapes.

A score targets exactly one of: a trace (`traceId`), an observation (`observationId` with
its `traceId`) or a session (`sessionId`). Its `dataType` is NUMERIC, CATEGORICAL or
BOOLEAN, inferred from the value when absent (a number is NUMERIC, a string CATEGORICAL, a
JSON boolean BOOLEAN); BOOLEAN values are 0, 1, true or false.

    parse_score(body, default_id=..., received_ns=...)   # → Score, or ScoreError

Their JSON shapes (Langfuse's v1/v2 Score and v3 ScoreV3) are in `skein.api.scores`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skein.ingest.conventions import MAX_ID_LENGTH, clean_text, jsonable, type_label
from skein.ingest.mapping import completion_start_ns, normalised_environment
from skein.records import Score

DATA_TYPES = ("NUMERIC", "CATEGORICAL", "BOOLEAN")
SOURCES = ("API", "ANNOTATION", "EVAL")
MAX_SCORE_ID_LENGTH = 800
MAX_NAME_LENGTH = 1000
MAX_STRING_VALUE_LENGTH = 2000
BOOLEAN_TEXT = {"true": 1.0, "false": 0.0}


class ScoreError(ValueError):
    """A score body that cannot be stored; the message names the field."""


@dataclass(frozen=True, slots=True)
class ScoreQuery:
    """Which scores to list (every given filter must match; a tuple matches any of its
    values), newest first. Times are ns; `from_ns` is inclusive, `to_ns` exclusive."""

    ids: tuple[str, ...] = ()
    trace_ids: tuple[str, ...] = ()
    observation_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    data_types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    config_ids: tuple[str, ...] = ()
    from_ns: int | None = None
    to_ns: int | None = None
    limit: int = 50
    offset: int = 0


# ── Reading a body ────────────────────────────────────────────────────────────────────


def parse_score(
    body: Any,
    *,
    default_id: str,
    received_ns: int,
    default_timestamp_ns: int | None = None,
) -> Score:
    """The score a Langfuse score body describes; ScoreError when it cannot be stored."""
    if not isinstance(body, Mapping):
        raise ScoreError(f"a score must be a JSON object, got {type_label(body)}")
    data_type, value, string_value = score_value(body)
    trace_id, observation_id, session_id = score_target(body)
    timestamp_ns = _timestamp(body.get("timestamp"))
    return Score(
        id=_id(body.get("id"), "id", MAX_SCORE_ID_LENGTH) or default_id,
        name=_name(body.get("name")),
        data_type=data_type,
        value=value,
        string_value=string_value,
        timestamp_ns=timestamp_ns or default_timestamp_ns or received_ns,
        trace_id=trace_id,
        observation_id=observation_id,
        session_id=session_id,
        source=_source(body.get("source")),
        comment=_optional_text(body.get("comment"), "comment"),
        config_id=_optional_text(body.get("configId"), "configId"),
        environment=_environment(body.get("environment")),
        metadata=_metadata(body.get("metadata")),
        created_ns=received_ns,
        updated_ns=received_ns,
    )


def score_value(body: Mapping[str, Any]) -> tuple[str, float | None, str | None]:
    """(data type, numeric value, string value) from `value` and `dataType`."""
    value = body.get("value")
    data_type = _data_type(body.get("dataType"), value)
    if data_type == "BOOLEAN":
        number = _boolean(value)
        return data_type, number, "True" if number else "False"
    if data_type == "NUMERIC":
        return data_type, _number(value), None
    if isinstance(value, str):
        return data_type, None, _string_value(value)
    return data_type, _number(value), _number_text(_number(value))


def _data_type(given: Any, value: Any) -> str:
    if value is None:
        raise ScoreError("value is required (a number, a string or a boolean)")
    if given is None:
        if isinstance(value, bool):
            return "BOOLEAN"
        return "CATEGORICAL" if isinstance(value, str) else "NUMERIC"
    if not isinstance(given, str) or given.upper() not in DATA_TYPES:
        raise ScoreError(f"dataType must be one of {', '.join(DATA_TYPES)}, got {given!r}")
    return given.upper()


def _boolean(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str) and value.strip().lower() in BOOLEAN_TEXT:
        return BOOLEAN_TEXT[value.strip().lower()]
    if isinstance(value, int | float) and value in (0, 1):
        return float(value)
    raise ScoreError(f"a BOOLEAN score's value must be 0, 1, true or false, got {value!r}")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScoreError(f"a NUMERIC score's value must be a finite number, got {value!r}")
    return float(value)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _string_value(value: str) -> str:
    if not value.strip() or len(value) > MAX_STRING_VALUE_LENGTH:
        raise ScoreError(
            f"a CATEGORICAL score's value must be 1..{MAX_STRING_VALUE_LENGTH} characters"
        )
    return clean_text(value)


def score_target(body: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(trace id, observation id, session id): exactly one of a trace, an observation with
    its trace, or a session."""
    trace_id = _id(body.get("traceId"), "traceId", MAX_SCORE_ID_LENGTH)
    observation_id = _id(body.get("observationId"), "observationId", MAX_SCORE_ID_LENGTH)
    session_id = _id(body.get("sessionId"), "sessionId", MAX_ID_LENGTH)
    if body.get("datasetRunId") is not None:
        raise ScoreError("scores on dataset runs (datasetRunId) are not supported")
    if observation_id is not None and trace_id is None:
        raise ScoreError("observationId needs the traceId of its trace")
    if (trace_id is None) == (session_id is None):
        raise ScoreError("give exactly one target: traceId (with observationId) or sessionId")
    return trace_id, observation_id, session_id


def _id(value: Any, key: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ScoreError(f"{key} must be a non-empty string of at most {limit} characters")
    return clean_text(value)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
        raise ScoreError(f"name is required: a non-empty string of at most {MAX_NAME_LENGTH}")
    return clean_text(value)


def _source(value: Any) -> str:
    if value is None:
        return "API"
    if not isinstance(value, str) or value.upper() not in SOURCES:
        raise ScoreError(f"source must be one of {', '.join(SOURCES)}")
    return value.upper()


def _optional_text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ScoreError(f"{key} must be a string, got {type_label(value)}")
    return clean_text(value)


def _environment(value: Any) -> str:
    if value is None:
        return "default"
    if not isinstance(value, str):
        raise ScoreError(f"environment must be a string, got {type_label(value)}")
    return normalised_environment(value)


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    converted = jsonable(value)
    return converted if isinstance(converted, dict) else {"metadata": converted}


def _timestamp(value: Any) -> int | None:
    if value is None:
        return None
    moment = completion_start_ns(value) if isinstance(value, str) else None
    if moment is None:
        raise ScoreError(f"timestamp must be an ISO 8601 date-time, got {value!r}"[:200])
    return moment
