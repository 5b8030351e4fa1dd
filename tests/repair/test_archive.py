from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from skein.ingest.mapping import IngestContext, map_request
from skein.ingest.otlp import decode_request
from skein.records import MappedBatch, Observation, Score
from skein.repair.archive import Selection, export_lines, import_lines
from skein.repair.edits import Merge, perform
from skein.store.base import Comment, Store
from tests.repair.factories import open_test_store, snapshot
from tests.store.factories import PROJECT_ID, START_NS, make_full_observation
from tests.store.query_factories import TraceSpec, trace_id_of, trace_observations
from tests.vectors.wire import WireRequest, all_wire_requests

SPECS = (
    TraceSpec(0, session_id="a", user_id="u", start_s=0, tokens=10, cost=0.5, tags=("x",)),
    TraceSpec(1, session_id="a", user_id="u", start_s=10, error=True, input='[{"role":"user"}]'),
    TraceSpec(2, session_id="b", start_s=5),
    TraceSpec(3, start_s=50),
)


# What ingestion adds to every observation's metadata: its resource and scope.
INGESTED = {"resourceAttributes": {"service.name": "app"},
            "scope": {"name": "skein-sdk", "version": "1", "attributes": {}}}  # fmt: skip


def as_ingested(observation: Observation) -> Observation:
    """The observation as the mapping would have made it: with resource and scope metadata,
    the key its user id came from, and no total cost without a cost."""
    trace = observation.trace
    if trace.user_id is not None:
        trace = dataclasses.replace(trace, user_source="user.id")
    return dataclasses.replace(
        observation,
        metadata={**observation.metadata, **INGESTED},
        trace=trace,
        total_cost=observation.total_cost if observation.cost else None,
    )


def populated(directory: Path) -> Store:
    store = open_test_store(directory)
    spans = [as_ingested(o) for spec in SPECS for o in trace_observations(spec)]
    full = make_full_observation(trace_id="f" * 32, cost_source=None, completion_start_ns=None)
    store.write([MappedBatch(PROJECT_ID, (*spans, as_ingested(full)))])
    perform(store, PROJECT_ID, Merge(("b",), "a"), actor="pk-x")
    score = Score(
        id="s1", name="quality", data_type="NUMERIC", value=0.9, string_value=None,
        timestamp_ns=START_NS, trace_id=trace_id_of(0), created_ns=5, updated_ns=5,
    )  # fmt: skip
    store.write([MappedBatch(PROJECT_ID, (), scores=(score,))])
    comment = Comment("c1", "session", "a", "looks fine", "admin", START_NS)
    store.add_comment(PROJECT_ID, comment)
    return store


def observations(store: Store) -> list[Observation]:
    found = []
    for trace in store.list_traces(PROJECT_ID, limit=100):
        found.extend(store.list_observations(PROJECT_ID, trace.trace_id))
    return sorted(found, key=lambda o: (o.trace_id, o.id))


def test_round_trip_is_faithful_and_idempotent(tmp_path: Path) -> None:
    source = populated(tmp_path / "a")
    target = open_test_store(tmp_path / "b")
    try:
        lines = list(export_lines(source, PROJECT_ID, Selection()))
        first = import_lines(target, PROJECT_ID, lines)
        assert first.traces == 5 and not first.rejected_spans
        assert snapshot(target) == snapshot(source)
        assert observations(target) == observations(source)
        assert target.list_comments(PROJECT_ID, "session", "a") == source.list_comments(
            PROJECT_ID, "session", "a"
        )
        assert [e.id for e in target.list_audit(PROJECT_ID)] == [
            e.id for e in source.list_audit(PROJECT_ID)
        ]
        before = (snapshot(target), target.list_audit(PROJECT_ID), observations(target))
        second = import_lines(target, PROJECT_ID, lines)
        assert second.assignments_changed == second.comments_added == second.audit_added == 0
        assert (snapshot(target), target.list_audit(PROJECT_ID), observations(target)) == before
    finally:
        source.close()
        target.close()


def test_one_session_archive_holds_its_turns_in_order(tmp_path: Path) -> None:
    source = populated(tmp_path)
    try:
        records = [json.loads(line) for line in export_lines(source, PROJECT_ID, Selection(("a",)))]
        kinds = [r["kind"] for r in records]
        assert kinds[0] == "skein-archive" and kinds.count("trace") == 3
        (session,) = [r for r in records if r["kind"] == "session"]
        assert session["turns"] == [trace_id_of(0), trace_id_of(2), trace_id_of(1)]
        assert {r["kind"] for r in records} >= {"score", "comment", "assignment", "audit"}
    finally:
        source.close()


def test_observation_fields_survive(tmp_path: Path) -> None:
    source = populated(tmp_path / "a")
    target = open_test_store(tmp_path / "b")
    try:
        import_lines(target, PROJECT_ID, export_lines(source, PROJECT_ID, Selection()))
        (original,) = source.list_observations(PROJECT_ID, "f" * 32)
        (copied,) = target.list_observations(PROJECT_ID, "f" * 32)
        assert dataclasses.asdict(copied) == dataclasses.asdict(original)
    finally:
        source.close()
        target.close()


def test_real_sdk_captures_round_trip(tmp_path: Path) -> None:
    """Every captured Langfuse SDK export, stored, archived and imported elsewhere, comes
    back as the same observations, traces and sessions."""
    source = open_test_store(tmp_path / "a")
    target = open_test_store(tmp_path / "b")
    try:
        for request in all_wire_requests():
            context = ingest_context_of(request)
            decoded = decode_request(request.body, request.content_type, request.content_encoding,
                                     max_decoded_bytes=1 << 30)  # fmt: skip
            source.write([map_request(decoded, PROJECT_ID, context)])
        import_lines(target, PROJECT_ID, export_lines(source, PROJECT_ID, Selection()))
        assert len(observations(source)) > 50
        assert observations(target) == observations(source)
        assert snapshot(target) == snapshot(source)
    finally:
        source.close()
        target.close()


def ingest_context_of(request: WireRequest) -> IngestContext:
    version = request.header("x-langfuse-ingestion-version")
    return IngestContext(
        sdk_name=request.header("x-langfuse-sdk-name"),
        sdk_version=request.header("x-langfuse-sdk-version"),
        ingestion_version=int(version) if version else None,
    )
