"""Langfuse batch ingestion events (`POST /api/public/ingestion`) read into patches and scores.

    {"batch": [{"id", "type", "timestamp", "body"}, ...], "metadata": {...}}

`read_batch` checks the envelope (a bad one raises BadRequest) and then reads each event on
its own: an event that fails becomes an `EventFailure` (answered in the 207's `errors`) and
never takes its neighbours with it. Creates and updates of observations and traces become
`EventPatch`es holding the values the event set, under Observation field names (the store
merges them, `skein.patches`); `score-create` becomes a Score; `sdk-log` is logged.

Values are checked for their JSON type with a message naming the field; text is stored as
sent and any other JSON value as compact JSON, as the OTLP mapping does. A trace's
`sessionId` and `userId` follow the OTLP rules (design.md, rule 5): an unusable one is left
out with an ingestion warning, and the trace is kept.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from skein.errors import BadRequest
from skein.ingest.conventions import (
    as_text,
    checked_id,
    clean_text,
    jsonable,
    type_label,
)
from skein.ingest.mapping import LEVEL_ALIASES, completion_start_ns, normalised_environment
from skein.ingest.usage import OPENAI_USAGE_KEYS, normalised_usage, number
from skein.records import OBSERVATION_TYPES, EventPatch, IngestWarning, Score
from skein.scores import ScoreError, parse_score

logger = logging.getLogger(__name__)

MAX_EVENT_ID_LENGTH = 800
OBSERVATION_KIND = "observation"
TRACE_KIND = "trace"
CREATED = 201
# Event type → (is an update, the observation type it implies: None for observation-*).
OBSERVATION_EVENTS: Mapping[str, tuple[bool, str | None]] = {
    "span-create": (False, "SPAN"),
    "span-update": (True, "SPAN"),
    "generation-create": (False, "GENERATION"),
    "generation-update": (True, "GENERATION"),
    "event-create": (False, "EVENT"),
    "observation-create": (False, None),
    "observation-update": (True, None),
    **{f"{kind.lower()}-create": (False, kind) for kind in OBSERVATION_TYPES},
}
OTHER_EVENTS = ("trace-create", "score-create", "sdk-log")
# Legacy `usage` keys → usage detail keys, and its cost keys → cost detail keys.
LEGACY_USAGE = {
    "input": "input",
    "output": "output",
    "total": "total",
    "promptTokens": "input",
    "completionTokens": "output",
    "totalTokens": "total",
}
LEGACY_COST = {"inputCost": "input", "outputCost": "output", "totalCost": "total"}
TRACE_SESSION_SOURCE = "trace-create.sessionId"
TRACE_USER_SOURCE = "trace-create.userId"
DERIVED_ID_NAMESPACE = uuid.UUID("5b1e1a52-6b2f-4a53-9a39-0c5e8c1d7f21")


class EventError(ValueError):
    """One event that cannot be used; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class EventFailure:
    """An event answered in the 207's `errors`."""

    event_id: str | None
    message: str
    status: int = 400

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "status": self.status,
            "message": "Invalid request data",
            "error": self.message,
        }


@dataclass(frozen=True, slots=True)
class IngestionBatch:
    """What a batch's usable events contribute, and which events were used or refused."""

    patches: tuple[EventPatch, ...]
    scores: tuple[Score, ...]
    warnings: tuple[IngestWarning, ...]
    accepted: tuple[str, ...]
    failures: tuple[EventFailure, ...]

    def answer(self) -> dict[str, Any]:
        """The 207 body: `{"successes": [{id, status}], "errors": [{id, status, message,
        error}]}`."""
        return {
            "successes": [{"id": event_id, "status": CREATED} for event_id in self.accepted],
            "errors": [failure.as_json() for failure in self.failures],
        }


@dataclass(frozen=True, slots=True)
class _Read:
    """One event's contribution."""

    patch: EventPatch | None = None
    score: Score | None = None
    warnings: tuple[IngestWarning, ...] = ()


