"""Edits that retire a session id (rename, merge) carry its session-level scores, comments
and bookmark to the new id; undo puts back exactly what they moved. Both backends."""

from __future__ import annotations

from skein.fold import aggregate_scores
from skein.records import MappedBatch, Score
from skein.repair.edits import Merge, Move, Rename, Split, perform, undo
from skein.repair.model import SessionDataMove, audit_from_json, audit_json
from skein.scores import ScoreQuery
from skein.store.base import Comment, Store
from tests.repair.test_edits import assert_rollups_match, store
from tests.store.factories import PROJECT_ID, START_NS
from tests.store.query_factories import trace_id_of

__all__ = ["store"]  # fixture


def session_score(score_id: str, session_id: str, value: float) -> Score:
    return Score(
        id=score_id, name="quality", data_type="NUMERIC", value=value, string_value=None,
        timestamp_ns=START_NS, trace_id=None, session_id=session_id,
        created_ns=START_NS, updated_ns=START_NS,
    )  # fmt: skip


def comment_on(comment_id: str, session_id: str, object_type: str = "session") -> Comment:
    return Comment(comment_id, object_type, session_id, f"note {comment_id}", "admin", START_NS)


def add_scores(store: Store, *scores: Score) -> None:
    store.write([MappedBatch(PROJECT_ID, (), scores=scores)])


def score_ids(store: Store, session_id: str) -> set[str]:
    page = store.query_scores(PROJECT_ID, ScoreQuery(session_ids=(session_id,), limit=100))
    return {score.id for score in page.items}


def comment_ids(store: Store, session_id: str) -> list[str]:
    return [c.id for c in store.list_comments(PROJECT_ID, "session", session_id)]


def aggregates_of(store: Store, session_id: str) -> object:
    session = store.get_session(PROJECT_ID, session_id)
    assert session is not None
    return dict(session.scores)


def test_rename_carries_scores_comments_and_bookmark_and_undo_returns_them(store: Store) -> None:
    on_a = [session_score("s1", "a", 0.25), session_score("s2", "a", 0.75)]
    add_scores(store, *on_a, session_score("s3", "b", 0.5))
    store.add_comment(PROJECT_ID, comment_on("c1", "a"))
    store.add_comment(PROJECT_ID, comment_on("c2", trace_id_of(0), "trace"))
    store.set_bookmark(PROJECT_ID, "a", True)

    entry = perform(store, PROJECT_ID, Rename("a", "renamed"), actor="ui")

    assert score_ids(store, "renamed") == {"s1", "s2"} and score_ids(store, "a") == set()
    assert comment_ids(store, "renamed") == ["c1"] and comment_ids(store, "a") == []
    assert [c.id for c in store.list_comments(PROJECT_ID, "trace", trace_id_of(0))] == ["c2"]
    assert "renamed" in store.list_bookmarks(PROJECT_ID) and "a" not in store.list_bookmarks(
        PROJECT_ID
    )
    assert aggregates_of(store, "renamed") == aggregate_scores(on_a)
    assert entry.moved == (SessionDataMove("a", "renamed", ("s1", "s2"), ("c1",), True, True),)
    assert store.get_audit(PROJECT_ID, entry.id) == entry
    assert_rollups_match(store)

    later = session_score("s9", "renamed", 9.0)
    add_scores(store, later)
    store.add_comment(PROJECT_ID, comment_on("c9", "renamed"))
    undo(store, PROJECT_ID, entry.id, actor="ui")

    assert score_ids(store, "a") == {"s1", "s2"} and score_ids(store, "renamed") == {"s9"}
    assert comment_ids(store, "a") == ["c1"] and comment_ids(store, "renamed") == ["c9"]
    assert store.list_bookmarks(PROJECT_ID) == ["a"]
    assert aggregates_of(store, "a") == aggregate_scores(on_a)
    assert aggregates_of(store, "b") == aggregate_scores([session_score("s3", "b", 0.5)])
    assert_rollups_match(store)


