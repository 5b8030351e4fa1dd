"""`skein.store.postgres_text`: text holding NUL characters, stored on PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from skein.ingest.langfuse import read_batch
from skein.records import MappedBatch, Observation, Score
from skein.repair.model import Assignment, AuditEntry
from skein.scores import ScoreQuery
from skein.store.base import Comment, TraceQuery
from skein.store.postgres import PostgresStore
from skein.store.postgres_text import NulFreeBinaryTextDumper, NulFreeTextDumper, nul_free
from tests.store.factories import (
    PROJECT_ID,
    START_NS,
    TRACE_ID,
    make_batch,
    make_full_observation,
    make_observation,
)


def replaced(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def with_nuls() -> Observation:
    """A generation with a NUL in each kind of text column, and one inside its metadata."""
    full = make_full_observation()
    trace = dataclasses.replace(full.trace, session_id="chat\x00 7", user_id="\x00")
    return dataclasses.replace(
        full,
        name="tool\x00call",
        input="before\x00after " * 400,  # long: the text SQLite would compress
        output="\x00",
        status_message="status\x00",
        model="model\x00",
        metadata={"key\x00": "value\x00"},
        trace=trace,
    )


def as_stored(observation: Observation) -> Observation:
    """What PostgreSQL gives back: every NUL replaced, in metadata too."""
    trace = observation.trace
    stored_trace = dataclasses.replace(
        trace, session_id=replaced(trace.session_id or ""), user_id=replaced(trace.user_id or "")
    )
    return dataclasses.replace(
        observation,
        name=replaced(observation.name),
        input=replaced(observation.input or ""),
        output=replaced(observation.output or ""),
        status_message=replaced(observation.status_message or ""),
        model=replaced(observation.model or ""),
        metadata={"key\ufffd": "value\ufffd"},
        trace=stored_trace,
    )


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_url, pool_size=1)
    store.create_project("a", PROJECT_ID)
    yield store
    store.close()


def test_nul_free_replaces_nul_in_every_string_field_as_deep_as_records_go() -> None:
    observation = with_nuls()

    assert nul_free(make_batch(observation)) == make_batch(as_stored(observation))
    assert nul_free(("a\x00", ["\x00"])) == ("a\ufffd", ["\ufffd"])


def test_nul_free_gives_back_the_same_objects_when_there_is_no_nul() -> None:
    batch = make_batch(make_full_observation())

    assert nul_free(batch) is batch


@pytest.mark.parametrize("dumper", [NulFreeTextDumper, NulFreeBinaryTextDumper])
def test_the_dumpers_replace_nul_and_nothing_else(dumper: type[NulFreeTextDumper]) -> None:
    assert dumper(str).dump("a\x00b\x00") == "a\ufffdb\ufffd".encode()
    assert dumper(str).dump("plain ✓") == "plain ✓".encode()


def test_a_span_with_nul_characters_is_stored_beside_the_rest_of_its_batch(
    store: PostgresStore,
) -> None:
    observation = with_nuls()
    sibling = make_observation(id="3" * 16, parent_id=observation.id, start_ns=START_NS + 10**8)
    store.write([make_batch(observation, sibling)])

    assert store.list_observations(PROJECT_ID, TRACE_ID) == [as_stored(observation), sibling]


def test_a_session_id_holding_nul_is_found_by_that_id(store: PostgresStore) -> None:
    store.write([make_batch(with_nuls())])

    session = store.get_session(PROJECT_ID, "chat\x00 7")

    assert session is not None and session.session_id == "chat\ufffd 7"


def test_scores_and_comments_with_nul_characters_are_stored(store: PostgresStore) -> None:
    score = Score("sc\x001", "tone\x00", "CATEGORICAL", None, "calm\x00", START_NS,
                  trace_id=TRACE_ID, comment="said\x00")  # fmt: skip
    store.write([MappedBatch(PROJECT_ID, (), scores=(score,))])
    store.add_comment(PROJECT_ID, Comment("c1", "session", "s1", "note\x00", "admin", START_NS))

    [stored] = store.query_scores(PROJECT_ID, ScoreQuery(limit=10)).items
    [comment] = store.list_comments(PROJECT_ID, "session", "s1")
    assert (stored.id, stored.name, stored.string_value, stored.comment) == (
        "sc\ufffd1", "tone\ufffd", "calm\ufffd", "said\ufffd"
    )  # fmt: skip
    assert comment.body == "note\ufffd"


def test_a_session_assigned_an_id_holding_nul_is_found_by_it(store: PostgresStore) -> None:
    store.write([make_batch(make_observation())])
    entry = AuditEntry("audit-1", START_NS, "admin", "move", sessions=("moved\x00",))

    store.apply_assignments(PROJECT_ID, entry, {TRACE_ID: Assignment("moved\x00", "edit:move")})

    session = store.get_session(PROJECT_ID, "moved\x00")
    assert session is not None and (session.session_id, session.trace_count) == ("moved\ufffd", 1)


def batch_events(*events: dict[str, object]) -> MappedBatch:
    """Langfuse batch events as the ingestion endpoint hands them to the store."""
    read = read_batch({"batch": list(events)}, received_ns=START_NS)
    return MappedBatch(PROJECT_ID, (), read.warnings, patches=read.patches, scores=read.scores)


def event(event_id: str, kind: str, **body: object) -> dict[str, object]:
    return {"id": event_id, "type": kind, "timestamp": "2024-05-01T12:00:00Z", "body": body}


def test_batch_events_with_nul_in_their_ids_and_tags_build_their_trace_and_session(
    store: PostgresStore,
) -> None:
    store.write([batch_events(
        event("e1", "trace-create", id="t\x001", sessionId="s\x00", tags=["x\x00"]),
        event("e2", "span-create", id="o\x001", traceId="t\x001", name="step"),
    )])  # fmt: skip

    trace = store.get_trace(PROJECT_ID, "t\x001")
    session = store.get_session(PROJECT_ID, "s\x00")
    assert trace is not None and (trace.session_id, trace.tags) == ("s\ufffd", ("x\ufffd",))
    assert session is not None and session.observation_count == 1
    assert [o.id for o in store.list_observations(PROJECT_ID, "t\x001")] == ["o\ufffd1"]
    tagged = store.query_traces(PROJECT_ID, TraceQuery(tags=("x\x00",))).items
    assert [t.trace_id for t in tagged] == ["t\ufffd1"]


def test_a_rename_into_an_id_holding_nul_takes_the_session_and_its_scores(
    store: PostgresStore,
) -> None:
    observation = make_observation(trace={"session_id": "old", "session_source": "session.id"})
    score = Score("sc1", "q", "NUMERIC", 1.0, None, START_NS, session_id="old")
    store.write([make_batch(observation), MappedBatch(PROJECT_ID, (), scores=(score,))])
    rename = {"sessionId": "old", "newSessionId": "new\x00"}
    entry = AuditEntry("audit-1", START_NS, "admin", "rename", rename, ("old", "new\x00"))

    store.apply_assignments(PROJECT_ID, entry, {TRACE_ID: Assignment("new\x00", "edit:rename")})

    renamed = store.get_session(PROJECT_ID, "new\x00")
    assert renamed is not None and renamed.trace_count == 1 and "q" in renamed.scores
    assert store.get_session(PROJECT_ID, "old") is None


def test_metadata_holding_nul_leaves_the_queries_that_read_it_as_jsonb_working(
    store: PostgresStore,
) -> None:
    observation = make_observation(
        metadata={"scope": {"name": "sdk\x00"}, "k\x00": "v"},
        trace={"session_id": "s1", "session_source": "session.id", "tags": ("t\x00",)},
    )
    store.write([make_batch(observation)])

    [coverage] = store.session_coverage(PROJECT_ID, by="sdk")
    assert coverage.key == "sdk\ufffd"
    assert store.list_observations(PROJECT_ID, TRACE_ID)[0].metadata["k\ufffd"] == "v"
    assert len(store.query_traces(PROJECT_ID, TraceQuery(tags=("t\x00",))).items) == 1