def read_batch(document: Any, *, received_ns: int) -> IngestionBatch:
    """Every event of a parsed request body; BadRequest if it is not `{"batch": [...]}`."""
    if not isinstance(document, Mapping) or not isinstance(document.get("batch"), list):
        raise BadRequest('the body must be a JSON object with a "batch" array of events')
    patches: list[EventPatch] = []
    scores: list[Score] = []
    warnings: list[IngestWarning] = []
    accepted: list[str] = []
    failures: list[EventFailure] = []
    for event in document["batch"]:
        event_id = _event_id_or_none(event)
        try:
            read = read_event(event, received_ns=received_ns)
        except EventError as error:
            failures.append(EventFailure(event_id, str(error)))
            continue
        except Exception as error:  # a reader bug must not lose the batch's other events
            logger.exception("could not read ingestion event %s", event_id)
            failures.append(EventFailure(event_id, f"internal error: {error!r}", status=500))
            continue
        patches.extend([read.patch] if read.patch else [])
        scores.extend([read.score] if read.score else [])
        warnings.extend(read.warnings)
        accepted.append(str(event_id))
    return IngestionBatch(
        tuple(patches), tuple(scores), tuple(warnings), tuple(accepted), tuple(failures)
    )


def read_event(event: Any, *, received_ns: int) -> _Read:
    """One event's patch, score or nothing (sdk-log); EventError when it cannot be used."""
    if not isinstance(event, Mapping):
        raise EventError(f"an event must be a JSON object, got {type_label(event)}")
    event_id = _event_id(event)
    kind = event.get("type")
    if not isinstance(kind, str) or (kind not in OBSERVATION_EVENTS and kind not in OTHER_EVENTS):
        raise EventError(f"unknown event type {kind!r}")
    timestamp_ns = _time(event, "timestamp", "")
    if timestamp_ns is None:
        raise EventError("timestamp is required (an ISO 8601 date-time)")
    body = event.get("body")
    if not isinstance(body, Mapping):
        raise EventError(f"body must be a JSON object, got {type_label(body)}")
    if kind == "sdk-log":
        logger.debug("sdk-log event %s: %s", event_id, body.get("log"))
        return _Read()
    if kind == "score-create":
        return _Read(score=_score(body, event_id, timestamp_ns, received_ns))
    if kind == "trace-create":
        patch, warnings = trace_patch(body, event_id, timestamp_ns)
        return _Read(patch=patch, warnings=warnings)
    return _Read(patch=observation_patch(kind, body, event_id, timestamp_ns))


def _event_id_or_none(event: Any) -> str | None:
    if isinstance(event, Mapping) and isinstance(event.get("id"), str):
        return clean_text(event["id"])
    return None


def _event_id(event: Mapping[str, Any]) -> str:
    value = event.get("id")
    if not isinstance(value, str) or not value:
        raise EventError("id is required (a non-empty string)")
    if len(value) > MAX_EVENT_ID_LENGTH or "\r" in value:
        raise EventError(f"id must be at most {MAX_EVENT_ID_LENGTH} characters, without CR")
    return clean_text(value)


def derived_id(event_id: str) -> str:
    """The id given to a body sent without one: the same for a re-sent event."""
    return str(uuid.uuid5(DERIVED_ID_NAMESPACE, event_id))


# ── Scores ────────────────────────────────────────────────────────────────────────────


def _score(body: Mapping[str, Any], event_id: str, timestamp_ns: int, received_ns: int) -> Score:
    try:
        return parse_score(
            body,
            default_id=derived_id(event_id),
            default_timestamp_ns=timestamp_ns,
            received_ns=received_ns,
        )
    except ScoreError as error:
        raise EventError(str(error)) from None


# ── Traces ────────────────────────────────────────────────────────────────────────────


