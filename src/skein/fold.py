"""Folding observations into traces, and traces into sessions.

These are pure functions of a *set*: the same observations give the same trace whatever
order or requests they arrived in. The store calls them for every trace and session a write
touches, so a trace moves to its session when a late span brings the id, and every rollup
follows it.

Which span's trace-level value wins (design.md, rule 2): a root span's value if it has
one, else the value on the shallowest span that has one, ties broken by the earliest start
and then by span id. A root has no parent or was marked `langfuse.internal.as_root`; a span
whose parent never arrived counts from its highest known ancestor.

A trace's own statement (a Langfuse `trace-create`, stored as a carrier row of type
TRACE_CARRIER_TYPE) outranks every span: its values win, and spans fill in what it leaves
unset. The carrier is not an observation: it is left out of the counts and the root.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from skein.records import TRACE_CARRIER_TYPE, Observation, Score


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """A trace's folded attributes and rollups over all its observations."""

    trace_id: str
    start_ns: int
    end_ns: int
    name: str | None = None
    session_id: str | None = None
    session_source: str | None = None
    user_id: str | None = None
    user_source: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    public: bool = False
    environment: str = "default"
    release: str | None = None
    version: str | None = None
    root_id: str | None = None
    input_id: str | None = None
    output_id: str | None = None
    observation_count: int = 0
    error_count: int = 0
    orphan_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    total_cost: float = 0.0

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session's rollups over all observations of all its traces."""

    session_id: str
    trace_count: int
    first_ns: int
    last_ns: int
    observation_count: int = 0
    error_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    total_cost: float = 0.0
    user_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    scores: Mapping[str, ScoreAggregate] = field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        return self.last_ns - self.first_ns


class TraceRollup(NamedTuple):
    """What a session's fold reads of each of its traces: a store can read just this much of
    a stored trace instead of its whole TraceSummary (which has all of it too)."""

    start_ns: int
    end_ns: int
    observation_count: int
    error_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    total_cost: float
    user_id: str | None
    environment: str
    session_source: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScoreAggregate:
    """The scores of one name: numeric ones summarised, categorical and boolean ones counted.

    `data_type` is the scores' type, or "MIXED" when they differ; `count` counts them all;
    `average`/`minimum`/`maximum` cover the NUMERIC ones; `values` counts each string value.
    """

    data_type: str
    count: int
    average: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    values: Mapping[str, int] = field(default_factory=dict)


def depths(observations: Sequence[Observation]) -> dict[str, int]:
    """Number of known ancestors of each observation (a root, or an orphan, is at 0)."""
    parents = {o.id: (None if o.is_root else o.parent_id) for o in observations}
    found: dict[str, int] = {}
    for start, parent in parents.items():
        if start in found:  # on the chain of an earlier start
            continue
        if parent is None or parent not in parents:  # a root, or an orphan
            found[start] = 0
        elif parent in found:
            found[start] = found[parent] + 1
        else:
            _walk_up(start, parents, found)
    return found


def _walk_up(start: str, parents: dict[str, str | None], found: dict[str, int]) -> None:
    """Depths of `start` and of its ancestors not yet found (stopping at a cycle)."""
    chain: list[str] = []
    node: str | None = start
    while node is not None and node in parents and node not in found and node not in chain:
        chain.append(node)
        node = parents[node]
    base = found[node] + 1 if node is not None and node in found else 0
    for offset, member in enumerate(reversed(chain)):
        found[member] = base + offset


def rank(observations: Sequence[Observation]) -> list[Observation]:
    """Observations in the order their trace-level values take precedence."""
    depth = depths(observations)
    return sorted(
        observations,
        key=lambda o: (o.type != TRACE_CARRIER_TYPE, not o.is_root, depth[o.id], o.start_ns, o.id),
    )


def fold_trace(observations: Sequence[Observation]) -> TraceSummary:
    """Fold the observations of one trace (at least one, or its carrier) into its summary."""
    ranked = rank(observations)
    members = [o for o in ranked if o.type != TRACE_CARRIER_TYPE]
    root = members[0] if members else None
    won = _winners(ranked)
    tally = _tally(members)
    return TraceSummary(
        trace_id=ranked[0].trace_id,
        start_ns=min(o.start_ns for o in observations),
        end_ns=max(o.end_ns for o in observations),
        name=(won.name.trace.name if won.name else None) or (root.name if root else None),
        session_id=won.session.trace.session_id if won.session else None,
        session_source=won.session.trace.session_source if won.session else None,
        user_id=won.user.trace.user_id if won.user else None,
        user_source=won.user.trace.user_source if won.user else None,
        tags=tuple(sorted({t for o in observations for t in o.trace.tags})),
        metadata=_merged_metadata(ranked),
        public=any(o.trace.public for o in observations),
        environment=(won.environment.environment if won.environment else None) or "default",
        release=won.release.release if won.release else None,
        version=won.version.version if won.version else None,
        root_id=root.id if root else None,
        input_id=(won.input or root or ranked[0]).id,
        output_id=(won.output or root or ranked[0]).id,
        observation_count=len(members),
        error_count=tally.error_count,
        orphan_count=tally.orphan_count,
        input_tokens=tally.input_tokens,
        output_tokens=tally.output_tokens,
        total_tokens=tally.total_tokens,
        total_cost=sum(o.total_cost or 0.0 for o in members),  # sum(): as Python adds floats
    )


