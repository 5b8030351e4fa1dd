"""Importing what Langfuse's UI and API export, with sessions intact.

Accepted documents (any of them, or a JSON list of them):

    GET /api/public/traces/{id}     a trace with `observations` (objects) and `scores`
    GET /api/public/traces          {"data": [traces...], "meta": ...} (observation ids are
                                    skipped: the list shape only names them)
    GET /api/public/sessions/{id}   {"id", "createdAt", "traces": [traces...]}

Each trace becomes the Langfuse ingestion events that would have created it (trace-create,
<type>-create per observation, score-create per score), read by Skein's own batch-ingestion
reader (`skein.ingest.langfuse`). Event ids are derived from the object ids, so importing
the same export twice changes nothing. A session's traces keep (or get) its id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from skein.ingest.langfuse import read_batch
from skein.records import MappedBatch, Observation
from skein.store.base import Store

TRACE_FIELDS = (
    "id", "timestamp", "name", "input", "output", "sessionId", "release", "version", "userId",
    "metadata", "tags", "public", "environment",
)  # fmt: skip
OBSERVATION_FIELDS = (
    "id", "traceId", "type", "name", "startTime", "endTime", "completionStartTime", "model",
    "modelParameters", "input", "output", "metadata", "level", "statusMessage",
    "parentObservationId", "version", "environment", "usageDetails", "costDetails",
    "promptName", "promptVersion",
)  # fmt: skip
SCORE_FIELDS = (
    "id", "traceId", "observationId", "sessionId", "name", "value", "stringValue", "dataType",
    "comment", "source", "configId", "environment", "metadata", "timestamp",
)  # fmt: skip


class LangfuseImportError(ValueError):
    """The document is none of the shapes Langfuse exports."""


@dataclass(frozen=True, slots=True)
class LangfuseImport:
    traces: int
    observations: int
    scores: int
    failed: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "traces": self.traces,
            "observations": self.observations,
            "scores": self.scores,
            "failed": list(self.failed[:20]),
        }


def import_langfuse(
    store: Store,
    project_id: str,
    document: Any,
    pricing: Callable[[Observation], Observation] | None = None,
) -> LangfuseImport:
    """Import a Langfuse export into a project."""
    events = list(langfuse_events(document))
    batch = read_batch({"batch": events}, received_ns=time.time_ns())
    store.write(
        [
            MappedBatch(
                project_id,
                (),
                batch.warnings,
                patches=batch.patches,
                scores=batch.scores,
                pricing=pricing,
            )
        ]  # fmt: skip
    )
    kinds = [event["type"] for event in events]
    return LangfuseImport(
        traces=kinds.count("trace-create"),
        observations=sum(1 for k in kinds if k not in ("trace-create", "score-create")),
        scores=kinds.count("score-create"),
        failed=tuple(f"{f.event_id}: {f.message}" for f in batch.failures),
    )


def langfuse_events(document: Any) -> Iterator[dict[str, Any]]:
    """The ingestion events that recreate what a Langfuse export holds."""
    for trace, session_id in traces_of(document):
        yield from trace_events(trace, session_id)


def traces_of(document: Any) -> Iterator[tuple[Mapping[str, Any], str | None]]:
    """Each trace in the document, with the session it was listed under (if any)."""
    if isinstance(document, list):
        for item in document:
            yield from traces_of(item)
    elif isinstance(document, Mapping) and isinstance(document.get("traces"), list):
        session_id = document.get("id")
        for trace in document["traces"]:
            yield _checked(trace), session_id if isinstance(session_id, str) else None
    elif isinstance(document, Mapping) and isinstance(document.get("data"), list):
        for trace in document["data"]:
            yield _checked(trace), None
    elif isinstance(document, Mapping) and "id" in document and "timestamp" in document:
        yield document, None
    else:
        raise LangfuseImportError("not a Langfuse trace, trace list or session export")


def _checked(trace: Any) -> Mapping[str, Any]:
    if not isinstance(trace, Mapping) or not isinstance(trace.get("id"), str):
        raise LangfuseImportError("a trace must be an object with an id")
    return trace


def trace_events(trace: Mapping[str, Any], session_id: str | None) -> Iterator[dict[str, Any]]:
    body = _pick(trace, TRACE_FIELDS)
    if session_id and not body.get("sessionId"):
        body["sessionId"] = session_id
    timestamp = trace.get("timestamp")
    yield _event(f"import-trace-{trace['id']}", "trace-create", timestamp, body)
    for observation in trace.get("observations") or ():
        if isinstance(observation, Mapping):
            yield observation_event(observation, trace["id"])
    for score in trace.get("scores") or ():
        if isinstance(score, Mapping):
            body = _pick(score, SCORE_FIELDS)
            body.setdefault("traceId", trace["id"])
            yield _event(f"import-score-{score.get('id')}", "score-create", timestamp, body)


def observation_event(observation: Mapping[str, Any], trace_id: str) -> dict[str, Any]:
    body = _pick(observation, OBSERVATION_FIELDS)
    body["traceId"] = body.get("traceId") or trace_id
    if "usageDetails" not in body and isinstance(observation.get("usage"), Mapping):
        body["usage"] = observation["usage"]
    kind = str(observation.get("type") or "SPAN").lower()
    event_id = f"import-observation-{observation.get('id')}"
    return _event(event_id, f"{kind}-create", observation.get("startTime"), body)


def _event(event_id: str, kind: str, timestamp: Any, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "timestamp": timestamp, "body": body}


def _pick(source: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: source[name] for name in fields if source.get(name) is not None}