def test_merge_carries_each_merged_session_and_keeps_the_targets_bookmark(store: Store) -> None:
    on_a, on_b = session_score("s1", "a", 1.0), session_score("s2", "b", 3.0)
    add_scores(store, on_a, on_b)
    store.add_comment(PROJECT_ID, comment_on("c1", "a"))
    store.add_comment(PROJECT_ID, comment_on("c2", "b"))
    store.set_bookmark(PROJECT_ID, "a", True)
    store.set_bookmark(PROJECT_ID, "b", True)

    entry = perform(store, PROJECT_ID, Merge(("a", "b"), "b"), actor="ui")

    assert score_ids(store, "b") == {"s1", "s2"} and comment_ids(store, "b") == ["c1", "c2"]
    assert store.list_bookmarks(PROJECT_ID) == ["b"]
    assert aggregates_of(store, "b") == aggregate_scores([on_a, on_b])
    assert entry.moved == (SessionDataMove("a", "b", ("s1",), ("c1",), True, False),)

    undo(store, PROJECT_ID, entry.id, actor="ui")

    assert score_ids(store, "a") == {"s1"} and score_ids(store, "b") == {"s2"}
    assert comment_ids(store, "a") == ["c1"] and comment_ids(store, "b") == ["c2"]
    assert set(store.list_bookmarks(PROJECT_ID)) == {"a", "b"}
    assert aggregates_of(store, "a") == aggregate_scores([on_a])
    assert aggregates_of(store, "b") == aggregate_scores([on_b])
    assert_rollups_match(store)


def test_merge_into_a_new_id_carries_every_source(store: Store) -> None:
    add_scores(store, session_score("s1", "a", 1.0), session_score("s2", "b", 2.0))
    entry = perform(store, PROJECT_ID, Merge(("a", "b"), "ab"), actor="ui")
    assert score_ids(store, "ab") == {"s1", "s2"}
    assert {m.from_session_id for m in entry.moved} == {"a", "b"}
    undo(store, PROJECT_ID, entry.id, actor="ui")
    assert score_ids(store, "a") == {"s1"} and score_ids(store, "b") == {"s2"}
    assert_rollups_match(store)


def test_split_and_move_keep_session_data_where_it_is(store: Store) -> None:
    add_scores(store, session_score("s1", "a", 1.0))
    store.add_comment(PROJECT_ID, comment_on("c1", "a"))
    store.set_bookmark(PROJECT_ID, "a", True)
    split = perform(store, PROJECT_ID, Split("a", 1, "a-2"), actor="ui")
    moved = perform(store, PROJECT_ID, Move((trace_id_of(0),), "b"), actor="ui")
    assert split.moved == () and moved.moved == ()
    assert score_ids(store, "a") == {"s1"} and comment_ids(store, "a") == ["c1"]
    assert store.list_bookmarks(PROJECT_ID) == ["a"]


def test_undoing_the_undo_moves_the_data_again(store: Store) -> None:
    add_scores(store, session_score("s1", "a", 1.0))
    entry = perform(store, PROJECT_ID, Rename("a", "renamed"), actor="ui")
    undone = undo(store, PROJECT_ID, entry.id, actor="ui")
    assert undone.moved == (SessionDataMove("renamed", "a", ("s1",)),)
    undo(store, PROJECT_ID, undone.id, actor="ui")
    assert score_ids(store, "renamed") == {"s1"} and score_ids(store, "a") == set()


def test_moves_survive_the_audit_json_round_trip(store: Store) -> None:
    add_scores(store, session_score("s1", "a", 1.0))
    store.set_bookmark(PROJECT_ID, "a", True)
    entry = perform(store, PROJECT_ID, Rename("a", "renamed"), actor="ui")
    assert entry.moved and audit_from_json(audit_json(entry)) == entry
