"""A small, varied data set for query tests: sessions that differ in every sort and filter.

trace_observations(3, session_id="s1", cost=0.5)   # one trace: a root and a generation
seed(store)                                       # DATASET_SESSIONS sessions, varied
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from skein.records import MappedBatch, Observation, TraceAttributes
from skein.store.base import Store
from tests.store.factories import PROJECT_ID, START_NS

SECOND_NS = 1_000_000_000
DATASET_SESSIONS = 9


def trace_id_of(index: int) -> str:
    return f"{index + 1:032x}"


def span_id_of(trace_index: int, position: int) -> str:
    return f"{trace_index + 1:012x}{position:04x}"


@dataclass(frozen=True, slots=True)
class TraceSpec:
    """What one generated trace looks like; every field shows up in some filter or sort."""

    index: int
    session_id: str | None = None
    user_id: str | None = None
    name: str = "turn"
    tags: tuple[str, ...] = ()
    environment: str = "default"
    release: str | None = None
    start_s: int = 0
    duration_s: int = 1
    cost: float = 0.0
    tokens: int = 0
    error: bool = False
    input: str | None = None


def trace_observations(spec: TraceSpec) -> tuple[Observation, ...]:
    """A root span carrying the trace attributes, and a child generation carrying the usage
    (without the session id, as SDKs often send it)."""
    start = START_NS + spec.start_s * SECOND_NS
    end = start + spec.duration_s * SECOND_NS
    trace = TraceAttributes(
        session_id=spec.session_id,
        session_source="session.id" if spec.session_id else None,
        user_id=spec.user_id,
        name=spec.name,
        tags=spec.tags,
        input=spec.input,
    )
    root = Observation(
        id=span_id_of(spec.index, 0), trace_id=trace_id_of(spec.index), parent_id=None,
        is_root=True, name=spec.name, type="SPAN", start_ns=start, end_ns=end,
        environment=spec.environment, release=spec.release, trace=trace,
        input=f"root input {spec.index}", output=f"root output {spec.index}",
        level="ERROR" if spec.error else "DEFAULT",
    )  # fmt: skip
    generation = Observation(
        id=span_id_of(spec.index, 1), trace_id=trace_id_of(spec.index), parent_id=root.id,
        is_root=False, name="llm", type="GENERATION", start_ns=start + 1, end_ns=end - 1,
        environment=spec.environment, model="gpt-4o-mini", total_tokens=spec.tokens,
        input_tokens=spec.tokens // 2, output_tokens=spec.tokens - spec.tokens // 2,
        usage={"input": spec.tokens // 2, "output": spec.tokens - spec.tokens // 2,
               "total": spec.tokens},
        total_cost=spec.cost, cost={"total": spec.cost} if spec.cost else {},
        input="prompt", output="completion",
    )  # fmt: skip
    return (root, generation)


def dataset_specs() -> Iterator[TraceSpec]:
    """DATASET_SESSIONS sessions "s0".."s8" of 1..3 traces each, plus two traces with no
    session. Sessions differ in user, tags, environment, errors, cost, tokens and timing."""
    index = 0
    for s in range(DATASET_SESSIONS):
        for turn in range(1 + s % 3):
            yield TraceSpec(
                index=index, session_id=f"s{s}", user_id=f"u{s % 2}",
                name="turn" if turn else "opening",
                tags=("chat", "vip") if s % 4 == 0 else ("chat",),
                environment="production" if s % 3 == 0 else "default",
                release="r1" if s < 5 else "r2",
                start_s=(s * 7) % DATASET_SESSIONS * 100 + turn * 10, duration_s=1 + s % 5 + turn,
                cost=round(0.1 * ((s * 5) % DATASET_SESSIONS) + 0.01 * turn, 4),
                tokens=100 * ((s * 2) % DATASET_SESSIONS) + turn, error=(s % 4 == 1 and turn == 0),
                input=f"question {index}" if turn else None,
            )  # fmt: skip
            index += 1
    for extra in range(2):
        yield TraceSpec(index=index + extra, name="lonely", start_s=5000 + extra)


def seed(store: Store, project_id: str = PROJECT_ID) -> list[TraceSpec]:
    specs = list(dataset_specs())
    observations = tuple(o for spec in specs for o in trace_observations(spec))
    store.write([MappedBatch(project_id=project_id, observations=observations)])
    return specs
