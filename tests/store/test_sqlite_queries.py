"""The query layer: filters, sorts, keyset paging, trace detail, deletes (on every backend,
through the contract suite's fixtures), and SQLite's query plans."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skein.errors import BadRequest
from skein.fold import SessionSummary, TraceSummary
from skein.records import Observation
from skein.store import sqlite_queries
from skein.store.base import (
    SESSION_SORTS,
    TRACE_SORTS,
    ObservationQuery,
    Page,
    SessionQuery,
    Store,
    TraceQuery,
)
from skein.store.keyset import Position, encode_cursor
from skein.store.rows import observation_from_row
from skein.store.sqlite import OBSERVATION_COLUMNS, SESSION_COLUMNS, TRACE_COLUMNS, SQLiteStore
from tests.store.factories import PROJECT_ID, make_batch, make_observation, make_warning
from tests.store.query_factories import (
    DATASET_SESSIONS,
    TraceSpec,
    seed,
    span_id_of,
    trace_id_of,
    trace_observations,
)
from tests.store.test_contract import make_store, store

OTHER_PROJECT = "project-b"


__all__ = ["make_store", "store"]  # fixtures


@pytest.fixture
def seeded(store: Store) -> Store:
    seed(store)
    seed(store, OTHER_PROJECT)  # the same ids in another project must never leak in
    return store


@pytest.fixture
def sqlite_seeded(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(str(tmp_path / "skein.db"))
    seed(opened)
    seed(opened, OTHER_PROJECT)
    yield opened
    opened.close()


def all_sessions(store: Store) -> list[SessionSummary]:
    return store.list_sessions(PROJECT_ID, limit=1000)


def all_traces(store: Store) -> list[TraceSummary]:
    return store.list_traces(PROJECT_ID, limit=1000)


SESSION_KEYS: dict[str, Callable[[SessionSummary], Any]] = {
    "last_activity": lambda s: s.last_ns,
    "first_activity": lambda s: s.first_ns,
    "cost": lambda s: s.total_cost,
    "tokens": lambda s: s.total_tokens,
    "duration": lambda s: s.last_ns - s.first_ns,
    "trace_count": lambda s: s.trace_count,
    "errors": lambda s: s.error_count,
}
TRACE_KEYS: dict[str, Callable[[TraceSummary], Any]] = {
    "timestamp": lambda t: t.start_ns,
    "latency": lambda t: t.end_ns - t.start_ns,
    "cost": lambda t: t.total_cost,
    "tokens": lambda t: t.total_tokens,
    "errors": lambda t: t.error_count,
    "observations": lambda t: t.observation_count,
    "id": lambda t: t.trace_id,
    "name": lambda t: t.name or "",
    "user_id": lambda t: t.user_id or "",
    "session_id": lambda t: t.session_id or "",
    "release": lambda t: t.release or "",
    "version": lambda t: t.version or "",
}


def walk(fetch: Callable[[str | None], Page[Any]]) -> tuple[list[Any], int]:
    """Every item of a paged list, following cursors; and the number of pages."""
    items: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = fetch(cursor)
        items.extend(page.items)
        pages += 1
        if page.next_cursor is None:
            return items, pages
        cursor = page.next_cursor


def test_the_query_sorts_and_trace_sorts_are_all_tested() -> None:
    assert set(SESSION_KEYS) == set(SESSION_SORTS)
    assert set(TRACE_KEYS) == set(TRACE_SORTS)


# -- Sessions --------------------------------------------------------------------------------


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("order_by", SESSION_SORTS)
def test_session_pages_follow_the_sort_and_cover_every_session_once(
    seeded: Store, order_by: str, descending: bool
) -> None:
    key = SESSION_KEYS[order_by]
    expected = sorted(all_sessions(seeded), key=lambda s: (key(s), s.session_id))
    if descending:
        expected.reverse()

    def fetch(cursor: str | None) -> Page[SessionSummary]:
        query = SessionQuery(order_by=order_by, descending=descending, limit=2, cursor=cursor)
        return seeded.query_sessions(PROJECT_ID, query)

    items, pages = walk(fetch)
    assert items == expected
    assert len(expected) == DATASET_SESSIONS
    assert pages == (DATASET_SESSIONS + 1) // 2


def matching_sessions(store: Store, keep: Callable[[SessionSummary], bool]) -> list[str]:
    return sorted(s.session_id for s in all_sessions(store) if keep(s))


SESSION_FILTERS: list[tuple[dict[str, Any], Callable[[SessionSummary], bool]]] = [
    ({"user_id": "u1"}, lambda s: "u1" in s.user_ids),
    ({"tag": "vip"}, lambda s: "vip" in s.tags),
    ({"environment": ("production",)}, lambda s: "production" in s.environments),
    ({"environment": "production"}, lambda s: "production" in s.environments),
    ({"has_errors": True}, lambda s: s.error_count > 0),
    ({"has_errors": False}, lambda s: s.error_count == 0),
    ({"min_traces": 3}, lambda s: s.trace_count >= 3),
    ({"id_prefix": "s1"}, lambda s: s.session_id.startswith("s1")),
    ({"id_contains": "4"}, lambda s: "4" in s.session_id),
    ({"user_id": "u0", "min_traces": 2}, lambda s: "u0" in s.user_ids and s.trace_count >= 2),
]


@pytest.mark.parametrize(("filters", "keep"), SESSION_FILTERS)
def test_session_filters_select_the_matching_sessions(
    seeded: Store, filters: dict[str, Any], keep: Callable[[SessionSummary], bool]
) -> None:
    page = seeded.query_sessions(PROJECT_ID, SessionQuery(limit=100, **filters))

    expected = matching_sessions(seeded, keep)
    assert sorted(s.session_id for s in page.items) == expected
    assert page.total == len(expected)
    assert 0 < len(expected) < DATASET_SESSIONS


def test_session_time_range_selects_sessions_active_in_it(seeded: Store) -> None:
    sessions = sorted(all_sessions(seeded), key=lambda s: s.first_ns)
    middle = sessions[len(sessions) // 2]
    query = SessionQuery(from_ns=middle.first_ns, to_ns=middle.last_ns + 1, limit=100)

    page = seeded.query_sessions(PROJECT_ID, query)

    expected = matching_sessions(
        seeded, lambda s: s.last_ns >= middle.first_ns and s.first_ns < middle.last_ns + 1
    )
    assert sorted(s.session_id for s in page.items) == expected
    assert middle.session_id in expected


def test_offset_paging_matches_cursor_paging(seeded: Store) -> None:
    query = SessionQuery(order_by="cost", limit=3)
    first = seeded.query_sessions(PROJECT_ID, query)
    by_cursor = seeded.query_sessions(
        PROJECT_ID, SessionQuery(order_by="cost", limit=3, cursor=first.next_cursor)
    )
    by_offset = seeded.query_sessions(PROJECT_ID, SessionQuery(order_by="cost", limit=3, offset=3))

    assert by_offset.items == by_cursor.items
    assert by_offset.total == DATASET_SESSIONS


def test_total_is_left_out_when_not_asked_for(seeded: Store) -> None:
    assert seeded.query_sessions(PROJECT_ID, SessionQuery(with_total=False)).total is None


@pytest.mark.parametrize(
    "query",
    [
        SessionQuery(limit=0),
        SessionQuery(limit=1001),
        SessionQuery(offset=-1),
        SessionQuery(order_by="nonsense"),
        SessionQuery(cursor="not a cursor!"),
        SessionQuery(cursor=encode_cursor(Position("cost", True, 1.0, "s1"))),
        SessionQuery(cursor=encode_cursor(Position("last_activity", False, 1, "s1"))),
    ],
)
def test_bad_paging_is_a_bad_request(seeded: Store, query: SessionQuery) -> None:
    with pytest.raises(BadRequest):
        seeded.query_sessions(PROJECT_ID, query)


# -- Traces ----------------------------------------------------------------------------------


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("order_by", TRACE_SORTS)
def test_trace_pages_follow_the_sort(seeded: Store, order_by: str, descending: bool) -> None:
    key = TRACE_KEYS[order_by]
    expected = sorted(all_traces(seeded), key=lambda t: (key(t), t.trace_id))
    if descending:
        expected.reverse()

    def fetch(cursor: str | None) -> Page[TraceSummary]:
        query = TraceQuery(order_by=order_by, descending=descending, limit=4, cursor=cursor)
        return seeded.query_traces(PROJECT_ID, query)

    items, _ = walk(fetch)
    assert items == expected


TRACE_FILTERS: list[tuple[dict[str, Any], Callable[[TraceSummary], bool]]] = [
    ({"session_id": "s2"}, lambda t: t.session_id == "s2"),
    ({"user_id": "u1"}, lambda t: t.user_id == "u1"),
    ({"name": "opening"}, lambda t: t.name == "opening"),
    ({"tags": ("chat", "vip")}, lambda t: {"chat", "vip"} <= set(t.tags)),
    ({"tags": ("chat",)}, lambda t: "chat" in t.tags),
    ({"environment": ("production", "nowhere")}, lambda t: t.environment == "production"),
    ({"release": "r2"}, lambda t: t.release == "r2"),
    ({"has_errors": True}, lambda t: t.error_count > 0),
    (
        {"ids": (trace_id_of(1), trace_id_of(4), "f" * 32)},
        lambda t: t.trace_id in {trace_id_of(1), trace_id_of(4)},
    ),
    ({"user_id": "u0", "tags": ("vip",)}, lambda t: t.user_id == "u0" and "vip" in t.tags),
]


@pytest.mark.parametrize(("filters", "keep"), TRACE_FILTERS)
def test_trace_filters_select_the_matching_traces(
    seeded: Store, filters: dict[str, Any], keep: Callable[[TraceSummary], bool]
) -> None:
    page = seeded.query_traces(PROJECT_ID, TraceQuery(limit=100, **filters))

    expected = sorted(t.trace_id for t in all_traces(seeded) if keep(t))
    assert sorted(t.trace_id for t in page.items) == expected
    assert page.total == len(expected)
    assert 0 < len(expected) < len(all_traces(seeded))


def test_trace_time_range_bounds_the_start(seeded: Store) -> None:
    starts = sorted(t.start_ns for t in all_traces(seeded))
    low, high = starts[3], starts[-3]

    page = seeded.query_traces(PROJECT_ID, TraceQuery(from_ns=low, to_ns=high, limit=100))

    assert sorted(t.start_ns for t in page.items) == [s for s in starts if low <= s < high]


def test_trace_io_comes_from_the_trace_attributes_else_the_root(store: Store) -> None:
    with_trace_input = TraceSpec(index=0, input="the question")
    plain = TraceSpec(index=1)
    store.write([make_batch(*trace_observations(with_trace_input), *trace_observations(plain))])

    io = store.get_trace_io(PROJECT_ID, [trace_id_of(0), trace_id_of(1), "f" * 32])

    assert io[trace_id_of(0)].input == "the question"
    assert io[trace_id_of(0)].output == "root output 0"
    assert io[trace_id_of(1)].input == "root input 1"
    assert set(io) == {trace_id_of(0), trace_id_of(1)}


def test_trace_detail_has_the_trace_its_io_and_observations(seeded: Store) -> None:
    trace_id = trace_id_of(1)

    detail = seeded.get_trace_detail(PROJECT_ID, trace_id)

    assert detail is not None
    assert detail.trace == seeded.get_trace(PROJECT_ID, trace_id)
    assert detail.io == seeded.get_trace_io(PROJECT_ID, [trace_id])[trace_id]
    assert list(detail.observations) == seeded.list_observations(PROJECT_ID, trace_id)
    assert seeded.get_trace_detail(PROJECT_ID, "f" * 32) is None


def test_trace_rows_are_the_detail_before_decoding(seeded: Store) -> None:
    trace_id = trace_id_of(1)

    rows = seeded.get_trace_rows(PROJECT_ID, trace_id)

    assert rows is not None
    assert rows.trace == seeded.get_trace(PROJECT_ID, trace_id)
    assert rows.io == seeded.get_trace_io(PROJECT_ID, [trace_id])[trace_id]
    assert rows.io.input is not None
    assert [observation_from_row(row) for row in rows.observations] == (
        seeded.list_observations(PROJECT_ID, trace_id)
    )
    assert all(len(row) == len(OBSERVATION_COLUMNS) for row in rows.observations)
    assert seeded.get_trace_rows(PROJECT_ID, "f" * 32) is None


# -- Observations ----------------------------------------------------------------------------


def test_session_observations_include_children_without_the_session_id(
    seeded: Store,
) -> None:
    traces = seeded.list_traces(PROJECT_ID, session_id="s2")
    expected = [o for t in traces for o in seeded.list_observations(PROJECT_ID, t.trace_id)]

    page = seeded.query_observations(PROJECT_ID, ObservationQuery(session_id="s2", limit=100))

    assert sorted(page.items, key=lambda o: o.id) == sorted(expected, key=lambda o: o.id)
    assert any(o.trace.session_id is None for o in page.items)


@pytest.mark.parametrize("descending", [False, True])
def test_observation_pages_walk_in_start_order(seeded: Store, descending: bool) -> None:
    def fetch(cursor: str | None) -> Page[Observation]:
        query = ObservationQuery(limit=5, cursor=cursor, descending=descending)
        return seeded.query_observations(PROJECT_ID, query)

    items, _ = walk(fetch)

    starts = [o.start_ns for o in items]
    assert starts == sorted(starts, reverse=descending)
    assert len({(o.trace_id, o.id) for o in items}) == len(items) == 2 * len(all_traces(seeded))


OBSERVATION_FILTERS: list[tuple[dict[str, Any], Callable[[Observation], bool]]] = [
    ({"trace_id": trace_id_of(2)}, lambda o: o.trace_id == trace_id_of(2)),
    ({"trace_ids": (trace_id_of(2), trace_id_of(3))},
     lambda o: o.trace_id in {trace_id_of(2), trace_id_of(3)}),
    ({"type": "GENERATION"}, lambda o: o.type == "GENERATION"),
    ({"name": "opening"}, lambda o: o.name == "opening"),
    ({"level": "ERROR"}, lambda o: o.level == "ERROR"),
    ({"parent_id": span_id_of(4, 0)}, lambda o: o.parent_id == span_id_of(4, 0)),
    ({"environment": ("production",)}, lambda o: o.environment == "production"),
]  # fmt: skip


@pytest.mark.parametrize(("filters", "keep"), OBSERVATION_FILTERS)
def test_observation_filters(
    seeded: Store, filters: dict[str, Any], keep: Callable[[Observation], bool]
) -> None:
    every = [
        o for t in all_traces(seeded) for o in seeded.list_observations(PROJECT_ID, t.trace_id)
    ]

    page = seeded.query_observations(PROJECT_ID, ObservationQuery(limit=100, **filters))

    assert sorted(o.id for o in page.items) == sorted(o.id for o in every if keep(o))
    assert page.items


def test_observations_of_a_user_are_those_of_the_user_traces(seeded: Store) -> None:
    traces = {t.trace_id for t in all_traces(seeded) if t.user_id == "u1"}

    page = seeded.query_observations(PROJECT_ID, ObservationQuery(user_id="u1", limit=100))

    assert {o.trace_id for o in page.items} == traces
    assert len(page.items) == 2 * len(traces)


def test_observations_without_io_leave_the_text_out(seeded: Store) -> None:
    query = ObservationQuery(trace_id=trace_id_of(1), with_io=False, with_total=True)

    page = seeded.query_observations(PROJECT_ID, query)

    assert page.total == 2
    assert all(o.input is None and o.output is None and o.metadata == {} for o in page.items)
    full = seeded.list_observations(PROJECT_ID, trace_id_of(1))
    assert [(o.id, o.name, o.total_tokens) for o in page.items] == [
        (o.id, o.name, o.total_tokens) for o in full
    ]


def test_observation_ids_of_traces_in_start_order(seeded: Store) -> None:
    wanted = [trace_id_of(3), trace_id_of(7), "f" * 32]

    found = seeded.get_observation_ids(PROJECT_ID, wanted)

    assert found == {t: [o.id for o in seeded.list_observations(PROJECT_ID, t)] for t in wanted[:2]}
    assert found[trace_id_of(3)] == [span_id_of(3, 0), span_id_of(3, 1)]


def test_one_observation_by_id(seeded: Store) -> None:
    found = seeded.get_observation(PROJECT_ID, span_id_of(5, 1))

    assert found is not None
    assert found in seeded.list_observations(PROJECT_ID, trace_id_of(5))
    assert seeded.get_observation(PROJECT_ID, "f" * 16) is None


# -- Deletes ---------------------------------------------------------------------------------


def test_deleting_traces_refolds_their_session(seeded: Store) -> None:
    session = seeded.list_traces(PROJECT_ID, session_id="s2")
    doomed, kept = session[0], session[1:]
    seeded.write([make_batch(warnings=(make_warning(trace_id=doomed.trace_id),))])

    deleted = seeded.delete_traces(PROJECT_ID, [doomed.trace_id, "f" * 32])

    assert deleted == 1
    assert seeded.get_trace(PROJECT_ID, doomed.trace_id) is None
    assert seeded.list_observations(PROJECT_ID, doomed.trace_id) == []
    assert seeded.list_warnings(PROJECT_ID, doomed.trace_id) == []
    summary = seeded.get_session(PROJECT_ID, "s2")
    assert summary is not None
    assert summary.trace_count == len(kept)
    assert summary.total_cost == pytest.approx(sum(t.total_cost for t in kept))
    assert seeded.get_trace(OTHER_PROJECT, doomed.trace_id) is not None


def test_deleting_a_session_removes_all_its_traces(seeded: Store) -> None:
    traces = seeded.list_traces(PROJECT_ID, session_id="s5")

    assert seeded.delete_session(PROJECT_ID, "s5") == len(traces) > 0

    assert seeded.get_session(PROJECT_ID, "s5") is None
    assert all(seeded.list_observations(PROJECT_ID, t.trace_id) == [] for t in traces)
    assert seeded.get_session(OTHER_PROJECT, "s5") is not None
    assert seeded.delete_session(PROJECT_ID, "s5") == 0


def test_deleting_nothing_deletes_nothing(seeded: Store) -> None:
    before = all_traces(seeded)

    assert seeded.delete_traces(PROJECT_ID, []) == 0
    assert seeded.delete_session(PROJECT_ID, "no-such-session") == 0
    assert all_traces(seeded) == before


def test_a_late_span_after_a_delete_starts_the_trace_afresh(seeded: Store) -> None:
    seeded.delete_traces(PROJECT_ID, [trace_id_of(0)])
    late = make_observation(trace_id=trace_id_of(0), id="a" * 16, trace={"session_id": "s0"})

    seeded.write([make_batch(late)])

    trace = seeded.get_trace(PROJECT_ID, trace_id_of(0))
    assert trace is not None and trace.observation_count == 1


# -- Query plans -----------------------------------------------------------------------------


def plan(store: SQLiteStore, listing: sqlite_queries.Listing) -> list[str]:
    statement, parameters = sqlite_queries.listing_statement(listing)
    connection = sqlite3.connect(store.path)
    try:
        connection.execute("ANALYZE")
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [row[3] for row in rows]
    finally:
        connection.close()


def session_listing(query: SessionQuery) -> sqlite_queries.Listing:
    return sqlite_queries.Listing(
        "sessions", SESSION_COLUMNS, sqlite_queries._session_where(PROJECT_ID, query),
        query.order_by, sqlite_queries.SESSION_SORT_VALUES[query.order_by], "session_id",
        query.descending, query.limit, query.cursor, 0, False,
    )  # fmt: skip


def trace_listing(query: TraceQuery) -> sqlite_queries.Listing:
    return sqlite_queries.Listing(
        "traces", TRACE_COLUMNS, sqlite_queries._trace_where(PROJECT_ID, query),
        query.order_by, sqlite_queries.TRACE_SORT_VALUES[query.order_by], "trace_id",
        query.descending, query.limit, query.cursor, 0, False,
    )  # fmt: skip


def observation_listing(query: ObservationQuery) -> sqlite_queries.Listing:
    return sqlite_queries.Listing(
        "observations", OBSERVATION_COLUMNS,
        sqlite_queries._observation_where(PROJECT_ID, query), "start",
        sqlite_queries._observation_sort_value(query), "rowid", query.descending, query.limit,
        query.cursor, 0, False,
    )  # fmt: skip


def is_full_scan(step: str) -> bool:
    return step.startswith("SCAN") and "INDEX" not in step


@pytest.mark.parametrize("with_cursor", [False, True])
@pytest.mark.parametrize("order_by", SESSION_SORTS)
def test_every_session_sort_reads_its_index_without_sorting(
    sqlite_seeded: SQLiteStore, order_by: str, with_cursor: bool
) -> None:
    cursor = encode_cursor(Position(order_by, True, 1, "s1")) if with_cursor else None

    steps = plan(sqlite_seeded, session_listing(SessionQuery(order_by=order_by, cursor=cursor)))

    assert any(step.startswith("SEARCH sessions USING INDEX sessions_by_") for step in steps)
    assert not [s for s in steps if "TEMP B-TREE" in s or is_full_scan(s)]


def test_sessions_of_a_user_are_found_through_the_trace_user_index(
    sqlite_seeded: SQLiteStore,
) -> None:
    steps = plan(sqlite_seeded, session_listing(SessionQuery(user_id="u1")))

    assert any(step.startswith("SEARCH traces") and "traces_by_user" in step for step in steps)
    assert not [s for s in steps if is_full_scan(s)]


@pytest.mark.parametrize(
    "query",
    [
        TraceQuery(),
        TraceQuery(session_id="s1"),
        TraceQuery(user_id="u1"),
        TraceQuery(name="turn"),
        TraceQuery(cursor=encode_cursor(Position("timestamp", True, 1, "a"))),
        TraceQuery(session_id="s1", descending=False),
    ],
)
def test_trace_lists_by_time_read_an_index_without_sorting(
    sqlite_seeded: SQLiteStore, query: TraceQuery
) -> None:
    steps = plan(sqlite_seeded, trace_listing(query))

    assert any(step.startswith("SEARCH traces USING") for step in steps)
    assert not [s for s in steps if "TEMP B-TREE" in s or is_full_scan(s)]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (ObservationQuery(), "observations_by_start"),
        (ObservationQuery(type="GENERATION", descending=True), "observations_by_start"),
        (ObservationQuery(trace_id="a" * 32), "sqlite_autoindex_observations_1"),
        (ObservationQuery(session_id="s1"), "sqlite_autoindex_observations_1"),
        (ObservationQuery(trace_ids=("a", "b")), "sqlite_autoindex_observations_1"),
    ],
)
def test_observation_lists_search_an_index(
    sqlite_seeded: SQLiteStore, query: ObservationQuery, index: str
) -> None:
    steps = plan(sqlite_seeded, observation_listing(query))

    assert any(step.startswith(f"SEARCH observations USING INDEX {index}") for step in steps)
    assert not [s for s in steps if is_full_scan(s)]
