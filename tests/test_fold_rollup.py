"""The parts of the fold a store reads less of: a session folded from its traces' rollups
(`TraceRollup`) equals the session folded from their summaries, and a trace's winning values
are found in one pass as the first in rank order that has each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from skein.fold import TraceRollup, TraceSummary, _winners, fold_session, fold_trace, rank
from skein.records import TRACE_CARRIER_TYPE, Observation, TraceAttributes
from tests.store.factories import START_NS, make_observation

IDS = [f"{n:016x}" for n in range(1, 6)]


@st.composite
def observations(draw: st.DrawFn) -> list[Observation]:
    """A trace's observations: any parents (cycles too), values often unset or empty."""
    found = []
    for span_id in draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True)):
        trace = TraceAttributes(
            session_id=draw(st.sampled_from((None, "", "s1", "s2"))),
            user_id=draw(st.sampled_from((None, "u1"))),
            name=draw(st.sampled_from((None, "", "turn"))),
            tags=tuple(draw(st.sets(st.sampled_from("ab")))),
            input=draw(st.sampled_from((None, "", "question"))),
            output=draw(st.sampled_from((None, "answer"))),
        )
        found.append(
            make_observation(
                id=span_id,
                parent_id=draw(st.sampled_from((None, "f" * 16, *IDS))),
                is_root=draw(st.booleans()),
                type=draw(st.sampled_from(("SPAN", "GENERATION", TRACE_CARRIER_TYPE))),
                start_ns=START_NS + draw(st.integers(0, 3)),
                environment=draw(st.sampled_from(("default", "", "prod"))),
                release=draw(st.sampled_from((None, "", "r1"))),
                version=draw(st.sampled_from((None, "v1"))),
                total_cost=draw(st.sampled_from((None, 0.1, 0.2, 0.7))),
                input_tokens=draw(st.integers(0, 9)),
                trace=trace,
            )
        )
    return found


def first_with(ranked: list[Observation], get: Callable[[Observation], Any]) -> Any:
    return next((o for o in ranked if get(o) is not None), None)


@given(observations())
def test_each_winner_is_the_first_in_rank_order_with_its_value(found: list[Observation]) -> None:
    ranked = rank(found)

    winners = _winners(ranked)

    assert winners.session is first_with(ranked, lambda o: o.trace.session_id)
    assert winners.user is first_with(ranked, lambda o: o.trace.user_id)
    assert winners.name is first_with(ranked, lambda o: o.trace.name)
    named = first_with(ranked, lambda o: None if o.environment == "default" else o.environment)
    assert winners.environment is named
    assert winners.release is first_with(ranked, lambda o: o.release)
    assert winners.version is first_with(ranked, lambda o: o.version)
    assert winners.input is first_with(ranked, lambda o: o.trace.input)
    assert winners.output is first_with(ranked, lambda o: o.trace.output)


def rollup(trace: TraceSummary) -> TraceRollup:
    return TraceRollup(*(getattr(trace, name) for name in TraceRollup._fields))


@given(st.lists(observations(), min_size=1, max_size=4))
def test_a_session_of_rollups_is_the_session_of_summaries(traces: list[list[Observation]]) -> None:
    summaries = [fold_trace(found) for found in traces]

    from_rollups = fold_session("s1", [rollup(t) for t in summaries])

    assert from_rollups == fold_session("s1", summaries)
    assert from_rollups.trace_count == len(traces)
