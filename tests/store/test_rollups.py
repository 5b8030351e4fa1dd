"""Property: whatever order and grouping spans arrive in, the store's traces and sessions are
the folds of the full set of spans, computed from scratch."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skein.fold import SessionSummary, TraceSummary, fold_session, fold_trace
from skein.records import LEVELS, MappedBatch, Observation, TraceAttributes
from skein.store import open_store
from skein.store.base import Store
from tests.postgres_server import PostgresServer
from tests.store.factories import PROJECT_ID, START_NS, make_observation
from tests.store.test_contract import BACKENDS

SESSION_IDS = (None, "s1", "s2", "s3")
# Exact binary fractions: float sums come out the same in any order.
COSTS = (None, 0.0, 0.25, 1.5, 3.0)
MANY = 10_000

T = TypeVar("T")


# Opens a store on a new, empty database of one backend each time it is entered.
FreshStore = Callable[[], AbstractContextManager[Store]]


@pytest.fixture(params=BACKENDS)
def fresh_store(request: pytest.FixtureRequest) -> FreshStore:
    """A factory of empty stores (the fixture outlives hypothesis' examples on purpose)."""

    @contextmanager
    def sqlite_store() -> Iterator[Store]:
        with tempfile.TemporaryDirectory() as directory:
            with closing(open_store(f"sqlite:///{Path(directory) / 'skein.db'}")) as store:
                yield store

    @contextmanager
    def postgres_store() -> Iterator[Store]:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database()
        try:
            with closing(open_store(url)) as store:
                yield store
        finally:
            server.release_database(url)

    return sqlite_store if request.param == "sqlite" else postgres_store


@st.composite
def trace_attributes(draw: st.DrawFn) -> TraceAttributes:
    session_id = draw(st.sampled_from(SESSION_IDS))
    user_id = draw(st.sampled_from((None, "u1", "u2")))
    return TraceAttributes(
        session_id=session_id,
        session_source=draw(st.sampled_from(("session.id", "langfuse.session.id")))
        if session_id
        else None,
        user_id=user_id,
        user_source="user.id" if user_id else None,
        name=draw(st.sampled_from((None, "turn", "chat"))),
        tags=tuple(draw(st.sets(st.sampled_from(("a", "b", "c")), max_size=2))),
        metadata=draw(st.dictionaries(st.sampled_from(("k", "m")), st.integers(0, 3), max_size=2)),
        public=draw(st.sampled_from((None, False, True))),
        input=draw(st.sampled_from((None, "question"))),
        output=draw(st.sampled_from((None, "answer"))),
    )


@st.composite
def parent_of(draw: st.DrawFn, index: int) -> str | None:
    """No parent, an earlier span of the trace, or a parent that never arrives (an orphan)."""
    choice = draw(st.sampled_from(("none", "earlier", "missing") if index else ("none", "missing")))
    if choice == "earlier":
        return f"{draw(st.integers(1, index)):016x}"
    return f"ffff{index:012x}" if choice == "missing" else None


@st.composite
def spans(draw: st.DrawFn, trace_id: str, index: int) -> Observation:
    parent_id = draw(parent_of(index))
    start_ns = START_NS + draw(st.integers(0, 20)) * 1000
    tokens = draw(st.integers(0, 50))
    return make_observation(
        trace_id=trace_id,
        id=f"{index + 1:016x}",
        parent_id=parent_id,
        is_root=parent_id is None or draw(st.booleans()),
        name=draw(st.sampled_from(("root", "llm", "tool"))),
        start_ns=start_ns,
        end_ns=start_ns + draw(st.integers(0, 30)) * 1000,
        level=draw(st.sampled_from(LEVELS)),
        input_tokens=tokens,
        output_tokens=2 * tokens,
        total_tokens=3 * tokens,
        total_cost=draw(st.sampled_from(COSTS)),
        environment=draw(st.sampled_from(("default", "prod", "dev"))),
        release=draw(st.sampled_from((None, "r1", "r2"))),
        trace=draw(trace_attributes()) if draw(st.booleans()) else TraceAttributes(),
    )


@st.composite
def all_spans(draw: st.DrawFn) -> list[Observation]:
    """A few traces, each a random forest of spans."""
    observations: list[Observation] = []
    for trace_number in range(1, draw(st.integers(1, 4)) + 1):
        trace_id = f"{trace_number:032x}"
        count = draw(st.integers(1, 6))
        observations.extend(draw(spans(trace_id, index)) for index in range(count))
    return observations


def split(draw: st.DrawFn, items: Sequence[T]) -> list[list[T]]:
    """Cut a sequence into consecutive non-empty pieces, each gap cut with even odds."""
    pieces: list[list[T]] = []
    for index, item in enumerate(items):
        if index == 0 or draw(st.booleans()):
            pieces.append([])
        pieces[-1].append(item)
    return pieces


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Observation], list[list[MappedBatch]]]:
    """The spans, and the write() calls that deliver them: permuted, re-sent, split, grouped."""
    observations = draw(all_spans())
    resent = draw(st.lists(st.sampled_from(observations), max_size=3))
    arrival = draw(st.permutations(observations + resent))
    requests = [MappedBatch(PROJECT_ID, tuple(piece)) for piece in split(draw, arrival)]
    return observations, split(draw, requests)


