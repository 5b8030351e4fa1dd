"""The portable session archive: JSON Lines, one record per line, self-contained.

    {"kind": "skein-archive", "version": 1, "exportedNs": ..., "selection": {...}}
    {"kind": "trace", "traceId": ..., "otlp": <an OTLP/JSON ExportTraceServiceRequest>}
    {"kind": "session", "sessionId": ..., "turns": [trace ids in turn order]}
    {"kind": "score", "score": {...}}        {"kind": "comment", "comment": {...}}
    {"kind": "assignment", "traceId": ..., "sessionId": ..., "source": ...}
    {"kind": "audit", "entry": {...}}

Importing maps the spans exactly as ingestion does (so they become the same observations),
then sets the assignments and adds the scores, comments and audit entries it does not have:
importing the same archive twice changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from skein.ingest.mapping import IngestContext, map_request
from skein.ingest.otlp import decode_request
from skein.records import MappedBatch, Observation, Score
from skein.repair.edits import EditError, session_trace_ids
from skein.repair.model import Assignment, AuditEntry, audit_from_json, audit_json
from skein.repair.otlp_json import otlp_request
from skein.scores import ScoreQuery
from skein.store.base import MAX_PAGE_SIZE, Comment, Store, TraceQuery

FORMAT = "skein-archive"
VERSION = 1
# The mapping's idea of the sender: Skein's own archive sends JSON metadata, never reprs.
ARCHIVE_CONTEXT = IngestContext(sdk_name="skein-archive", ingestion_version=4)
MAX_DECODED_BYTES = 1 << 30
TRACES_PER_WRITE = 200
MAX_AUDIT_ENTRIES = 100_000


class ArchiveError(ValueError):
    """A line that is not part of a Skein archive (the message says which)."""


@dataclass(frozen=True, slots=True)
class Selection:
    """What to export: these sessions, else the traces matching the filter (else all)."""

    session_ids: tuple[str, ...] = ()
    user_id: str | None = None
    from_ns: int | None = None
    to_ns: int | None = None

    def as_json(self) -> dict[str, Any]:
        found = dataclasses.asdict(self)
        found["session_ids"] = list(self.session_ids)
        return {k: v for k, v in found.items() if v not in (None, [])}


@dataclass(slots=True)
class ImportCounts:
    traces: int = 0
    spans: int = 0
    scores: int = 0
    comments_added: int = 0
    assignments_changed: int = 0
    audit_added: int = 0
    rejected_spans: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "traces": self.traces, "spans": self.spans, "scores": self.scores,
            "commentsAdded": self.comments_added,
            "assignmentsChanged": self.assignments_changed, "auditAdded": self.audit_added,
            "rejectedSpans": self.rejected_spans[:20],
        }  # fmt: skip


# -- Export ---------------------------------------------------------------------------------------


def export_lines(store: Store, project_id: str, selection: Selection) -> Iterator[str]:
    """The archive of a selection, line by line (each ends with a newline)."""
    header = {"kind": FORMAT, "version": VERSION, "exportedNs": time.time_ns(),
              "selection": selection.as_json()}  # fmt: skip
    yield _line(header)
    trace_ids = selected_trace_ids(store, project_id, selection)
    sessions: dict[str, list[str]] = {}
    for start in range(0, len(trace_ids), TRACES_PER_WRITE):
        chunk = trace_ids[start : start + TRACES_PER_WRITE]
        yield from _trace_lines(store, project_id, chunk, sessions)
    for session_id, turns in sessions.items():
        yield _line({"kind": "session", "sessionId": session_id, "turns": turns})
    yield from _annotation_lines(store, project_id, trace_ids, sorted(sessions))


def selected_trace_ids(store: Store, project_id: str, selection: Selection) -> list[str]:
    """The selected traces, sessions' in turn order, else by start time."""
    if selection.session_ids:
        found: list[str] = []
        for session_id in selection.session_ids:
            try:
                found.extend(session_trace_ids(store, project_id, session_id))
            except EditError:
                continue
        return list(dict.fromkeys(found))
    return _filtered_trace_ids(store, project_id, selection)