def trace_patch(
    body: Mapping[str, Any], event_id: str, timestamp_ns: int
) -> tuple[EventPatch, tuple[IngestWarning, ...]]:
    """A trace-create's values, and warnings about an unusable session or user id."""
    trace_id = _id(body, "id") or derived_id(event_id)
    values: dict[str, Any] = {
        "timestamp_ns": _time(body, "timestamp"),
        "name": _text(body, "name"),
        "tags": _tags(body),
        "metadata": _metadata(body),
        "public": _bool(body, "public"),
        "input": as_text(body.get("input")),
        "output": as_text(body.get("output")),
        "release": _text(body, "release"),
        "version": _text(body, "version"),
        "environment": _environment(body),
    }
    warnings = []
    for key, field_name, source in (
        ("sessionId", "session_id", TRACE_SESSION_SOURCE),
        ("userId", "user_id", TRACE_USER_SOURCE),
    ):
        value, warning = _trace_id_value(body, key, trace_id)
        if value is not None:
            values.update({field_name: value, field_name.replace("_id", "_source"): source})
        warnings.extend([warning] if warning else [])
    patch = EventPatch(TRACE_KIND, trace_id, event_id, timestamp_ns, False, _present(values))
    return patch, tuple(warnings)


def _trace_id_value(
    body: Mapping[str, Any], key: str, trace_id: str
) -> tuple[str | None, IngestWarning | None]:
    """A session or user id checked as OTLP ids are; unusable ones give a warning."""
    if body.get(key) is None:
        return None, None
    kind = "session" if key == "sessionId" else "user"
    value, problem = checked_id(body[key], f"body.{key}", kind)
    if problem is None:
        return value, None
    return None, IngestWarning(trace_id, None, problem.code, problem.message)


def _tags(body: Mapping[str, Any]) -> list[str] | None:
    tags = body.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise EventError("body.tags must be an array of strings")
    return sorted({clean_text(tag) for tag in tags if tag.strip()})


# ── Observations ──────────────────────────────────────────────────────────────────────


def observation_patch(
    kind: str, body: Mapping[str, Any], event_id: str, timestamp_ns: int
) -> EventPatch:
    """A span/generation/event/observation create or update event's values."""
    is_update, implied_type = OBSERVATION_EVENTS[kind]
    observation_id = _id(body, "id")
    if observation_id is None:
        if is_update:
            raise EventError("body.id is required to update an observation")
        observation_id = derived_id(event_id)
    usage, cost = _usage_and_cost(body)
    values: dict[str, Any] = {
        "type": implied_type or _observation_type(body),
        "trace_id": _id(body, "traceId"),
        "parent_id": _id(body, "parentObservationId"),
        "name": _text(body, "name"),
        "start_ns": _time(body, "startTime"),
        "end_ns": _time(body, "endTime"),
        "completion_start_ns": _time(body, "completionStartTime"),
        "level": _level(body),
        "status_message": _text(body, "statusMessage"),
        "version": _text(body, "version"),
        "environment": _environment(body),
        "input": as_text(body.get("input")),
        "output": as_text(body.get("output")),
        "metadata": _metadata(body),
        "model": _text(body, "model"),
        "model_parameters": _model_parameters(body),
        "usage": usage,
        "cost": cost,
        **_prompt(body),
    }
    return EventPatch(
        OBSERVATION_KIND, observation_id, event_id, timestamp_ns, is_update, _present(values)
    )


def _observation_type(body: Mapping[str, Any]) -> str | None:
    value = body.get("type")
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in OBSERVATION_TYPES:
        raise EventError(f"body.type must be one of {', '.join(OBSERVATION_TYPES)}")
    return value.upper()


def _level(body: Mapping[str, Any]) -> str | None:
    value = body.get("level")
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().upper() not in LEVEL_ALIASES:
        raise EventError("body.level must be one of DEBUG, DEFAULT, WARNING, ERROR")
    return LEVEL_ALIASES[value.strip().upper()]