def expected_traces(observations: Sequence[Observation]) -> list[TraceSummary]:
    by_trace: dict[str, list[Observation]] = defaultdict(list)
    for observation in observations:
        by_trace[observation.trace_id].append(observation)
    return [fold_trace(members) for members in by_trace.values()]


def expected_sessions(traces: Sequence[TraceSummary]) -> list[SessionSummary]:
    by_session: dict[str, list[TraceSummary]] = defaultdict(list)
    for trace in traces:
        if trace.session_id is not None:
            by_session[trace.session_id].append(trace)
    sessions = [fold_session(sid, members) for sid, members in by_session.items()]
    return sorted(sessions, key=lambda s: (-s.last_ns, s.session_id))


@dataclass(frozen=True)
class StoredState:
    traces: list[TraceSummary]  # by trace id
    sessions: list[SessionSummary]  # as listed
    observations: dict[str, list[Observation]]  # by trace id, as listed
    session_traces: dict[str, list[TraceSummary]]  # by session id, as listed


def stored_state(store: Store) -> StoredState:
    traces = store.list_traces(PROJECT_ID, limit=MANY)
    return StoredState(
        traces=sorted(traces, key=lambda t: t.trace_id),
        sessions=store.list_sessions(PROJECT_ID, limit=MANY),
        observations={t.trace_id: store.list_observations(PROJECT_ID, t.trace_id) for t in traces},
        session_traces={
            s: store.list_traces(PROJECT_ID, session_id=s, limit=MANY) for s in SESSION_IDS if s
        },
    )


def assert_state_is_folded_from_scratch(
    state: StoredState, observations: Sequence[Observation]
) -> None:
    traces = expected_traces(observations)
    assert state.traces == sorted(traces, key=lambda t: t.trace_id)
    assert state.sessions == expected_sessions(traces)
    for trace in traces:
        members = [o for o in observations if o.trace_id == trace.trace_id]
        assert state.observations[trace.trace_id] == sorted(
            members, key=lambda o: (o.start_ns, o.id)
        )
    for session_id, listed in state.session_traces.items():
        members = [t for t in traces if t.session_id == session_id]
        assert listed == sorted(members, key=lambda t: (t.start_ns, t.trace_id))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deliveries())
def test_rollups_do_not_depend_on_arrival(
    fresh_store: FreshStore, delivery: tuple[list[Observation], list[list[MappedBatch]]]
) -> None:
    observations, writes = delivery

    with fresh_store() as store:
        for batches in writes:
            store.write(batches)
        delivered = stored_state(store)
    with fresh_store() as store:
        store.write([MappedBatch(PROJECT_ID, tuple(observations))])
        written_at_once = stored_state(store)

    assert_state_is_folded_from_scratch(delivered, observations)
    assert delivered == written_at_once