class _Tally(NamedTuple):
    """A trace's counts over its members (observations other than its carrier)."""

    error_count: int
    orphan_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int


def _tally(members: Sequence[Observation]) -> _Tally:
    """The counts in one pass (quicker than one `sum` each over a trace's few members)."""
    known = {o.id for o in members}
    errors = orphans = input_tokens = output_tokens = total_tokens = 0
    for o in members:
        errors += o.level == "ERROR"
        orphans += not o.is_root and (o.parent_id or "") not in known
        input_tokens += o.input_tokens
        output_tokens += o.output_tokens
        total_tokens += o.total_tokens
    return _Tally(errors, orphans, input_tokens, output_tokens, total_tokens)


class _Winners(NamedTuple):
    """The first observation in rank order that has each trace-level value (None if none
    has): the trace's session, user, name, a named environment (not "default"), release,
    version, and trace input and output."""

    session: Observation | None
    user: Observation | None
    name: Observation | None
    environment: Observation | None
    release: Observation | None
    version: Observation | None
    input: Observation | None
    output: Observation | None


def _winners(ranked: Sequence[Observation]) -> _Winners:
    """All the winners in one pass over the ranked observations."""
    session = user = name = environment = release = version = input = output = None
    for o in ranked:
        t = o.trace
        if session is None and t.session_id is not None:
            session = o
        if user is None and t.user_id is not None:
            user = o
        if name is None and t.name is not None:
            name = o
        if environment is None and o.environment not in ("default", None):
            environment = o
        if release is None and o.release is not None:
            release = o
        if version is None and o.version is not None:
            version = o
        if input is None and t.input is not None:
            input = o
        if output is None and t.output is not None:
            output = o
    return _Winners(session, user, name, environment, release, version, input, output)


def fold_session(
    session_id: str,
    traces: Iterable[TraceSummary] | Iterable[TraceRollup],
    scores: Mapping[str, ScoreAggregate] | None = None,
) -> SessionSummary:
    """Roll the summaries (or just the rollups) of a session's traces (at least one) up into
    the session.

    `scores` are the aggregates (`aggregate_scores`) of the scores on the session and on its
    traces and their observations.
    """
    members: list[TraceSummary | TraceRollup] = list(traces)
    return SessionSummary(
        session_id=session_id,
        trace_count=len(members),
        first_ns=min(t.start_ns for t in members),
        last_ns=max(t.end_ns for t in members),
        observation_count=sum(t.observation_count for t in members),
        error_count=sum(t.error_count for t in members),
        input_tokens=sum(t.input_tokens for t in members),
        output_tokens=sum(t.output_tokens for t in members),
        total_tokens=sum(t.total_tokens for t in members),
        total_cost=sum(t.total_cost for t in members),
        user_ids=_distinct(t.user_id for t in members),
        tags=_distinct(tag for t in members for tag in t.tags),
        environments=_distinct(t.environment for t in members),
        sources=_distinct(t.session_source for t in members),
        scores=dict(scores or {}),
    )


def aggregate_scores(scores: Iterable[Score]) -> dict[str, ScoreAggregate]:
    """Scores summarised per name, names in sorted order."""
    by_name: dict[str, list[Score]] = {}
    for score in scores:
        by_name.setdefault(score.name, []).append(score)
    return {name: _aggregate(by_name[name]) for name in sorted(by_name)}


def _aggregate(scores: Sequence[Score]) -> ScoreAggregate:
    types = {s.data_type for s in scores}
    numbers = sorted(s.value for s in scores if s.data_type == "NUMERIC" and s.value is not None)
    counted = Counter(
        s.string_value for s in scores if s.data_type != "NUMERIC" and s.string_value is not None
    )
    return ScoreAggregate(
        data_type=types.pop() if len(types) == 1 else "MIXED",
        count=len(scores),
        average=sum(numbers) / len(numbers) if numbers else None,
        minimum=numbers[0] if numbers else None,
        maximum=numbers[-1] if numbers else None,
        values=dict(sorted(counted.items())),
    )


def _merged_metadata(ranked: Sequence[Observation]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for observation in reversed(ranked):
        if observation.trace.metadata:
            merged.update(observation.trace.metadata)
    return merged


def _distinct(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v is not None}))
