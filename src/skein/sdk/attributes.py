"""Span attribute keys and how values are encoded on them.

Skein's SDK writes the Langfuse attribute conventions (`langfuse.observation.*`,
`langfuse.trace.*`) plus `session.id` / `user.id`, with values as the Langfuse Python 3.x SDK
sent them: strings raw, numbers and booleans native, anything else JSON. Every Langfuse-compatible
server reads them, and so does Skein's.

Nothing here raises on bad user values: ids that cannot be used are refused with one warning
per distinct problem (`checked_id`), values that cannot be JSON-encoded fall back to `repr`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any, TypeAlias

from skein.sdk.registry import warn_once

logger = logging.getLogger(__name__)

# An OpenTelemetry attribute value as this SDK writes it.
AttributeValue: TypeAlias = str | bool | int | float | tuple[str, ...]
AttributeMap: TypeAlias = dict[str, AttributeValue]

SESSION_ID = "session.id"
USER_ID = "user.id"
TRACE_NAME = "langfuse.trace.name"
TRACE_TAGS = "langfuse.trace.tags"
TRACE_PUBLIC = "langfuse.trace.public"
TRACE_INPUT = "langfuse.trace.input"
TRACE_OUTPUT = "langfuse.trace.output"
TRACE_METADATA = "langfuse.trace.metadata"
VERSION = "langfuse.version"
RELEASE = "langfuse.release"
ENVIRONMENT = "langfuse.environment"
AS_ROOT = "langfuse.internal.as_root"

OBSERVATION_TYPE = "langfuse.observation.type"
OBSERVATION_INPUT = "langfuse.observation.input"
OBSERVATION_OUTPUT = "langfuse.observation.output"
OBSERVATION_METADATA = "langfuse.observation.metadata"
OBSERVATION_LEVEL = "langfuse.observation.level"
OBSERVATION_STATUS_MESSAGE = "langfuse.observation.status_message"
MODEL_NAME = "langfuse.observation.model.name"
MODEL_PARAMETERS = "langfuse.observation.model.parameters"
USAGE_DETAILS = "langfuse.observation.usage_details"
COST_DETAILS = "langfuse.observation.cost_details"
COMPLETION_START_TIME = "langfuse.observation.completion_start_time"
PROMPT_NAME = "langfuse.observation.prompt.name"
PROMPT_VERSION = "langfuse.observation.prompt.version"

OBSERVATION_TYPES = (
    "span",
    "generation",
    "event",
    "agent",
    "tool",
    "chain",
    "retriever",
    "evaluator",
    "embedding",
    "guardrail",
)
GENERATION_TYPES = ("generation", "embedding")
LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
MAX_ID_LENGTH = 200

# Trace-level keys the span processor learns from any span and spreads over the whole trace.
SPREAD_KEYS = (SESSION_ID, USER_ID, TRACE_NAME, TRACE_PUBLIC)
SPREAD_PREFIX = TRACE_METADATA + "."
# Trace-level keys that go only on the spans where they were set and on the local root.
ROOT_KEYS = (TRACE_INPUT, TRACE_OUTPUT)


def is_spread_key(key: str) -> bool:
    """Whether KEY is a trace-level attribute that belongs on every span of its trace."""
    return key in SPREAD_KEYS or key.startswith(SPREAD_PREFIX)


def serialize(value: Any) -> str:
    """A string as-is, anything else as JSON (never raises: falls back to `repr`)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return _safe_repr(value)


def to_json(value: Any) -> str:
    """JSON even for a string (usage/cost maps, model parameters, quoted timestamps)."""
    try:
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return json.dumps(_safe_repr(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return _object_default(value)


def _object_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump()
    return _safe_repr(value)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not break tracing
        return f"<{type(value).__name__}>"


def metadata_value(value: Any) -> AttributeValue:
    """One metadata entry: str, bool, int and float native, anything else JSON."""
    if isinstance(value, str | bool | int | float):
        return value
    return serialize(value)


def metadata_attributes(prefix: str, metadata: Any) -> AttributeMap:
    """A dict becomes one `PREFIX.<key>` attribute per entry; anything else one JSON blob."""
    if isinstance(metadata, Mapping):
        return {
            f"{prefix}.{key}": metadata_value(value)
            for key, value in metadata.items()
            if value is not None
        }
    return {prefix: serialize(metadata)}


def iso_timestamp(moment: datetime.datetime) -> str:
    """An aware or naive (taken as UTC) datetime as ISO 8601 with a `Z`."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def checked_id(kind: str, value: object) -> str | None:
    """VALUE if it can be a session or user id; else None, with one warning per problem."""
    if not isinstance(value, str):
        problem = f"not a string ({type(value).__name__})"
    elif not value.strip():
        problem = "empty"
    elif len(value) > MAX_ID_LENGTH:
        problem = f"longer than {MAX_ID_LENGTH} characters"
    else:
        return value
    warn_once(logger, f"{kind} id is {problem}: Skein ignores it (the span is still traced)")
    return None


def tag_tuple(tags: Iterable[Any]) -> tuple[str, ...]:
    """Tags as a sorted tuple of distinct strings (a tag set, in a stable order)."""
    if isinstance(tags, str):
        tags = (tags,)
    return tuple(sorted({str(tag) for tag in tags}))


def merged_tags(first: Iterable[Any], second: Iterable[Any]) -> tuple[str, ...]:
    return tag_tuple((*first, *second))


def checked_level(level: object) -> str | None:
    if isinstance(level, str) and level.upper() in LEVELS:
        return level.upper()
    warn_once(logger, f"level must be one of {', '.join(LEVELS)}, got {level!r}: ignored")
    return None


def checked_type(as_type: object) -> str:
    if isinstance(as_type, str) and as_type.lower() in OBSERVATION_TYPES:
        return as_type.lower()
    warn_once(logger, f"unknown observation type {as_type!r}: recorded as 'span'")
    return "span"