def _filtered_trace_ids(store: Store, project_id: str, selection: Selection) -> list[str]:
    found: list[str] = []
    cursor: str | None = None
    while True:
        query = TraceQuery(
            user_id=selection.user_id, from_ns=selection.from_ns, to_ns=selection.to_ns,
            order_by="timestamp", descending=False, limit=MAX_PAGE_SIZE, cursor=cursor,
            with_total=False,
        )  # fmt: skip
        page = store.query_traces(project_id, query)
        found.extend(t.trace_id for t in page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _trace_lines(
    store: Store, project_id: str, trace_ids: Sequence[str], sessions: dict[str, list[str]]
) -> Iterator[str]:
    for trace_id in trace_ids:
        detail = store.get_trace_detail(project_id, trace_id)
        if detail is None or not detail.observations:
            continue
        if detail.trace.session_id is not None:
            sessions.setdefault(detail.trace.session_id, []).append(trace_id)
        body = otlp_request(detail.observations, detail.trace)
        yield _line({"kind": "trace", "traceId": trace_id, "otlp": body})


def _annotation_lines(
    store: Store, project_id: str, trace_ids: Sequence[str], session_ids: Sequence[str]
) -> Iterator[str]:
    for score in _scores(store, project_id, trace_ids, session_ids):
        yield _line({"kind": "score", "score": score_json(score)})
    for comment in _comments(store, project_id, trace_ids, session_ids):
        yield _line({"kind": "comment", "comment": dataclasses.asdict(comment)})
    for trace_id, assignment in sorted(store.get_assignments(project_id, trace_ids).items()):
        yield _line({"kind": "assignment", "traceId": trace_id,
                     "sessionId": assignment.session_id, "source": assignment.source})  # fmt: skip
    for entry in _audit(store, project_id, set(trace_ids)):
        yield _line({"kind": "audit", "entry": audit_json(entry)})


def _scores(
    store: Store, project_id: str, trace_ids: Sequence[str], session_ids: Sequence[str]
) -> Iterator[Score]:
    for start in range(0, len(trace_ids), TRACES_PER_WRITE):
        chunk = tuple(trace_ids[start : start + TRACES_PER_WRITE])
        yield from _all_scores(store, project_id, ScoreQuery(trace_ids=chunk))
    if session_ids:
        yield from _all_scores(store, project_id, ScoreQuery(session_ids=tuple(session_ids)))


def _all_scores(store: Store, project_id: str, query: ScoreQuery) -> Iterator[Score]:
    offset = 0
    while True:
        page = store.query_scores(project_id, dataclasses.replace(query, limit=100, offset=offset))
        yield from page.items
        if len(page.items) < 100:
            return
        offset += 100


def _comments(
    store: Store, project_id: str, trace_ids: Iterable[str], session_ids: Iterable[str]
) -> Iterator[Comment]:
    for trace_id in trace_ids:
        yield from store.list_comments(project_id, "trace", trace_id)
    for session_id in session_ids:
        yield from store.list_comments(project_id, "session", session_id)


def _audit(store: Store, project_id: str, trace_ids: set[str]) -> list[AuditEntry]:
    """The entries that changed any of the traces, oldest first."""
    entries = store.list_audit(project_id, limit=MAX_AUDIT_ENTRIES)
    return [e for e in reversed(entries) if trace_ids & set(e.previous)]


def score_json(score: Score) -> dict[str, Any]:
    found = dataclasses.asdict(score)
    found["metadata"] = dict(score.metadata)
    return found


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


# -- Import ---------------------------------------------------------------------------------------


def import_lines(store: Store, project_id: str, lines: Iterable[str]) -> ImportCounts:
    """Import an archive into a project; what is there already stays as it is."""
    counts = ImportCounts()
    records = [_record(number, text) for number, text in enumerate(lines, 1) if text.strip()]
    traces = [r["otlp"] for r in records if r["kind"] == "trace"]
    for start in range(0, len(traces), TRACES_PER_WRITE):
        _write_traces(store, project_id, traces[start : start + TRACES_PER_WRITE], counts)
    assignments = {
        r["traceId"]: Assignment(r.get("sessionId"), str(r["source"]))
        for r in records
        if r["kind"] == "assignment"
    }
    counts.assignments_changed = store.import_assignments(project_id, assignments)
    _import_annotations(store, project_id, records, counts)
    return counts


def _record(number: int, text: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except ValueError:
        raise ArchiveError(f"line {number} is not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
        raise ArchiveError(f"line {number} is not an archive record")
    if record["kind"] == FORMAT and record.get("version") != VERSION:
        raise ArchiveError(f"archive version {record.get('version')} is not supported")
    return record


def _write_traces(
    store: Store, project_id: str, bodies: Sequence[Any], counts: ImportCounts
) -> None:
    observations: list[Observation] = []
    for body in bodies:
        decoded = decode_request(
            json.dumps(body).encode(), "application/json", None, max_decoded_bytes=MAX_DECODED_BYTES
        )
        batch = map_request(decoded, project_id, ARCHIVE_CONTEXT)
        observations.extend(batch.observations)
        counts.rejected_spans.extend(r.reason for r in batch.rejected)
    counts.traces += len(bodies)
    counts.spans += len(observations)
    store.write([MappedBatch(project_id, tuple(observations))])


def _import_annotations(
    store: Store, project_id: str, records: Sequence[dict[str, Any]], counts: ImportCounts
) -> None:
    scores = tuple(Score(**r["score"]) for r in records if r["kind"] == "score")
    if scores:
        store.write([MappedBatch(project_id, (), scores=scores)])
    counts.scores = len(scores)
    for record in records:
        if record["kind"] == "comment":
            counts.comments_added += _add_comment(store, project_id, Comment(**record["comment"]))
    entries = [audit_from_json(r["entry"]) for r in records if r["kind"] == "audit"]
    counts.audit_added = store.import_audit(project_id, entries) if entries else 0


def _add_comment(store: Store, project_id: str, comment: Comment) -> int:
    existing = store.list_comments(project_id, comment.object_type, comment.object_id)
    if any(c.id == comment.id for c in existing):
        return 0
    store.add_comment(project_id, comment)
    return 1
