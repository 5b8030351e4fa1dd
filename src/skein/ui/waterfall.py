"""A trace's observations as a tree with timing bars, positioned in percent of the trace.

Rows come depth first: each observation after its parent, siblings by start time. An
observation whose parent never arrived is shown at the top level and flagged as orphaned
(design rule 3: never dropped).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from skein.records import Observation

MIN_WIDTH_PCT = 0.4
TICKS = 4


@dataclass(frozen=True, slots=True)
class Bar:
    observation: Observation
    depth: int
    offset_pct: float
    width_pct: float
    orphan: bool = False
    has_children: bool = False


@dataclass(frozen=True, slots=True)
class Tick:
    pct: float
    offset_ns: int


@dataclass(frozen=True, slots=True)
class Waterfall:
    bars: tuple[Bar, ...]
    start_ns: int
    end_ns: int
    ticks: tuple[Tick, ...]

    @property
    def span_ns(self) -> int:
        return self.end_ns - self.start_ns


def build_waterfall(observations: Sequence[Observation]) -> Waterfall:
    """The rows and time axis of a trace's waterfall."""
    if not observations:
        return Waterfall((), 0, 0, ())
    start = min(o.start_ns for o in observations)
    end = max(max(o.end_ns, o.start_ns) for o in observations)
    ordered = tree_order(observations)
    span = max(end - start, 1)
    children = {o.parent_id for o in observations if o.parent_id}
    bars = tuple(
        _bar(observation, depth, orphan, start, span, observation.id in children)
        for observation, depth, orphan in ordered
    )
    ticks = tuple(Tick(100 * i / TICKS, span * i // TICKS) for i in range(TICKS + 1))
    return Waterfall(bars, start, end, ticks)


def tree_order(
    observations: Sequence[Observation],
) -> list[tuple[Observation, int, bool]]:
    """(observation, depth, orphaned) depth first, siblings by start time then id."""
    known = {o.id for o in observations}
    children: dict[str | None, list[Observation]] = defaultdict(list)
    orphans: set[str] = set()
    for o in observations:
        parent = None if o.is_root or o.parent_id == o.id else o.parent_id
        if parent is not None and parent not in known:
            orphans.add(o.id)
            parent = None
        children[parent].append(o)
    for group in children.values():
        group.sort(key=lambda o: (o.start_ns, o.id))
    ordered: list[tuple[Observation, int, bool]] = []
    seen: set[str] = set()
    stack = [(o, 0) for o in reversed(children[None])]
    while stack:
        node, depth = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        ordered.append((node, depth, node.id in orphans))
        stack.extend((child, depth + 1) for child in reversed(children.get(node.id, [])))
    # A parent cycle leaves its members unreached: show them at the top rather than lose them.
    ordered.extend((o, 0, True) for o in observations if o.id not in seen)
    return ordered


def _bar(
    observation: Observation, depth: int, orphan: bool, start: int, span: int, parent: bool
) -> Bar:
    offset = 100 * (observation.start_ns - start) / span
    width = 100 * max(observation.end_ns - observation.start_ns, 0) / span
    width = max(width, MIN_WIDTH_PCT)
    offset = min(offset, 100 - MIN_WIDTH_PCT)
    return Bar(
        observation, depth, round(offset, 3), round(min(width, 100 - offset), 3), orphan, parent
    )
