"""What every Store backend must do. Parametrised over backends; nothing backend-specific here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skein.fold import fold_session, fold_trace
from skein.records import Observation, TraceAttributes
from skein.store import open_store
from skein.store.base import ApiKey, Store
from skein.store.rows import OBSERVATION_COLUMNS, detail_from_rows, observation_from_row
from tests.store.factories import (
    PROJECT_ID,
    START_NS,
    TRACE_ID,
    make_batch,
    make_full_observation,
    make_observation,
    make_warning,
)

BACKENDS = ["sqlite", "postgresql"]
OTHER_PROJECT = "project-b"

StoreFactory = Callable[[], Store]


def backend_url(request: pytest.FixtureRequest, backend: str, directory: Path) -> str:
    """The database URL of one backend for one test (a fresh PostgreSQL database)."""
    if backend == "sqlite":
        return f"sqlite:///{directory / 'skein.db'}"
    if backend == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    raise AssertionError(f"unknown backend {backend}")


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens the store of one backend, on the same database each time it is called."""
    opened: list[Store] = []
    url = backend_url(request, request.param, tmp_path)

    def make() -> Store:
        store = open_store(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store()


def span(span_id: str, **overrides: Any) -> Observation:
    """A span of TRACE_ID whose id and start order follow `span_id` (one hex digit, repeated)."""
    fields: dict[str, Any] = {
        "id": span_id * 16,
        "start_ns": START_NS + int(span_id, 16) * 1000,
        "end_ns": START_NS + int(span_id, 16) * 1000 + 500,
    }
    fields.update(overrides)
    return make_observation(**fields)


def child(span_id: str, parent: str, **overrides: Any) -> Observation:
    return span(span_id, parent_id=parent * 16, is_root=False, **overrides)


def session_attributes(session_id: str, **fields: Any) -> TraceAttributes:
    return TraceAttributes(session_id=session_id, session_source="session.id", **fields)


# -- Round trips -----------------------------------------------------------------------------


def test_full_observation_sets_every_field_away_from_its_default() -> None:
    """Guards the round-trip test below: a new Observation field must be added to the factory."""
    full, default = make_full_observation(), make_observation()
    unchanged = [
        f.name
        for f in dataclasses.fields(Observation)
        if f.name not in ("trace_id", "is_root")
        and getattr(full, f.name) == getattr(default, f.name)
    ]
    assert unchanged == []
    assert [
        f.name
        for f in dataclasses.fields(TraceAttributes)
        if getattr(full.trace, f.name) == getattr(TraceAttributes(), f.name)
    ] == []


def test_observations_round_trip_every_field(store: Store) -> None:
    full = make_full_observation(start_ns=START_NS + 10)
    sparse = make_observation(id="3333333333333333", parent_id=full.id, start_ns=START_NS + 20)
    store.write([make_batch(sparse, full)])

    assert store.list_observations(PROJECT_ID, TRACE_ID) == [full, sparse]


def test_trace_rows_hold_the_text_as_written_and_decode_to_the_observations(
    store: Store,
) -> None:
    full = make_full_observation(start_ns=START_NS + 10)  # its input is long: stored packed
    sparse = make_observation(id="3333333333333333", parent_id=full.id, start_ns=START_NS + 20)
    store.write([make_batch(sparse, full)])

    rows = store.get_trace_rows(PROJECT_ID, TRACE_ID)

    assert rows is not None
    assert [observation_from_row(row) for row in rows.observations] == [full, sparse]
    columns = dict(zip(OBSERVATION_COLUMNS, rows.observations[0], strict=True))
    assert (columns["input"], columns["trace_input"]) == (full.input, full.trace.input)
    assert detail_from_rows(rows) == store.get_trace_detail(PROJECT_ID, TRACE_ID)


def test_observation_text_round_trips_unchanged(store: Store) -> None:
    text = "line\nbreak, quote \" ' , nul-free unicode 日本語 🚀, backslash \\ " * 200
    observation = make_observation(input=text, output="", metadata={"": "", "e": {}, "l": []})
    store.write([make_batch(observation)])

    assert store.list_observations(PROJECT_ID, TRACE_ID) == [observation]


def test_observations_are_listed_by_start_then_id(store: Store) -> None:
    late = span("1", start_ns=START_NS + 50)
    tie_b = child("b", "1", start_ns=START_NS + 10)
    tie_a = child("a", "1", start_ns=START_NS + 10)
    store.write([make_batch(late, tie_b, tie_a)])

    assert [o.id for o in store.list_observations(PROJECT_ID, TRACE_ID)] == [
        tie_a.id,
        tie_b.id,
        late.id,
    ]


def test_trace_and_session_are_the_folds_of_what_is_stored(store: Store) -> None:
    root = span("1", trace=session_attributes("s1", user_id="u1", tags=("x",)), level="ERROR")
    generation = child("2", "1", type="GENERATION", input_tokens=7, total_tokens=9, total_cost=0.5)
    full = make_full_observation(id="3" * 16, parent_id="1" * 16, is_root=False)
    observations = [root, generation, full]
    store.write([make_batch(*observations)])

    trace = fold_trace(observations)
    assert store.get_trace(PROJECT_ID, TRACE_ID) == trace
    assert store.get_session(PROJECT_ID, "s1") == fold_session("s1", [trace])
    assert store.list_traces(PROJECT_ID, session_id="s1") == [trace]


def test_unknown_ids_read_as_nothing(store: Store) -> None:
    store.write([make_batch(span("1", trace=session_attributes("s1")))])

    assert store.get_trace(PROJECT_ID, "f" * 32) is None
    assert store.get_session(PROJECT_ID, "no-such-session") is None
    assert store.list_observations(PROJECT_ID, "f" * 32) == []
    assert store.list_traces(PROJECT_ID, session_id="no-such-session") == []


# -- Idempotence -----------------------------------------------------------------------------


def snapshot(store: Store) -> tuple[object, ...]:
    return (
        store.list_observations(PROJECT_ID, TRACE_ID),
        store.list_traces(PROJECT_ID),
        store.list_sessions(PROJECT_ID),
        [w.warning for w in store.list_warnings(PROJECT_ID)],
    )


def test_redelivered_batch_changes_nothing(store: Store) -> None:
    batch = make_batch(
        span("1", trace=session_attributes("s1")),
        child("2", "1", total_tokens=5, total_cost=1.5),
        warnings=(make_warning(),),
    )
    store.write([batch])
    first = snapshot(store)

    store.write([batch])
    store.write([batch, batch])

    assert snapshot(store) == first
    assert len(store.list_warnings(PROJECT_ID)) == 1


def test_resent_span_replaces_the_stored_one(store: Store) -> None:
    store.write([make_batch(span("1", name="draft", total_tokens=5))])
    final = span("1", name="final", total_tokens=8, trace=session_attributes("s1"))
    store.write([make_batch(final)])

    assert store.list_observations(PROJECT_ID, TRACE_ID) == [final]
    assert store.get_trace(PROJECT_ID, TRACE_ID) == fold_trace([final])


def test_within_one_write_the_later_copy_of_a_span_wins(store: Store) -> None:
    first, second = span("1", name="first"), span("1", name="second")
    store.write([make_batch(first), make_batch(second)])

    assert store.list_observations(PROJECT_ID, TRACE_ID) == [second]


def test_empty_writes_do_nothing(store: Store) -> None:
    store.write([])
    store.write([make_batch()])

    assert store.list_traces(PROJECT_ID) == []
    assert store.list_warnings(PROJECT_ID) == []


# -- Sessions follow late spans --------------------------------------------------------------


def test_late_root_moves_its_trace_and_shrinks_the_old_session(store: Store) -> None:
    moving_child = child("2", "1", total_tokens=10, trace=session_attributes("old"))
    staying = make_observation(
        trace_id="e" * 32, id="e" * 16, total_tokens=3, trace=session_attributes("old")
    )
    store.write([make_batch(moving_child, staying)])
    assert store.get_session(PROJECT_ID, "old") == fold_session(
        "old", [fold_trace([moving_child]), fold_trace([staying])]
    )

    late_root = span("1", trace=session_attributes("new"))
    store.write([make_batch(late_root)])

    moved = fold_trace([late_root, moving_child])
    assert moved.session_id == "new"
    assert store.get_trace(PROJECT_ID, TRACE_ID) == moved
    assert store.get_session(PROJECT_ID, "new") == fold_session("new", [moved])
    assert store.get_session(PROJECT_ID, "old") == fold_session("old", [fold_trace([staying])])


def test_session_left_by_its_only_trace_disappears(store: Store) -> None:
    store.write([make_batch(child("2", "1", trace=session_attributes("old")))])
    assert [s.session_id for s in store.list_sessions(PROJECT_ID)] == ["old"]

    store.write([make_batch(span("1", trace=session_attributes("new")))])

    assert store.get_session(PROJECT_ID, "old") is None
    assert [s.session_id for s in store.list_sessions(PROJECT_ID)] == ["new"]
    assert store.list_traces(PROJECT_ID, session_id="old") == []


def test_trace_without_session_joins_one_when_a_span_brings_the_id(store: Store) -> None:
    root = span("1", total_tokens=4)
    store.write([make_batch(root)])
    assert store.list_sessions(PROJECT_ID) == []

    late_child = child("2", "1", total_tokens=6, trace=session_attributes("s1"))
    store.write([make_batch(late_child)])

    trace = fold_trace([root, late_child])
    assert store.get_session(PROJECT_ID, "s1") == fold_session("s1", [trace])
    assert store.list_traces(PROJECT_ID, session_id="s1") == [trace]


def test_orphans_are_counted_until_their_parent_arrives(store: Store) -> None:
    orphan = child("2", "1")
    store.write([make_batch(orphan)])
    stored = store.get_trace(PROJECT_ID, TRACE_ID)
    assert stored is not None and stored.orphan_count == 1
    assert store.list_observations(PROJECT_ID, TRACE_ID) == [orphan]

    store.write([make_batch(span("1"))])

    stored = store.get_trace(PROJECT_ID, TRACE_ID)
    assert stored is not None and (stored.orphan_count, stored.observation_count) == (0, 2)


# -- Listing ---------------------------------------------------------------------------------


def trace_in_session(index: int, session_id: str, start_ns: int) -> Observation:
    return make_observation(
        trace_id=f"{index:032x}",
        id=f"{index:016x}",
        start_ns=start_ns,
        end_ns=start_ns + 100,
        trace=session_attributes(session_id),
    )


def test_sessions_are_listed_by_latest_activity_then_id(store: Store) -> None:
    store.write(
        [
            make_batch(
                trace_in_session(1, "quiet", START_NS),
                trace_in_session(2, "busy", START_NS + 10),
                trace_in_session(3, "busy", START_NS + 5_000),
                trace_in_session(4, "b-tied", START_NS + 5_000),
            )
        ]
    )

    listed = [s.session_id for s in store.list_sessions(PROJECT_ID)]
    assert listed == ["b-tied", "busy", "quiet"]
    assert [s.session_id for s in store.list_sessions(PROJECT_ID, limit=1, offset=1)] == ["busy"]


def test_session_traces_are_listed_by_start_then_id(store: Store) -> None:
    later = trace_in_session(1, "s", START_NS + 100)
    tied_high, tied_low = trace_in_session(3, "s", START_NS), trace_in_session(2, "s", START_NS)
    store.write([make_batch(later, tied_high, tied_low)])

    listed = [t.trace_id for t in store.list_traces(PROJECT_ID, session_id="s")]
    assert listed == [tied_low.trace_id, tied_high.trace_id, later.trace_id]
    paged = store.list_traces(PROJECT_ID, session_id="s", limit=1, offset=2)
    assert [t.trace_id for t in paged] == [later.trace_id]


def test_project_traces_are_listed_newest_first(store: Store) -> None:
    observations = [trace_in_session(i, "s", START_NS + i * 10) for i in range(1, 5)]
    store.write([make_batch(*observations)])

    listed = [t.trace_id for t in store.list_traces(PROJECT_ID, limit=3)]
    assert listed == [f"{i:032x}" for i in (4, 3, 2)]


# -- Warnings --------------------------------------------------------------------------------


def test_warnings_are_stored_per_trace_newest_first(store: Store) -> None:
    first = make_warning(code="session_id_empty", message="empty")
    second = make_warning(code="session_id_not_string", message="number", span_id=None)
    elsewhere = make_warning(trace_id="e" * 32)
    store.write([make_batch(warnings=(first,))])
    store.write([make_batch(span("1"), warnings=(second, elsewhere))])

    stored = store.list_warnings(PROJECT_ID, trace_id=TRACE_ID)
    assert [w.warning for w in stored] == [second, first]
    assert {w.project_id for w in stored} == {PROJECT_ID}
    assert all(w.created_ns > START_NS for w in stored)
    assert len(store.list_warnings(PROJECT_ID)) == 3
    assert len(store.list_warnings(PROJECT_ID, limit=2)) == 2


# -- Projects and keys -----------------------------------------------------------------------


def make_key(public_key: str = "pk-lf-1", project_id: str = PROJECT_ID, **fields: Any) -> ApiKey:
    values: dict[str, Any] = {"secret_hash": "hash", "created_ns": START_NS}
    values.update(fields)
    return ApiKey(public_key=public_key, project_id=project_id, **values)


def test_projects_are_created_and_found(store: Store) -> None:
    named = store.create_project("Default", project_id=PROJECT_ID)
    generated = store.create_project("Second")

    assert named.id == PROJECT_ID and named.name == "Default"
    assert len(generated.id) >= 16 and generated.id != named.id
    assert store.get_project(generated.id) == generated
    assert store.get_project("missing") is None
    assert {p.id for p in store.list_projects()} == {named.id, generated.id}


def test_creating_a_project_with_a_taken_id_fails(store: Store) -> None:
    store.create_project("Default", project_id=PROJECT_ID)

    with pytest.raises(ValueError):
        store.create_project("Again", project_id=PROJECT_ID)


def test_keys_are_added_found_listed_and_revoked(store: Store) -> None:
    store.create_project("A", project_id=PROJECT_ID)
    store.create_project("B", project_id=OTHER_PROJECT)
    key_a = make_key("pk-a", note="ci")
    key_b = make_key("pk-b", project_id=OTHER_PROJECT, created_ns=START_NS + 1)
    store.add_key(key_a)
    store.add_key(key_b)

    assert store.find_key("pk-a") == key_a
    assert store.find_key("pk-missing") is None
    assert store.list_keys() == [key_a, key_b]
    assert store.list_keys(OTHER_PROJECT) == [key_b]

    assert store.revoke_key("pk-a", START_NS + 99) is True
    assert store.revoke_key("pk-missing", START_NS + 99) is False
    assert store.find_key("pk-a") == dataclasses.replace(key_a, revoked_ns=START_NS + 99)


def test_revoking_again_keeps_the_first_revocation_time(store: Store) -> None:
    store.create_project("A", project_id=PROJECT_ID)
    store.add_key(make_key("pk-a"))
    store.revoke_key("pk-a", START_NS + 1)

    assert store.revoke_key("pk-a", START_NS + 2) is True
    assert store.find_key("pk-a") == make_key("pk-a", revoked_ns=START_NS + 1)


def test_adding_a_key_twice_fails(store: Store) -> None:
    store.create_project("A", project_id=PROJECT_ID)
    store.add_key(make_key("pk-a"))

    with pytest.raises(ValueError):
        store.add_key(make_key("pk-a", secret_hash="other"))
    assert store.list_keys() == [make_key("pk-a")]


def test_key_for_a_missing_project_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.add_key(make_key("pk-a", project_id="missing"))


# -- Isolation and persistence ---------------------------------------------------------------


def test_projects_never_see_each_others_data(store: Store) -> None:
    ours = span("1", total_tokens=1, trace=session_attributes("shared-session"))
    theirs = span("1", total_tokens=100, trace=session_attributes("shared-session"))
    store.write(
        [
            make_batch(ours, warnings=(make_warning(),)),
            make_batch(theirs, child("2", "1"), project_id=OTHER_PROJECT),
        ]
    )

    assert store.list_observations(PROJECT_ID, TRACE_ID) == [ours]
    assert store.get_trace(PROJECT_ID, TRACE_ID) == fold_trace([ours])
    assert store.list_traces(PROJECT_ID) == [fold_trace([ours])]
    assert store.get_session(PROJECT_ID, "shared-session") == fold_session(
        "shared-session", [fold_trace([ours])]
    )
    assert store.list_warnings(OTHER_PROJECT) == []
    assert store.list_sessions("project-without-data") == []


def test_reopening_keeps_everything(make_store: StoreFactory) -> None:
    store = make_store()
    store.create_project("A", project_id=PROJECT_ID)
    store.add_key(make_key("pk-a"))
    full = make_full_observation()
    store.write([make_batch(full, warnings=(make_warning(),))])
    before = (snapshot(store), store.list_projects(), store.list_keys())
    store.close()

    reopened = make_store()

    assert (snapshot(reopened), reopened.list_projects(), reopened.list_keys()) == before
    assert snapshot(reopened)[0] == [full]
