from __future__ import annotations

from skein.ui.waterfall import MIN_WIDTH_PCT, build_waterfall, tree_order
from tests.store.factories import START_NS, make_observation

MS = 1_000_000


def test_rows_are_depth_first_with_siblings_by_start() -> None:
    root = make_observation(id="r", start_ns=START_NS, end_ns=START_NS + 100 * MS)
    late = make_observation(id="b", parent_id="r", start_ns=START_NS + 50 * MS)
    early = make_observation(id="a", parent_id="r", start_ns=START_NS + 10 * MS)
    grandchild = make_observation(id="c", parent_id="a", start_ns=START_NS + 20 * MS)
    order = tree_order([late, grandchild, root, early])
    assert [(o.id, depth) for o, depth, _ in order] == [("r", 0), ("a", 1), ("c", 2), ("b", 1)]


def test_an_orphan_is_shown_at_the_top_level_and_flagged() -> None:
    root = make_observation(id="r")
    orphan = make_observation(id="o", parent_id="missing")
    order = {o.id: (depth, orphaned) for o, depth, orphaned in tree_order([root, orphan])}
    assert order == {"r": (0, False), "o": (0, True)}


def test_a_parent_cycle_loses_no_observation() -> None:
    one = make_observation(id="1", parent_id="2", is_root=False)
    two = make_observation(id="2", parent_id="1", is_root=False)
    assert sorted(o.id for o, _, _ in tree_order([one, two])) == ["1", "2"]


def test_bars_are_placed_in_percent_of_the_trace() -> None:
    root = make_observation(id="r", start_ns=START_NS, end_ns=START_NS + 200 * MS)
    child = make_observation(
        id="c", parent_id="r", start_ns=START_NS + 50 * MS, end_ns=START_NS + 150 * MS
    )
    waterfall = build_waterfall([root, child])
    bars = {bar.observation.id: bar for bar in waterfall.bars}
    assert (bars["r"].offset_pct, bars["r"].width_pct) == (0, 100)
    assert (bars["c"].offset_pct, bars["c"].width_pct) == (25, 50)
    assert bars["r"].has_children and not bars["c"].has_children
    assert waterfall.span_ns == 200 * MS
    assert [t.pct for t in waterfall.ticks] == [0, 25, 50, 75, 100]
    assert waterfall.ticks[-1].offset_ns == 200 * MS


def test_an_instant_observation_still_gets_a_visible_bar() -> None:
    root = make_observation(id="r", start_ns=START_NS, end_ns=START_NS + 1000 * MS)
    event = make_observation(
        id="e", parent_id="r", start_ns=START_NS + 1000 * MS, end_ns=START_NS + 1000 * MS
    )
    bar = {b.observation.id: b for b in build_waterfall([root, event]).bars}["e"]
    assert bar.width_pct >= MIN_WIDTH_PCT - 1e-9
    assert bar.offset_pct + bar.width_pct <= 100


def test_no_observations_no_rows() -> None:
    assert build_waterfall([]).bars == ()
