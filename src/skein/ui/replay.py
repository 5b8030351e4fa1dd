"""A session as a conversation: its traces as turns, each with the messages that are new.

`build_turns` is pure: given a page of traces in start order, their input/output text and
their observations (without I/O), it makes the turns a replay page shows. The turn before
the page, when there is one, is passed too, so the first turn of a later page hides the
history the page before already showed, and its idle gap is known.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skein.fold import TraceSummary
from skein.records import Observation, Score
from skein.store.base import TraceIO
from skein.ui import format
from skein.ui.messages import Message, decode, echoed_input, new_messages, parse_messages
from skein.ui.values import MESSAGES, PARSE_LIMIT, Shown, data_preview, show_value

GAP_NS = 5 * 60 * 1_000_000_000  # idle time shown between turns
STEP_TYPES = frozenset({"GENERATION", "TOOL", "RETRIEVER", "EMBEDDING", "GUARDRAIL", "AGENT"})
IO_STEP_TYPES = ("TOOL", "RETRIEVER")  # their I/O is shown in one line
MAX_STEPS = 12


@dataclass(frozen=True, slots=True)
class Step:
    """An observation worth seeing inline in a turn: a model call, a tool, an error."""

    id: str
    name: str
    type: str
    level: str
    duration_ns: int
    model: str | None
    tokens: int
    cost: float | None
    status_message: str | None
    input: str = ""  # one line, for tools and retrievers
    output: str = ""


@dataclass(frozen=True, slots=True)
class ScoreLabel:
    """A score on a turn (its trace or one of its observations), as a chip shows it."""

    name: str
    label: str
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    index: int  # position in the session, from 0
    trace: TraceSummary
    input: Shown
    hidden: int  # leading input messages repeated from the turns before
    output: Shown
    steps: tuple[Step, ...]
    more_steps: int
    gap_ns: int | None  # idle time before this turn, when long
    version: str  # changes whenever the trace does (the live refresh compares it)
    scores: tuple[ScoreLabel, ...] = ()
    offset: int = 0  # index of the first shown input message among all of them

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True, slots=True)
class Context:
    """What the turn before a page left: its end, its input's message items as decoded
    JSON (compared as they are, which is fast), and its output messages."""

    end_ns: int
    items: list[Any] | None
    output: tuple[Message, ...] | None

    def input(self) -> tuple[Message, ...] | None:
        return parse_messages(self.items, "input") if self.items else None


def build_turns(
    traces: Sequence[TraceSummary],
    io: Mapping[str, TraceIO],
    observations: Iterable[Observation],
    first_index: int,
    before: Context | None = None,
    scores: Iterable[Score] = (),
) -> list[Turn]:
    """The turns of a page of a session's traces (in start order).

    `observations` may leave out I/O (only tools' and retrievers' I/O is shown, in one line);
    `scores` are those of the traces and their observations.
    """
    steps = steps_by_trace(observations)
    labels = score_labels(scores)
    turns: list[Turn] = []
    previous = before
    for offset, trace in enumerate(traces):
        trace_io = io.get(trace.trace_id, TraceIO())
        turn, previous = _turn(trace, trace_io, steps.get(trace.trace_id, []), previous)
        extra = labels.get(trace.trace_id, ())
        turns.append(dataclasses.replace(turn, index=first_index + offset, scores=extra))
    return turns


def score_labels(scores: Iterable[Score]) -> dict[str, tuple[ScoreLabel, ...]]:
    """Each trace's scores as chips, oldest first."""
    found: dict[str, list[ScoreLabel]] = defaultdict(list)
    for score in sorted(scores, key=lambda s: (s.timestamp_ns, s.id)):
        if score.trace_id is not None:
            found[score.trace_id].append(ScoreLabel(score.name, label_of(score), score.comment))
    return {trace_id: tuple(labels) for trace_id, labels in found.items()}


def label_of(score: Score) -> str:
    """A score's value as shown: the category or boolean text, else the number."""
    if score.string_value is not None and score.data_type != "NUMERIC":
        return score.string_value
    return format.score_value(score.value)


def context_of(trace: TraceSummary, io: TraceIO) -> Context:
    """The context a trace leaves for the turn after it."""
    items = message_items(_decoded(io.input))
    return Context(trace.end_ns, items, _messages(show_value(io.output, "output")))


