from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from skein.repair.inference import (
    history_confirmation,
    infer_groups,
    inferred_changes,
    repeats_history,
)
from skein.repair.model import Candidate

MINUTE = 60 * 10**9


def candidate(index: int, start_min: int, user: str | None = "u", **fields: object) -> Candidate:
    start = start_min * MINUTE
    values: dict[str, object] = {"session_id": None, "session_source": None, **fields}
    return Candidate(f"t{index}", start, start + MINUTE // 2, user, **values)  # type: ignore[arg-type]


def test_gaps_cut_groups_per_user_and_lone_traces_stay_out() -> None:
    traces = [candidate(0, 0), candidate(1, 10), candidate(2, 100), candidate(3, 5, "v"),
              candidate(4, 6, None), candidate(5, 7, None)]  # fmt: skip
    groups = infer_groups(traces, gap_ns=30 * MINUTE)
    assert [[c.trace_id for c in g] for g in groups] == [["t0", "t1"], ["t2"], ["t3"]]
    changes = inferred_changes(groups, "infer:gap=30m")
    assert set(changes) == {"t0", "t1"} and len({a.session_id for a in changes.values()}) == 1


def test_new_turns_join_the_inferred_session() -> None:
    earlier = candidate(0, 0, session_id="inferred-x", session_source="infer:gap=30m")
    changes = inferred_changes(infer_groups([earlier, candidate(1, 5)], 30 * MINUTE), "infer:")
    assert {t: a.session_id for t, a in changes.items()} == {"t1": "inferred-x"}


@given(st.lists(st.integers(0, 500), min_size=1, max_size=12, unique=True))
def test_inference_is_idempotent(starts: list[int]) -> None:
    traces = [candidate(i, s) for i, s in enumerate(starts)]
    first = inferred_changes(infer_groups(traces, 30 * MINUTE), "infer:gap=30m")
    applied = [
        Candidate(t.trace_id, t.start_ns, t.end_ns, t.user_id,
                  first[t.trace_id].session_id, "infer:gap=30m") if t.trace_id in first else t
        for t in traces
    ]  # fmt: skip
    assert inferred_changes(infer_groups(applied, 30 * MINUTE), "infer:gap=30m") == {}


def test_history_confirmation() -> None:
    turn_1 = json.dumps([{"role": "user", "content": "hi"}])
    turn_2 = json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                         {"role": "user", "content": "more"}])  # fmt: skip
    assert repeats_history(turn_1, turn_2)
    assert not repeats_history(turn_2, turn_1)
    assert not repeats_history(turn_1, json.dumps([{"role": "user", "content": "other"}]))
    confirm = history_confirmation({"t0": turn_1, "t1": turn_2, "t2": turn_1})
    traces = [candidate(0, 0), candidate(1, 1), candidate(2, 2)]
    groups = infer_groups(traces, 30 * MINUTE, confirm)
    assert [[c.trace_id for c in g] for g in groups] == [["t0", "t1"], ["t2"]]
