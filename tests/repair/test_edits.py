from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skein.fold import fold_session
from skein.repair.edits import EditError, Merge, Move, Rename, Split, perform, undo
from skein.repair.model import AlreadyUndone
from skein.store import open_store
from skein.store.base import Store
from tests.repair.factories import open_test_store, session_of, snapshot, write_specs
from tests.store.factories import PROJECT_ID
from tests.store.query_factories import TraceSpec, trace_id_of

# Sessions a (3 turns), b (2 turns), and trace 5 without a session.
SPECS = (
    TraceSpec(0, session_id="a", start_s=0, tokens=10, cost=0.1),
    TraceSpec(1, session_id="a", start_s=10, tokens=20),
    TraceSpec(2, session_id="a", start_s=20, tokens=30),
    TraceSpec(3, session_id="b", start_s=5, tokens=40),
    TraceSpec(4, session_id="b", start_s=15, tokens=50),
    TraceSpec(5, start_s=30, tokens=60),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgresql":
        opened = open_store(request.getfixturevalue("postgres_url"))
        opened.create_project("test", PROJECT_ID)
    else:
        opened = open_test_store(tmp_path)
    write_specs(opened, SPECS)
    yield opened
    opened.close()


def assert_rollups_match(store: Store) -> None:
    for session in store.list_sessions(PROJECT_ID, limit=100):
        traces = store.list_traces(PROJECT_ID, session_id=session.session_id, limit=100)
        assert session == fold_session(session.session_id, traces, session.scores)


def test_rename_moves_every_turn_and_refolds(store: Store) -> None:
    entry = perform(store, PROJECT_ID, Rename("a", "renamed"), actor="pk-1")
    assert [session_of(store, i) for i in range(3)] == ["renamed"] * 3
    assert store.get_session(PROJECT_ID, "a") is None
    renamed = store.get_session(PROJECT_ID, "renamed")
    assert (
        renamed is not None and renamed.total_tokens == 60 and renamed.sources == ("edit:rename",)
    )
    assert entry.actor == "pk-1" and entry.operation == "rename"
    assert set(entry.previous) == {trace_id_of(i) for i in range(3)}
    assert entry.sessions == ("a", "renamed")
    assert_rollups_match(store)


def test_merge_split_and_move(store: Store) -> None:
    perform(store, PROJECT_ID, Merge(("a", "b"), "ab"), actor="ui")
    assert store.get_session(PROJECT_ID, "ab").trace_count == 5  # type: ignore[union-attr]
    perform(store, PROJECT_ID, Split("ab", 3, "ab-2"), actor="ui")
    # Turn order is start order: 0 (0s), 3 (5s), 1 (10s) stay; 4 (15s), 2 (20s) go.
    assert [session_of(store, i) for i in (0, 3, 1, 4, 2)] == ["ab"] * 3 + ["ab-2"] * 2
    perform(store, PROJECT_ID, Move((trace_id_of(5),), "ab-2"), actor="ui")
    perform(store, PROJECT_ID, Move((trace_id_of(0),), None), actor="ui")
    assert session_of(store, 5) == "ab-2" and session_of(store, 0) is None
    assert_rollups_match(store)


def test_assignment_survives_later_ingestion(store: Store) -> None:
    perform(store, PROJECT_ID, Rename("a", "kept"), actor="ui")
    write_specs(store, [TraceSpec(0, session_id="a", start_s=0, tokens=11)])  # a re-sent span
    assert session_of(store, 0) == "kept"
    assert store.get_session(PROJECT_ID, "a") is None
    assert_rollups_match(store)


def test_undo_restores_and_cannot_repeat(store: Store) -> None:
    before = snapshot(store)
    entry = perform(store, PROJECT_ID, Merge(("a",), "b"), actor="ui")
    undone = undo(store, PROJECT_ID, entry.id, actor="ui")
    assert snapshot(store) == before
    assert store.get_audit(PROJECT_ID, entry.id).undone_by == undone.id  # type: ignore[union-attr]
    with pytest.raises(AlreadyUndone):
        undo(store, PROJECT_ID, entry.id, actor="ui")
    with pytest.raises(EditError):
        undo(store, PROJECT_ID, "no-such-entry", actor="ui")


def test_audit_lists_by_session_newest_first(store: Store) -> None:
    first = perform(store, PROJECT_ID, Rename("a", "c"), actor="ui")
    second = perform(store, PROJECT_ID, Rename("b", "d"), actor="ui")
    assert [e.id for e in store.list_audit(PROJECT_ID)] == [second.id, first.id]
    assert [e.id for e in store.list_audit(PROJECT_ID, session_id="a")] == [first.id]
    assert store.list_audit("other-project") == []


@pytest.mark.parametrize(
    "edit",
    [Rename("missing", "x"), Split("a", 0, "x"), Split("a", 3, "x"), Merge(("a",), "a"),
     Move(("f" * 32,), "x"), Rename("a", "")],
)  # fmt: skip
def test_bad_edits_are_refused(store: Store, edit: Rename | Split | Merge | Move) -> None:
    before = snapshot(store)
    with pytest.raises(EditError):
        perform(store, PROJECT_ID, edit, actor="ui")
    assert snapshot(store) == before


def test_deleting_a_trace_drops_its_assignment(store: Store) -> None:
    perform(store, PROJECT_ID, Move((trace_id_of(5),), "z"), actor="ui")
    store.delete_traces(PROJECT_ID, [trace_id_of(5)])
    write_specs(store, [TraceSpec(5, start_s=30)])
    assert session_of(store, 5) is None


SESSION_NAMES = st.sampled_from(["a", "b", "c", "d"])
EDITS = st.one_of(
    st.builds(Rename, SESSION_NAMES, SESSION_NAMES),
    st.builds(Merge, st.tuples(SESSION_NAMES, SESSION_NAMES), SESSION_NAMES),
    st.builds(Split, SESSION_NAMES, st.integers(0, 3), SESSION_NAMES),
    st.builds(
        Move,
        st.lists(st.sampled_from([trace_id_of(i) for i in range(6)]), min_size=1, max_size=3,
                 unique=True).map(tuple),
        st.one_of(st.none(), SESSION_NAMES),
    ),
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(EDITS, min_size=1, max_size=6))
def test_undoing_any_edits_in_reverse_restores_everything(
    tmp_path_factory: pytest.TempPathFactory, edits: list[Rename | Merge | Split | Move]
) -> None:
    store = open_test_store(tmp_path_factory.mktemp("edits"))
    try:
        write_specs(store, SPECS)
        before = (
            snapshot(store),
            store.get_assignments(PROJECT_ID, [trace_id_of(i) for i in range(6)]),
        )
        applied = []
        for edit in edits:
            try:
                applied.append(perform(store, PROJECT_ID, edit, actor="h"))
            except EditError:
                pass
            assert_rollups_match(store)
        for entry in reversed(applied):
            undo(store, PROJECT_ID, entry.id, actor="h")
        after = (
            snapshot(store),
            store.get_assignments(PROJECT_ID, [trace_id_of(i) for i in range(6)]),
        )
        assert after == before
    finally:
        store.close()