def _turn(
    trace: TraceSummary, io: TraceIO, steps: list[Step], previous: Context | None
) -> tuple[Turn, Context]:
    value = _decoded(io.input)
    items = message_items(value)
    shown_in, hidden, offset = _new_input(io, value, items, previous)
    shown_out = _output(io, items, shown_in if not hidden else None)
    gap = trace.start_ns - previous.end_ns if previous is not None else None
    turn = Turn(
        index=0,
        trace=trace,
        input=shown_in,
        hidden=hidden,
        output=shown_out,
        steps=tuple(steps[:MAX_STEPS]),
        more_steps=max(0, len(steps) - MAX_STEPS),
        gap_ns=gap if gap is not None and gap >= GAP_NS else None,
        version=trace_version(trace),
        offset=offset,
    )
    return turn, Context(trace.end_ns, items, _messages(shown_out))


def _new_input(
    io: TraceIO, value: Any, items: list[Any] | None, previous: Context | None
) -> tuple[Shown, int, int]:
    """The input's new messages, how many were hidden, and the index of the first shown.

    Fast path: the raw items start with the previous input's items (equal as decoded JSON),
    so only the rest is parsed. Otherwise every message is parsed and compared.
    """
    size = len(io.input or "")
    hidden = raw_history(previous, items)
    if hidden and items is not None:
        rest = parse_messages(items[hidden:], "input")
        extra = 1 if isinstance(value, Mapping) and value.get("system") else 0
        if rest is not None:
            return Shown(MESSAGES, rest, size=size), hidden, hidden + extra
    shown = show_value(io.input, "input")
    every = _messages(shown)
    if every is None or previous is None:
        return shown, 0, 0
    hidden = new_messages(previous.input(), previous.output, every)
    if not hidden:
        return shown, 0, 0
    return Shown(MESSAGES, every[hidden:], size=size), hidden, hidden


def _output(io: TraceIO, items: list[Any] | None, shown_in: Shown | None) -> Shown:
    """The output's messages, without a repeat of the input (a LangGraph state's messages)."""
    shown = show_value(io.output, "output")
    outputs = _messages(shown)
    if outputs is None:
        return shown
    out_items = message_items(_decoded(io.output))
    if items and out_items and len(out_items) > len(items) and out_items[: len(items)] == items:
        rest = parse_messages(out_items[len(items) :], "output")
        return Shown(MESSAGES, rest, size=shown.size) if rest else shown
    inputs = _messages(shown_in) if shown_in is not None else None
    echoed = echoed_input(inputs, outputs) if inputs else 0
    return Shown(MESSAGES, outputs[echoed:], size=shown.size) if echoed else shown


def raw_history(previous: Context | None, items: list[Any] | None) -> int:
    """How many leading items repeat the previous turn's input items and output messages."""
    if previous is None or not items or not previous.items:
        return 0
    before = previous.items
    if len(items) < len(before) or items[: len(before)] != before:
        return 0
    hidden = len(before)
    for message in previous.output or ():
        following = parse_messages(items[hidden : hidden + 1]) if hidden < len(items) else None
        if not following or following[0].fingerprint() != message.fingerprint():
            break
        hidden += 1
    return hidden


def message_items(value: Any) -> list[Any] | None:
    """The list of messages a decoded value holds as JSON items (a list, or `messages`)."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
        found: list[Any] = value["messages"]
        return found
    return None


def _decoded(text: str | None) -> Any:
    if text is None or len(text) > PARSE_LIMIT:
        return None
    return decode(text)


def _messages(shown: Shown) -> tuple[Message, ...] | None:
    return shown.messages if shown.kind == MESSAGES else None


def steps_by_trace(observations: Iterable[Observation]) -> dict[str, list[Step]]:
    """Each trace's model calls, tools, retrievals and errors, in start order."""
    found: dict[str, list[Step]] = defaultdict(list)
    for o in sorted(observations, key=lambda o: (o.start_ns, o.id)):
        if o.type in STEP_TYPES or o.level in ("ERROR", "WARNING"):
            found[o.trace_id].append(_step(o))
    return found


def _step(o: Observation) -> Step:
    shows_io = o.type in IO_STEP_TYPES
    return Step(
        input=data_preview(o.input) if shows_io else "",
        output=data_preview(o.output) if shows_io else "",
        id=o.id,
        name=o.name,
        type=o.type,
        level=o.level,
        duration_ns=max(0, o.end_ns - o.start_ns),
        model=o.model,
        tokens=o.total_tokens,
        cost=o.total_cost,
        status_message=o.status_message,
    )


def trace_version(trace: TraceSummary) -> str:
    """A short digest of what a turn shows about a trace, so a live page sees it change."""
    fields = (trace.end_ns, trace.observation_count, trace.input_id, trace.output_id,
              trace.error_count, trace.total_tokens, trace.total_cost)  # fmt: skip
    return hashlib.sha1(repr(fields).encode(), usedforsecurity=False).hexdigest()[:12]
