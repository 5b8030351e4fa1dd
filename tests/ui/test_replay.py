from __future__ import annotations

import json
from typing import Any

from skein.fold import TraceSummary
from skein.records import Score
from skein.store.base import TraceIO
from skein.ui.replay import GAP_NS, build_turns, context_of, label_of, trace_version
from skein.ui.values import MESSAGES
from tests.store.factories import START_NS, make_observation

SECOND = 1_000_000_000


def trace(n: int, start_ns: int, **overrides: Any) -> TraceSummary:
    fields: dict[str, Any] = {
        "trace_id": f"{n:032x}",
        "start_ns": start_ns,
        "end_ns": start_ns + SECOND,
        "session_id": "s",
    }
    fields.update(overrides)
    return TraceSummary(**fields)


def conversation(turns: int) -> tuple[list[TraceSummary], dict[str, TraceIO]]:
    """A chat whose every input repeats the whole history, as chat apps send it."""
    history: list[dict[str, str]] = [{"role": "system", "content": "S"}]
    traces, io = [], {}
    for n in range(turns):
        messages = [*history, {"role": "user", "content": f"q{n}"}]
        answer = {"role": "assistant", "content": f"a{n}"}
        t = trace(n, START_NS + n * 60 * SECOND)
        traces.append(t)
        io[t.trace_id] = TraceIO(json.dumps(messages), json.dumps(answer))
        history = [*messages, answer]
    return traces, io


def texts(shown: Any) -> list[str]:
    assert shown.kind == MESSAGES
    return [m.text for m in shown.messages]


def test_each_turn_shows_only_its_new_messages() -> None:
    traces, io = conversation(3)
    turns = build_turns(traces, io, [], 0)
    assert [texts(t.input) for t in turns] == [["S", "q0"], ["q1"], ["q2"]]
    assert [t.hidden for t in turns] == [0, 3, 5]
    assert [texts(t.output) for t in turns] == [["a0"], ["a1"], ["a2"]]
    assert [t.number for t in turns] == [1, 2, 3]


def test_a_later_page_uses_the_turn_before_it() -> None:
    traces, io = conversation(4)
    before = context_of(traces[1], io[traces[1].trace_id])
    turns = build_turns(traces[2:], io, [], 2, before)
    assert [texts(t.input) for t in turns] == [["q2"], ["q3"]]
    assert [t.number for t in turns] == [3, 4]


def test_long_idle_time_between_turns_is_a_gap() -> None:
    first = trace(1, START_NS)
    second = trace(2, first.end_ns + GAP_NS + SECOND)
    third = trace(3, second.end_ns + SECOND)
    turns = build_turns([first, second, third], {}, [], 0)
    assert [t.gap_ns for t in turns] == [None, GAP_NS + SECOND, None]


def test_output_repeating_the_input_state_shows_only_the_reply() -> None:
    t = trace(1, START_NS)
    state_in = {"messages": [{"type": "human", "content": "go"}]}
    state_out = {"messages": [{"type": "human", "content": "go"}, {"type": "ai", "content": "ok"}]}
    io = {t.trace_id: TraceIO(json.dumps(state_in), json.dumps(state_out))}
    (turn,) = build_turns([t], io, [], 0)
    assert texts(turn.output) == ["ok"]


def test_tools_retrievers_and_errors_are_steps_with_io_for_tools() -> None:
    t = trace(1, START_NS)
    spans = [
        make_observation(id="r", trace_id=t.trace_id, name="turn"),
        make_observation(id="g", trace_id=t.trace_id, parent_id="r", type="GENERATION",
                         name="llm", start_ns=START_NS + 1, model="m", total_tokens=9),
        make_observation(id="t", trace_id=t.trace_id, parent_id="r", type="TOOL",
                         name="weather", start_ns=START_NS + 2, input='{"city": "Rome"}',
                         output='{"temp": 20}'),
        make_observation(id="e", trace_id=t.trace_id, parent_id="r", name="parse",
                         start_ns=START_NS + 3, level="ERROR", status_message="bad json"),
    ]  # fmt: skip
    (turn,) = build_turns([t], {}, spans, 0)
    assert [(s.name, s.type) for s in turn.steps] == [
        ("llm", "GENERATION"), ("weather", "TOOL"), ("parse", "SPAN"),
    ]  # fmt: skip
    tool = turn.steps[1]
    assert (tool.input, tool.output) == ('{"city": "Rome"}', '{"temp": 20}')
    assert turn.steps[2].status_message == "bad json"
    assert turn.steps[0].input == ""


def test_scores_attach_to_their_turn() -> None:
    t1, t2 = trace(1, START_NS), trace(2, START_NS + 60 * SECOND)
    scores = [
        Score("a", "helpful", "BOOLEAN", 1.0, "True", START_NS, trace_id=t2.trace_id),
        Score("b", "quality", "NUMERIC", 0.75, None, START_NS, trace_id=t2.trace_id),
        Score("c", "session-level", "NUMERIC", 1.0, None, START_NS, session_id="s"),
    ]
    turns = build_turns([t1, t2], {}, [], 0, scores=scores)
    assert turns[0].scores == ()
    assert [(s.name, s.label) for s in turns[1].scores] == [
        ("helpful", "True"),
        ("quality", "0.75"),
    ]


def test_score_labels() -> None:
    categorical = Score("x", "mood", "CATEGORICAL", 2.0, "happy", START_NS)
    assert label_of(categorical) == "happy"
    assert label_of(Score("y", "n", "NUMERIC", 3.0, None, START_NS)) == "3"


def test_the_version_changes_when_the_trace_grows() -> None:
    t = trace(1, START_NS)
    grown = trace(1, START_NS, end_ns=t.end_ns + 1, observation_count=2)
    assert trace_version(t) != trace_version(grown)
    assert trace_version(t) == trace_version(trace(1, START_NS))
