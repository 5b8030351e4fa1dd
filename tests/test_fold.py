"""The rules that fold observations into a trace and traces into a session."""

from __future__ import annotations

from typing import Any

from skein.fold import ScoreAggregate, aggregate_scores, depths, fold_session, fold_trace
from skein.records import TRACE_CARRIER_ID, TRACE_CARRIER_TYPE, Observation, Score
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


def test_depth_is_the_same_whichever_order_the_spans_come_in() -> None:
    deeper = make_observation(id="e" * 16, parent_id=GRANDCHILD, is_root=False)
    expected = {ROOT: 0, CHILD: 1, GRANDCHILD: 2, SIBLING: 1, "e" * 16: 3}
    spans = [*tree(), deeper]
    for order in (spans, spans[::-1], spans[2:] + spans[:2]):
        assert depths(order) == expected


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


def test_rollups_sum_and_count_over_every_observation() -> None:
    spans = [
        make_observation(
            id=f"{n:016x}",
            parent_id=None if n == 0 else "f" * 16 if n == 3 else f"{0:016x}",
            input_tokens=n,
            output_tokens=10 * n,
            total_tokens=11 * n,
            total_cost=None if n == 2 else 0.5 * n,
            level="ERROR" if n % 2 else "DEFAULT",
        )
        for n in range(5)
    ]
    summary = fold_trace(spans)
    assert (summary.input_tokens, summary.output_tokens, summary.total_tokens) == (10, 100, 110)
    assert (summary.total_cost, summary.error_count, summary.orphan_count) == (4.0, 2, 1)


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


# -- Trace carriers (a Langfuse trace-create's own values) -----------------------------------


def carrier(start_offset: int = 100, **trace: Any) -> Observation:
    return make_observation(
        id=TRACE_CARRIER_ID,
        type=TRACE_CARRIER_TYPE,
        name=trace.get("name") or "",
        start_ns=START_NS + start_offset,
        end_ns=START_NS + start_offset,
        trace=trace,
    )


def test_a_carrier_outranks_the_root_and_fills_only_what_it_sets() -> None:
    spans = tree(root={"name": "root-name", "user_id": "u-root", **session("from-root")})
    statement = carrier(**session("from-trace-create", "trace-create.sessionId"), name="chat")

    folded = fold_trace([*spans, statement])

    assert (folded.session_id, folded.session_source) == (
        "from-trace-create",
        "trace-create.sessionId",
    )
    assert folded.name == "chat" and folded.user_id == "u-root"


def test_a_carrier_is_not_counted_as_an_observation() -> None:
    spans = tree()
    with_carrier = fold_trace([*spans, carrier(start_offset=-50)])
    without = fold_trace(spans)

    assert with_carrier.observation_count == without.observation_count == 4
    assert with_carrier.root_id == without.root_id == ROOT
    assert with_carrier.start_ns == START_NS - 50 and with_carrier.name == "root"


def test_trace_io_comes_from_the_carrier_if_it_has_it_else_from_the_root() -> None:
    spans = tree()

    assert fold_trace([*spans, carrier(input="q")]).input_id == TRACE_CARRIER_ID
    assert fold_trace([*spans, carrier()]).input_id == ROOT


def test_a_trace_of_only_a_carrier_has_no_root_and_no_observations() -> None:
    folded = fold_trace([carrier(name="lonely", **session("s1"))])

    assert (folded.root_id, folded.observation_count, folded.name) == (None, 0, "lonely")
    assert folded.session_id == "s1"


# -- Score aggregates ------------------------------------------------------------------------


def score(name: str, data_type: str, value: float | None, text: str | None = None) -> Score:
    return Score(f"{name}-{value}-{text}", name, data_type, value, text, START_NS)


def test_numeric_scores_are_summarised_and_the_others_counted_per_value() -> None:
    scores = [
        score("quality", "NUMERIC", 0.5),
        score("quality", "NUMERIC", 1.0),
        score("quality", "NUMERIC", 0.0),
        score("mood", "CATEGORICAL", None, "happy"),
        score("mood", "CATEGORICAL", None, "sad"),
        score("mood", "CATEGORICAL", None, "happy"),
        score("ok", "BOOLEAN", 1.0, "True"),
    ]

    aggregates = aggregate_scores(reversed(scores))

    assert list(aggregates) == ["mood", "ok", "quality"]
    assert aggregates["quality"] == ScoreAggregate("NUMERIC", 3, 0.5, 0.0, 1.0, {})
    assert aggregates["mood"] == ScoreAggregate("CATEGORICAL", 3, values={"happy": 2, "sad": 1})
    assert aggregates["ok"] == ScoreAggregate("BOOLEAN", 1, values={"True": 1})


def test_a_name_with_several_types_is_mixed() -> None:
    aggregate = aggregate_scores([score("x", "NUMERIC", 2.0), score("x", "BOOLEAN", 0.0, "False")])

    assert aggregate["x"] == ScoreAggregate("MIXED", 2, 2.0, 2.0, 2.0, {"False": 1})


def test_a_session_carries_the_aggregates_it_is_given() -> None:
    trace = fold_trace(tree(root=session("s1")))
    aggregates = aggregate_scores([score("q", "NUMERIC", 1.0)])

    assert fold_session("s1", [trace], aggregates).scores == aggregates
    assert fold_session("s1", [trace]).scores == {}