def _model_parameters(body: Mapping[str, Any]) -> str | None:
    value = body.get("modelParameters")
    if value is not None and not isinstance(value, Mapping):
        raise EventError(f"body.modelParameters must be an object, got {type_label(value)}")
    return as_text(value) if value else None


def _prompt(body: Mapping[str, Any]) -> dict[str, Any]:
    name = _text(body, "promptName")
    version = body.get("promptVersion")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise EventError(f"body.promptVersion must be an integer, got {type_label(version)}")
    return {"prompt_name": name, "prompt_version": version}


def _usage_and_cost(body: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Usage details (`usageDetails`, else the legacy `usage`) and cost details
    (`costDetails`, else the legacy usage's `inputCost`/`outputCost`/`totalCost`)."""
    legacy_usage, legacy_cost = _legacy_usage(body.get("usage"))
    details = _details(body.get("usageDetails"), "usageDetails")
    if details and not OPENAI_USAGE_KEYS.isdisjoint(details):
        details = normalised_usage(details.items())
    cost = _details(body.get("costDetails"), "costDetails")
    return details or legacy_usage, cost or legacy_cost


def _legacy_usage(value: Any) -> tuple[dict[str, float], dict[str, float]]:
    if value is None:
        return {}, {}
    if not isinstance(value, Mapping):
        raise EventError(f"body.usage must be an object, got {type_label(value)}")
    usage: dict[str, float] = {}
    cost: dict[str, float] = {}
    for key, amount in _amounts(value, "usage", skip=("unit",)):
        if key in LEGACY_COST:
            cost[LEGACY_COST[key]] = amount
        elif key in LEGACY_USAGE:
            usage.setdefault(LEGACY_USAGE[key], amount)
    return usage, cost


def _details(value: Any, label: str) -> dict[str, float]:
    """A map of non-negative amounts; OpenAI's nested `*_details` objects are flattened."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventError(f"body.{label} must be an object, got {type_label(value)}")
    return dict(_amounts(value, label))


def _amounts(
    value: Mapping[str, Any], label: str, skip: tuple[str, ...] = ()
) -> Iterator[tuple[str, float]]:
    for key, item in value.items():
        if item is None or key in skip:
            continue
        if isinstance(item, Mapping):
            nested = _amounts(item, f"{label}.{key}")
            yield from ((f"{key}.{inner}", amount) for inner, amount in nested)
            continue
        amount = number(item)
        if amount is None or amount < 0:
            raise EventError(f"body.{label}.{key} must be a non-negative number")
        yield clean_text(str(key)), amount


# ── Shared field readers ──────────────────────────────────────────────────────────────


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"body.{key} must be a string, got {type_label(value)}")
    return clean_text(value)


def _id(body: Mapping[str, Any], key: str) -> str | None:
    """An id: absent, or a non-empty string."""
    value = _text(body, key)
    if value is not None and not value.strip():
        raise EventError(f"body.{key} must not be empty")
    return value


def _bool(body: Mapping[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise EventError(f"body.{key} must be true or false, got {type_label(value)}")
    return value


def _time(body: Mapping[str, Any], key: str, prefix: str = "body.") -> int | None:
    """An ISO 8601 date-time in ns since the epoch; None when absent."""
    value = body.get(key)
    if value is None:
        return None
    moment = completion_start_ns(value) if isinstance(value, str) else None
    if moment is None:
        raise EventError(
            f"{prefix}{key} must be an ISO 8601 date-time between 1970-01-02 and 2262,"
            f" got {value!r}"[:300]
        )
    return moment


def _environment(body: Mapping[str, Any]) -> str | None:
    value = _text(body, "environment")
    return normalised_environment(value) if value else None


def _metadata(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """An object as sent; any other value is kept whole under "metadata"."""
    value = body.get("metadata")
    if value is None:
        return None
    converted = jsonable(value)
    return converted if isinstance(converted, dict) else {"metadata": converted}


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values the event set (a patch leaves the others alone)."""
    return {key: value for key, value in values.items() if value is not None and value != {}}
