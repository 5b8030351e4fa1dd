"""Langfuse ingestion events in the store: kept as patches, merged into observations and trace
carriers, and the same whatever order, grouping or repetition they arrive in.

Parametrised over backends through the contract suite's fixtures.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from skein.fold import aggregate_scores, fold_session, fold_trace
from skein.ingest.langfuse import read_batch
from skein.prices import PriceBook, builtin_prices, pricing_for
from skein.records import TRACE_CARRIER_ID, TRACE_CARRIER_TYPE, MappedBatch
from skein.scores import ScoreQuery
from skein.store import open_store
from skein.store.base import Store
from tests.store.factories import PROJECT_ID, make_batch, make_observation
from tests.store.test_contract import make_store, store

__all__ = ["make_store", "store"]  # fixtures

T = TypeVar("T")
MANY = 10_000
RECEIVED_NS = 1_800_000_000_000_000_000


def stamp(second: int) -> str:
    return f"2024-05-01T12:00:{second:02d}Z"


def event(event_id: str, kind: str, second: int, **body: Any) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "timestamp": stamp(second), "body": body}


def batch_of(*events: dict[str, Any], pricing: Any = None) -> MappedBatch:
    read = read_batch({"batch": list(events)}, received_ns=RECEIVED_NS)
    assert read.failures == (), read.failures
    return MappedBatch(
        PROJECT_ID, (), read.warnings, patches=read.patches, scores=read.scores, pricing=pricing
    )


def write(store: Store, *events: dict[str, Any], pricing: Any = None) -> None:
    store.write([batch_of(*events, pricing=pricing)])


TRACE = event("e-trace", "trace-create", 0, id="t1", name="chat", sessionId="s1", userId="u1",
              input="question", tags=["a"])  # fmt: skip
CREATE = event("e-create", "generation-create", 1, id="g1", traceId="t1", name="llm",
               model="my-model", startTime=stamp(1), usage={"input": 10, "output": 5})  # fmt: skip
UPDATE = event("e-update", "generation-update", 3, id="g1", traceId="t1", endTime=stamp(3),
               output="answer", level="ERROR")  # fmt: skip


def test_events_rebuild_the_observation_and_the_trace(store: Store) -> None:
    write(store, TRACE, CREATE, UPDATE)

    [generation] = store.list_observations(PROJECT_ID, "t1")
    assert (generation.id, generation.type, generation.name) == ("g1", "GENERATION", "llm")
    assert (generation.output, generation.level, generation.input_tokens) == ("answer", "ERROR", 10)
    assert generation.end_ns - generation.start_ns == 2_000_000_000
    trace = store.get_trace(PROJECT_ID, "t1")
    assert trace is not None
    assert (trace.name, trace.session_id, trace.user_id) == ("chat", "s1", "u1")
    assert (trace.session_source, trace.observation_count, trace.error_count) == (
        "trace-create.sessionId",
        1,
        1,
    )
    assert trace.root_id == "g1" and trace.input_id == TRACE_CARRIER_ID
    session = store.get_session(PROJECT_ID, "s1")
    assert session is not None and session.input_tokens == 10 and session.trace_count == 1


def test_the_trace_fold_sees_the_carrier_first(store: Store) -> None:
    write(store, TRACE, CREATE)
    trace = store.get_trace(PROJECT_ID, "t1")
    [generation] = store.list_observations(PROJECT_ID, "t1")
    carrier = make_observation(
        id=TRACE_CARRIER_ID, trace_id="t1", type=TRACE_CARRIER_TYPE, name="chat",
        start_ns=generation.start_ns - 1_000_000_000, end_ns=generation.start_ns - 1_000_000_000,
        trace={"name": "chat", "session_id": "s1", "session_source": "trace-create.sessionId",
               "user_id": "u1", "user_source": "trace-create.userId", "tags": ("a",),
               "input": "question"},
    )  # fmt: skip

    assert trace == fold_trace([generation, carrier])


def test_an_update_before_its_create_gives_the_same_result(store: Store) -> None:
    write(store, UPDATE)
    write(store, CREATE)
    write(store, TRACE)
    late = (store.list_observations(PROJECT_ID, "t1"), store.get_trace(PROJECT_ID, "t1"))

    with fresh_store() as other:
        write(other, TRACE, CREATE, UPDATE)
        in_order = (other.list_observations(PROJECT_ID, "t1"), other.get_trace(PROJECT_ID, "t1"))

    assert late == in_order


def test_a_resent_event_changes_nothing_even_with_other_values(store: Store) -> None:
    write(store, TRACE, CREATE)
    changed = event("e-create", "generation-create", 1, id="g1", traceId="t1", name="other")
    write(store, changed)

    assert [o.name for o in store.list_observations(PROJECT_ID, "t1")] == ["llm"]


def test_an_observation_leaves_its_wrapper_trace_when_its_trace_id_arrives(store: Store) -> None:
    write(store, event("e1", "span-update", 2, id="o1", name="step"))
    assert [o.id for o in store.list_observations(PROJECT_ID, "o1")] == ["o1"]

    write(store, event("e0", "span-create", 1, id="o1", traceId="t9"), TRACE)

    assert store.get_trace(PROJECT_ID, "o1") is None
    assert store.list_observations(PROJECT_ID, "o1") == []
    assert [o.name for o in store.list_observations(PROJECT_ID, "t9")] == ["step"]


def test_a_trace_create_alone_makes_a_trace_in_its_session(store: Store) -> None:
    write(store, TRACE)

    trace = store.get_trace(PROJECT_ID, "t1")
    assert trace is not None and trace.observation_count == 0 and trace.session_id == "s1"
    assert store.list_observations(PROJECT_ID, "t1") == []
    assert store.get_session(PROJECT_ID, "s1") is not None


def test_a_bad_session_id_on_a_trace_create_warns_and_keeps_the_trace(store: Store) -> None:
    write(store, event("e1", "trace-create", 0, id="t2", name="kept", sessionId="x" * 201))

    trace = store.get_trace(PROJECT_ID, "t2")
    assert trace is not None and trace.name == "kept" and trace.session_id is None
    assert [w.warning.code for w in store.list_warnings(PROJECT_ID, "t2")] == [
        "session_id_too_long"
    ]


def test_the_batch_pricing_prices_rebuilt_generations(store: Store) -> None:
    book = PriceBook(builtin_prices())
    priced = event("e-p", "generation-create", 1, id="g2", traceId="t1", model="gpt-4o-mini",
                   usage={"input": 1000, "output": 100})  # fmt: skip
    write(store, priced, pricing=pricing_for(book))

    [generation] = store.list_observations(PROJECT_ID, "t1")
    assert generation.cost_source == "price:openai-gpt-4o-mini"
    assert generation.total_cost is not None and generation.total_cost > 0


def test_deleting_a_trace_forgets_its_events_and_scores(store: Store) -> None:
    score = event("e-s", "score-create", 4, id="sc1", traceId="t1", name="q", value=1)
    write(store, TRACE, CREATE, UPDATE, score)
    store.delete_traces(PROJECT_ID, ["t1"])

    write(store, event("e-late", "span-update", 9, id="g1", traceId="t1", name="late"))

    [observation] = store.list_observations(PROJECT_ID, "t1")
    assert (observation.name, observation.model, observation.output) == ("late", None, None)
    assert store.get_score(PROJECT_ID, "sc1") is None


def test_spans_and_events_share_one_write(store: Store) -> None:
    span = make_observation(trace_id="t1", id="f" * 16, parent_id="g1", is_root=False)
    store.write([make_batch(span), batch_of(TRACE, CREATE)])

    trace = store.get_trace(PROJECT_ID, "t1")
    assert trace is not None and trace.observation_count == 2 and trace.orphan_count == 0


# -- Property: arrival order, grouping and repetition do not matter --------------------------


@contextmanager
def fresh_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as directory:
        opened = open_store(f"sqlite:///{Path(directory) / 'skein.db'}")
        try:
            yield opened
        finally:
            opened.close()


HOME = {"o1": "t1", "o2": "t1", "o3": "t2", "o4": "t2"}


@st.composite
def trace_event(draw: st.DrawFn, event_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"id": draw(st.sampled_from(("t1", "t2")))}
    for key, values in (
        ("name", ("chat", "turn")),
        ("sessionId", ("s1", "s2")),
        ("userId", ("u1", "u2")),
        ("input", ("q1", "q2")),
        ("public", (True, False)),
        ("release", ("r1", "r2")),
    ):
        if draw(st.booleans()):
            body[key] = draw(st.sampled_from(values))
    body["tags"] = draw(st.lists(st.sampled_from(("a", "b", "c")), max_size=2))
    body["metadata"] = draw(st.dictionaries(st.sampled_from(("k", "m")), st.integers(0, 2)))
    return event(event_id, "trace-create", draw(st.integers(0, 3)), **body)


@st.composite
def observation_event(draw: st.DrawFn, event_id: str) -> dict[str, Any]:
    observation_id = draw(st.sampled_from(sorted(HOME)))
    kind = draw(st.sampled_from(("span-create", "span-update", "generation-create",
                                 "generation-update", "event-create")))  # fmt: skip
    body: dict[str, Any] = {"id": observation_id}
    if draw(st.booleans()):
        body["traceId"] = HOME[observation_id]
    if draw(st.booleans()):
        body["parentObservationId"] = draw(st.sampled_from(sorted(set(HOME) - {observation_id})))
    for key, values in (
        ("name", ("a", "b")),
        ("level", ("DEFAULT", "ERROR")),
        ("output", ("x", "y")),
        ("startTime", (stamp(0), stamp(2))),
        ("endTime", (stamp(3), stamp(5))),
        ("usage", ({"input": 3, "output": 1}, {"input": 8})),
        ("costDetails", ({"total": 0.5}, {"total": 0.25})),
        ("metadata", ({"k": 1}, {"k": 2, "j": 0})),
    ):
        if draw(st.booleans()):
            body[key] = draw(st.sampled_from(values))
    return event(event_id, kind, draw(st.integers(0, 3)), **body)


@st.composite
def score_event(draw: st.DrawFn, event_id: str) -> dict[str, Any]:
    target = draw(st.sampled_from(({"traceId": "t1"}, {"traceId": "t2"}, {"sessionId": "s1"})))
    value = draw(st.sampled_from((0.5, 1.0, "good", "bad", True)))
    return event(event_id, "score-create", 1, id=f"score-{event_id}", name="q", value=value,
                 **target)  # fmt: skip


@st.composite
def events(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 12))
    makers = (trace_event, observation_event, observation_event, score_event)
    return [draw(draw(st.sampled_from(makers))(f"e{index}")) for index in range(count)]


def split(draw: st.DrawFn, items: Sequence[T]) -> list[list[T]]:
    pieces: list[list[T]] = []
    for index, item in enumerate(items):
        if index == 0 or draw(st.booleans()):
            pieces.append([])
        pieces[-1].append(item)
    return pieces


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[MappedBatch]]]:
    """The events, and the write() calls that deliver them: permuted, re-sent, split, grouped."""
    originals = draw(events())
    resent = draw(st.lists(st.sampled_from(originals), max_size=4))
    arrival = draw(st.permutations(originals + resent))
    requests = [batch_of(*piece) for piece in split(draw, arrival)]
    return originals, split(draw, requests)


def stored_state(store: Store) -> tuple[object, ...]:
    traces = sorted(store.list_traces(PROJECT_ID, limit=MANY), key=lambda t: t.trace_id)
    observations = {t.trace_id: store.list_observations(PROJECT_ID, t.trace_id) for t in traces}
    scores = store.query_scores(PROJECT_ID, ScoreQuery(limit=MANY)).items
    return traces, observations, store.list_sessions(PROJECT_ID, limit=MANY), scores


def assert_sessions_are_folded(store: Store) -> None:
    for session in store.list_sessions(PROJECT_ID, limit=MANY):
        members = store.list_traces(PROJECT_ID, session_id=session.session_id, limit=MANY)
        on_traces = ScoreQuery(trace_ids=tuple(t.trace_id for t in members), limit=MANY)
        on_session = ScoreQuery(session_ids=(session.session_id,), limit=MANY)
        scores = [*store.query_scores(PROJECT_ID, on_traces).items,
                  *store.query_scores(PROJECT_ID, on_session).items]  # fmt: skip
        assert session == fold_session(session.session_id, members, aggregate_scores(scores))


@settings(max_examples=40, deadline=None)
@given(deliveries())
def test_stored_state_does_not_depend_on_arrival(
    delivery: tuple[list[dict[str, Any]], list[list[MappedBatch]]],
) -> None:
    originals, writes = delivery

    with fresh_store() as delivered_store:
        for batches in writes:
            delivered_store.write(batches)
        delivered = stored_state(delivered_store)
        assert_sessions_are_folded(delivered_store)
    with fresh_store() as at_once:
        at_once.write([batch_of(*originals)])
        written_at_once = stored_state(at_once)

    assert delivered == written_at_once
