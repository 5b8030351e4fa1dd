"""The rules that fold observations into a trace and traces into a session."""

from __future__ import annotations

from typing import Any

from skein.fold import depths, fold_session, fold_trace
from skein.records import Observation
from tests.store.factories import START_NS, make_observation

ROOT, CHILD, GRANDCHILD, SIBLING = "a" * 16, "b" * 16, "c" * 16, "d" * 16


def tree(**trace_attributes: dict[str, Any]) -> list[Observation]:
    """root → child → grandchild, root → sibling (started last); attributes per span name."""
    shape = [
        (ROOT, None, 0, "root"),
        (CHILD, ROOT, 10, "child"),
        (GRANDCHILD, CHILD, 20, "grandchild"),
        (SIBLING, ROOT, 30, "sibling"),
    ]
    return [
        make_observation(
            id=span_id,
            parent_id=parent,
            name=name,
            start_ns=START_NS + offset,
            end_ns=START_NS + offset + 5,
            trace=trace_attributes.get(name, {}),
        )
        for span_id, parent, offset, name in shape
    ]


def session(session_id: str, source: str = "session.id") -> dict[str, Any]:
    return {"session_id": session_id, "session_source": source}


def test_depth_counts_known_ancestors_and_orphans_start_at_zero() -> None:
    orphan = make_observation(id="e" * 16, parent_id="f" * 16, is_root=False)
    found = depths([*tree(), orphan])
    assert found == {ROOT: 0, CHILD: 1, GRANDCHILD: 2, SIBLING: 1, "e" * 16: 0}


def test_depth_survives_a_parent_cycle() -> None:
    a = make_observation(id=ROOT, parent_id=CHILD, is_root=False)
    b = make_observation(id=CHILD, parent_id=ROOT, is_root=False)
    assert set(depths([a, b])) == {ROOT, CHILD}


def test_root_value_wins_over_deeper_ones() -> None:
    summary = fold_trace(tree(root=session("from-root"), child=session("from-child")))
    assert summary.session_id == "from-root"


def test_shallowest_value_wins_when_the_root_has_none() -> None:
    summary = fold_trace(
        tree(grandchild=session("deep"), sibling=session("shallow", "gen_ai.conversation.id"))
    )
    assert (summary.session_id, summary.session_source) == ("shallow", "gen_ai.conversation.id")


def test_ties_go_to_the_earliest_start() -> None:
    summary = fold_trace(tree(child=session("early"), sibling=session("late")))
    assert summary.session_id == "early"


def test_as_root_span_counts_as_a_root_despite_its_parent() -> None:
    remote_parent = "9" * 16
    as_root = make_observation(
        id=ROOT,
        parent_id=remote_parent,
        is_root=True,
        start_ns=START_NS + 50,
        trace=session("as-root"),
    )
    orphan = make_observation(
        id=CHILD, parent_id="8" * 16, is_root=False, start_ns=START_NS, trace=session("orphan")
    )
    summary = fold_trace([orphan, as_root])
    assert summary.session_id == "as-root"
    assert summary.orphan_count == 1


def test_a_late_session_on_a_nested_span_reaches_the_trace() -> None:
    summary = fold_trace(tree(grandchild={**session("late"), "user_id": "u1"}))
    assert (summary.session_id, summary.user_id) == ("late", "u1")


def test_result_does_not_depend_on_order() -> None:
    spans = tree(child=session("x"), sibling=session("y"), grandchild={"tags": ("a",)})
    assert fold_trace(spans) == fold_trace(list(reversed(spans)))


def test_rollups_cover_observations_without_the_id() -> None:
    spans = tree(root=session("s"))
    spans[2] = make_observation(
        id=GRANDCHILD,
        parent_id=CHILD,
        input_tokens=10,
        output_tokens=5,
        total_tokens=15,
        total_cost=0.25,
        level="ERROR",
    )
    summary = fold_trace(spans)
    assert (summary.total_tokens, summary.total_cost, summary.error_count) == (15, 0.25, 1)
    assert summary.observation_count == 4


def test_trace_level_values_merge() -> None:
    summary = fold_trace(
        tree(
            root={"metadata": {"k": "root", "r": 1}, "tags": ("b",)},
            child={"metadata": {"k": "child", "c": 2}, "tags": ("a", "b"), "public": True},
        )
    )
    assert summary.metadata == {"k": "root", "r": 1, "c": 2}
    assert summary.tags == ("a", "b")
    assert summary.public is True


def test_name_falls_back_to_the_root_observation() -> None:
    assert fold_trace(tree()).name == "root"
    assert fold_trace(tree(child={"name": "chat turn"})).name == "chat turn"


def test_trace_io_comes_from_the_span_that_set_it_else_the_root() -> None:
    summary = fold_trace(tree(child={"input": "question"}))
    assert (summary.input_id, summary.output_id) == (CHILD, ROOT)


def test_session_rolls_up_its_traces() -> None:
    first = fold_trace(tree(root={**session("s"), "user_id": "u2", "tags": ("x",)}))
    later = [
        make_observation(
            trace_id="2" * 32,
            start_ns=START_NS + 1000,
            end_ns=START_NS + 4000,
            total_tokens=7,
            input_tokens=7,
            total_cost=1.5,
            trace={**session("s"), "user_id": "u1"},
        )
    ]
    second = fold_trace(later)
    rolled = fold_session("s", [first, second])
    assert rolled.trace_count == 2
    assert (rolled.first_ns, rolled.last_ns) == (START_NS, START_NS + 4000)
    assert rolled.duration_ns == 4000
    assert (rolled.total_tokens, rolled.total_cost) == (7, 1.5)
    assert rolled.user_ids == ("u1", "u2") and rolled.tags == ("x",)
    assert rolled.sources == ("session.id",)
