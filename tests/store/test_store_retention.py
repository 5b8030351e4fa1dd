"""Retention in every backend: a project's period, the traces it has expired, and what
deleting them leaves behind (no observations, scores or warnings; rollups of what is left).

Parametrised over backends through the contract suite's fixtures.
"""

from __future__ import annotations

from skein.fold import aggregate_scores, fold_session
from skein.records import MappedBatch, Observation, Score
from skein.store.base import Store
from tests.store.factories import PROJECT_ID, START_NS, make_observation, make_warning
from tests.store.test_contract import make_store, store
from tests.store.test_sqlite_scores import make_score

__all__ = ["make_store", "store"]  # fixtures

OTHER_PROJECT = "project-b"
SECOND = 1_000_000_000
DAY = 86_400 * SECOND


def trace_id(number: int) -> str:
    return f"{number:032x}"


def spans_of(
    number: int, start_ns: int, end_ns: int, session: str | None = "s"
) -> list[Observation]:
    """A trace of two spans (root and child) from `start_ns` to `end_ns` with tokens."""
    trace = {"session_id": session, "session_source": "session.id"} if session else {}
    root = make_observation(
        trace_id=trace_id(number), id=f"{number:08x}00000001", start_ns=start_ns,
        end_ns=start_ns + 1, input_tokens=number, total_tokens=number, trace=trace,
    )  # fmt: skip
    child = make_observation(
        trace_id=trace_id(number), id=f"{number:08x}00000002", parent_id=root.id,
        start_ns=start_ns, end_ns=end_ns, output_tokens=2 * number, total_tokens=2 * number,
    )  # fmt: skip
    return [root, child]


def write_traces(store: Store, *traces: list[Observation], project_id: str = PROJECT_ID) -> None:
    observations = tuple(o for trace in traces for o in trace)
    store.write([MappedBatch(project_id, observations)])


def test_a_projects_retention_is_set_read_and_cleared(store: Store) -> None:
    store.create_project("a", PROJECT_ID)
    project = store.get_project(PROJECT_ID)
    assert project is not None and project.retention_days is None

    assert store.set_retention_days(PROJECT_ID, 30) is True
    assert store.get_project(PROJECT_ID).retention_days == 30  # type: ignore[union-attr]
    assert [p.retention_days for p in store.list_projects()] == [30]
    assert store.set_retention_days(PROJECT_ID, None) is True
    assert store.get_project(PROJECT_ID).retention_days is None  # type: ignore[union-attr]
    assert store.set_retention_days("no-such-project", 5) is False


def test_expired_traces_are_those_whose_last_activity_is_before_the_cutoff(store: Store) -> None:
    cutoff = START_NS + 10 * DAY
    write_traces(
        store,
        spans_of(1, START_NS + 2 * DAY, START_NS + 3 * DAY),  # ended before: expired
        spans_of(2, START_NS, START_NS + 1 * DAY),  # older: expired, listed first
        spans_of(3, START_NS + 9 * DAY, START_NS + 11 * DAY),  # still active after the cutoff
        spans_of(4, START_NS + 12 * DAY, START_NS + 13 * DAY),  # recent
        spans_of(5, START_NS + 1 * DAY, cutoff),  # ends exactly at the cutoff: kept
    )
    write_traces(store, spans_of(6, START_NS, START_NS + 1), project_id=OTHER_PROJECT)

    assert store.expired_trace_ids(PROJECT_ID, cutoff, limit=10) == [trace_id(2), trace_id(1)]
    assert store.expired_trace_ids(PROJECT_ID, cutoff, limit=1) == [trace_id(2)]
    assert store.expired_trace_ids(OTHER_PROJECT, cutoff, limit=10) == [trace_id(6)]


def test_deleting_traces_leaves_no_observations_scores_warnings_or_rollup_share(
    store: Store,
) -> None:
    old, kept = spans_of(7, START_NS, START_NS + SECOND), spans_of(8, START_NS, START_NS + 2)
    write_traces(store, old, kept)
    scores = [
        make_score("old-score", trace_id=trace_id(7), value=1.0),
        make_score("kept-score", trace_id=trace_id(8), value=3.0),
        make_score("session-score", trace_id=None, session_id="s", value=5.0),
    ]
    warning = make_warning(trace_id=trace_id(7), span_id=old[0].id)
    store.write([MappedBatch(PROJECT_ID, (), warnings=(warning,), scores=tuple(scores))])
    before = store.get_session(PROJECT_ID, "s")
    assert before is not None and before.trace_count == 2

    assert store.delete_traces(PROJECT_ID, [trace_id(7)]) == 1

    assert store.get_trace(PROJECT_ID, trace_id(7)) is None
    assert store.list_observations(PROJECT_ID, trace_id(7)) == []
    assert store.get_observation(PROJECT_ID, old[0].id) is None
    assert store.get_score(PROJECT_ID, "old-score") is None
    assert store.list_warnings(PROJECT_ID, trace_id=trace_id(7)) == []
    remaining = store.get_trace(PROJECT_ID, trace_id(8))
    assert remaining is not None
    expected = fold_session("s", [remaining], aggregate_scores(scores[1:]))
    assert store.get_session(PROJECT_ID, "s") == expected
    assert expected.total_tokens == sum(o.total_tokens for o in kept)


def test_deleting_a_session_leaves_no_trace_of_it(store: Store) -> None:
    write_traces(store, spans_of(1, START_NS, START_NS + 5), spans_of(2, START_NS, START_NS + 6))
    write_traces(store, spans_of(3, START_NS, START_NS + 7, session="other"))
    session_score: Score = make_score("ss", trace_id=None, session_id="s")
    store.write([MappedBatch(PROJECT_ID, (), scores=(session_score,))])

    assert store.delete_session(PROJECT_ID, "s") == 2

    assert store.get_session(PROJECT_ID, "s") is None
    assert store.get_score(PROJECT_ID, "ss") is None
    assert [store.list_observations(PROJECT_ID, trace_id(n)) for n in (1, 2)] == [[], []]
    assert [t.trace_id for t in store.list_traces(PROJECT_ID)] == [trace_id(3)]
    assert store.get_session(PROJECT_ID, "other") is not None
