"""Session-id diagnostics (every backend, through the contract suite's
fixtures)."""

from __future__ import annotations

import pytest

from skein.store.base import Store
from tests.store.factories import PROJECT_ID, START_NS, make_batch, make_observation
from tests.store.test_contract import make_store, store

MS = 1_000_000


__all__ = ["make_store", "store"]  # fixtures


def write_fixture(store: Store) -> None:
    """Trace A: root carries s1, child without it (inherits). Trace B: no session.
    Trace C: root carries s2, child carries s3 (a conflict). Trace D: old, no session."""
    a_root = make_observation(
        id="a1", trace_id="a" * 32, name="chat", total_tokens=10, total_cost=0.5,
        trace={"session_id": "s1", "session_source": "session.id", "name": "chat"},
    )  # fmt: skip
    a_child = make_observation(id="a2", trace_id="a" * 32, parent_id="a1", total_tokens=30,
                               total_cost=1.5)  # fmt: skip
    b_root = make_observation(id="b1", trace_id="b" * 32, start_ns=START_NS + 10 * MS,
                              end_ns=START_NS + 20 * MS, total_tokens=60, total_cost=2.0,
                              metadata={"scope": {"name": "openinference"}})  # fmt: skip
    c_root = make_observation(
        id="c1", trace_id="c" * 32, start_ns=START_NS + 30 * MS, end_ns=START_NS + 40 * MS,
        trace={"session_id": "s2", "session_source": "langfuse.session.id"},
    )  # fmt: skip
    c_child = make_observation(
        id="c2", trace_id="c" * 32, parent_id="c1", start_ns=START_NS + 31 * MS,
        trace={"session_id": "s3", "session_source": "metadata.sessionId"},
    )  # fmt: skip
    d_root = make_observation(id="d1", trace_id="d" * 32, start_ns=START_NS - 10**12)
    store.write([make_batch(a_root, a_child, b_root, c_root, c_child, d_root)])


def test_overall_coverage_counts_the_fold_and_the_carriers(store: Store) -> None:
    write_fixture(store)
    (overall,) = store.session_coverage(PROJECT_ID, from_ns=START_NS)
    assert (overall.traces, overall.traces_in_session) == (3, 2)
    assert (overall.observations, overall.observations_in_session) == (5, 4)
    assert overall.observations_carrying == 3  # a1, c1, c2 (a2 inherited its session)
    assert (overall.tokens, overall.tokens_in_session) == (100, 40)
    assert (overall.cost, overall.cost_in_session) == pytest.approx((4.0, 2.0))
    (everything,) = store.session_coverage(PROJECT_ID)
    assert everything.traces == 4


def test_coverage_by_name_and_sdk(store: Store) -> None:
    write_fixture(store)
    by_name = {c.key: c for c in store.session_coverage(PROJECT_ID, "name", from_ns=START_NS)}
    assert by_name["chat"].traces_in_session == 1 and by_name["chat"].traces == 1
    by_sdk = {c.key: c.traces for c in store.session_coverage(PROJECT_ID, "sdk", START_NS)}
    assert by_sdk == {"openinference": 1, "": 2}
    with pytest.raises(ValueError):
        store.session_coverage(PROJECT_ID, "nonsense")


def test_sources_conflicts_and_traces_without_a_session(store: Store) -> None:
    write_fixture(store)
    sources = {s.source: (s.traces, s.sessions) for s in store.session_sources(PROJECT_ID)}
    assert sources == {"session.id": (1, 1), "langfuse.session.id": (1, 1)}
    (conflict,) = store.session_conflicts(PROJECT_ID)
    assert (conflict.trace_id, conflict.chosen, conflict.session_ids) == (
        "c" * 32,
        "s2",
        ("s2", "s3"),
    )
    missing = store.traces_without_session(PROJECT_ID)
    assert [t.trace_id for t in missing] == ["b" * 32, "d" * 32]
    assert [t.trace_id for t in store.traces_without_session(PROJECT_ID, from_ns=START_NS)] == [
        "b" * 32
    ]
