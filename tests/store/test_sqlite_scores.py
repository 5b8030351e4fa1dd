"""Scores in the store: written, replaced, queried, deleted, and rolled up into sessions.

Parametrised over backends through the contract suite's fixtures.
"""

from __future__ import annotations

from typing import Any

from skein.fold import ScoreAggregate, aggregate_scores
from skein.records import MappedBatch, Score, TraceAttributes
from skein.scores import ScoreQuery
from skein.store.base import Store
from tests.store.factories import PROJECT_ID, START_NS, make_batch, make_observation
from tests.store.test_contract import make_store, store

__all__ = ["make_store", "store"]  # fixtures

OTHER_PROJECT = "project-b"
TRACE_A, TRACE_B = "a" * 32, "b" * 32


def make_score(score_id: str, **overrides: Any) -> Score:
    fields: dict[str, Any] = {
        "id": score_id,
        "name": "quality",
        "data_type": "NUMERIC",
        "value": 1.0,
        "string_value": None,
        "timestamp_ns": START_NS,
        "trace_id": TRACE_A,
        "created_ns": START_NS,
        "updated_ns": START_NS,
    }
    fields.update(overrides)
    return Score(**fields)


def write_scores(store: Store, *scores: Score, project_id: str = PROJECT_ID) -> None:
    store.write([MappedBatch(project_id, (), scores=scores)])


def trace_in(session_id: str | None, trace_id: str = TRACE_A, **overrides: Any) -> MappedBatch:
    attributes = TraceAttributes(session_id=session_id, session_source="session.id")
    return make_batch(make_observation(trace_id=trace_id, trace=attributes, **overrides))


def test_scores_round_trip_every_field(store: Store) -> None:
    full = make_score("s1", name="mood", data_type="CATEGORICAL", value=None,
                      string_value="happy", observation_id="o1", source="EVAL", comment="c",
                      config_id="cfg", environment="prod", metadata={"k": [1, "x"]})  # fmt: skip
    write_scores(store, full)

    assert store.get_score(PROJECT_ID, "s1") == full
    assert store.get_score(OTHER_PROJECT, "s1") is None
    assert store.get_score(PROJECT_ID, "missing") is None


def test_a_resent_id_replaces_the_score_and_keeps_its_created_time(store: Store) -> None:
    write_scores(store, make_score("s1", value=0.1))
    write_scores(
        store, make_score("s1", value=0.9, created_ns=START_NS + 5, updated_ns=START_NS + 5)
    )

    stored = store.get_score(PROJECT_ID, "s1")
    assert stored == make_score("s1", value=0.9, updated_ns=START_NS + 5)


def test_queries_filter_and_page_newest_first(store: Store) -> None:
    scores = [
        make_score("s1", timestamp_ns=START_NS + 1),
        make_score("s2", timestamp_ns=START_NS + 2, name="mood", data_type="CATEGORICAL",
                   value=None, string_value="ok"),
        make_score("s3", timestamp_ns=START_NS + 3, trace_id=None, session_id="sess"),
        make_score("s4", timestamp_ns=START_NS + 4, trace_id=TRACE_B, observation_id="o1",
                   source="EVAL", environment="prod", config_id="c1"),
    ]  # fmt: skip
    write_scores(store, *scores)
    write_scores(store, make_score("other"), project_id=OTHER_PROJECT)

    def ids(**query: Any) -> list[str]:
        return [s.id for s in store.query_scores(PROJECT_ID, ScoreQuery(**query)).items]

    assert ids() == ["s4", "s3", "s2", "s1"]
    assert ids(trace_ids=(TRACE_A,)) == ["s2", "s1"]
    assert ids(session_ids=("sess",)) == ["s3"]
    assert ids(observation_ids=("o1",)) == ids(sources=("EVAL",)) == ["s4"]
    assert ids(names=("mood",)) == ids(data_types=("CATEGORICAL",)) == ["s2"]
    assert ids(environments=("prod",)) == ids(config_ids=("c1",)) == ["s4"]
    assert ids(ids=("s1", "s3", "nope")) == ["s3", "s1"]
    assert ids(from_ns=START_NS + 2, to_ns=START_NS + 4) == ["s3", "s2"]
    page = store.query_scores(PROJECT_ID, ScoreQuery(limit=2, offset=2))
    assert [s.id for s in page.items] == ["s2", "s1"] and page.total == 4


def test_deleting_a_score_reports_whether_it_existed(store: Store) -> None:
    write_scores(store, make_score("s1"))

    assert not store.delete_score(OTHER_PROJECT, "s1")
    assert store.delete_score(PROJECT_ID, "s1")
    assert not store.delete_score(PROJECT_ID, "s1")
    assert store.get_score(PROJECT_ID, "s1") is None


# -- Session aggregates ----------------------------------------------------------------------


def session_scores(store: Store, session_id: str) -> dict[str, ScoreAggregate]:
    session = store.get_session(PROJECT_ID, session_id)
    assert session is not None
    return dict(session.scores)


def test_a_session_aggregates_its_own_its_traces_and_their_observations_scores(
    store: Store,
) -> None:
    store.write([trace_in("chat"), trace_in("elsewhere", TRACE_B, id="c" * 16)])
    on_session = make_score("s1", trace_id=None, session_id="chat", value=0.25)
    on_trace = make_score("s2", value=0.75)
    on_observation = make_score("s3", observation_id="o1", name="mood", data_type="CATEGORICAL",
                                value=None, string_value="happy")  # fmt: skip
    elsewhere = make_score("s4", trace_id=TRACE_B, value=100.0)
    write_scores(store, on_session, on_trace, on_observation, elsewhere)

    assert session_scores(store, "chat") == aggregate_scores([on_session, on_trace, on_observation])
    assert session_scores(store, "elsewhere") == aggregate_scores([elsewhere])


def test_a_score_before_its_trace_counts_once_the_trace_arrives(store: Store) -> None:
    early = make_score("s1", value=0.5)
    write_scores(store, early)
    store.write([trace_in("chat")])

    assert session_scores(store, "chat") == aggregate_scores([early])


def test_scores_follow_their_trace_to_another_session(store: Store) -> None:
    store.write([trace_in("old")])
    score = make_score("s1")
    write_scores(store, score)
    late_root = make_observation(
        trace_id=TRACE_A, id="d" * 16, start_ns=START_NS - 10,
        trace=TraceAttributes(session_id="new", session_source="session.id"),
    )  # fmt: skip
    store.write([make_batch(late_root)])

    assert session_scores(store, "new") == aggregate_scores([score])
    store.write([trace_in("old", TRACE_B, id="e" * 16)])
    assert session_scores(store, "old") == {}


def test_replacing_or_deleting_a_score_refolds_its_sessions(store: Store) -> None:
    store.write([trace_in("one"), trace_in("two", TRACE_B, id="c" * 16)])
    write_scores(store, make_score("s1"))
    moved = make_score("s1", trace_id=TRACE_B, value=3.0)
    write_scores(store, moved)

    assert session_scores(store, "one") == {}
    assert session_scores(store, "two") == aggregate_scores([moved])
    store.delete_score(PROJECT_ID, "s1")
    assert session_scores(store, "two") == {}
