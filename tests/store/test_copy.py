"""`skein.store.copy`: an embedded SQLite install copied into PostgreSQL, resumably."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from skein.prices import ModelPrice
from skein.records import MappedBatch, Score, TraceAttributes
from skein.scores import ScoreQuery
from skein.store import open_store
from skein.store.base import ApiKey, Comment, Store, TraceQuery
from skein.store.copy import copy_database
from tests.store.factories import PROJECT_ID, START_NS, make_full_observation, make_warning
from tests.store.query_factories import seed, trace_id_of

CHUNK = 7


def fill(store: Store) -> None:
    """Every kind of row: projects, keys, observations (one with packed text), warnings,
    scores, prices, comments and bookmarks."""
    store.create_project("main", PROJECT_ID)
    store.add_key(ApiKey("pk-1", PROJECT_ID, "hash", START_NS))
    seed(store)
    big = make_full_observation(trace_id="f" * 32)
    store.write([MappedBatch(PROJECT_ID, (big,), warnings=(make_warning(trace_id="f" * 32),))])
    score = Score("sc1", "quality", "NUMERIC", 0.5, None, START_NS, trace_id=trace_id_of(0),
                  created_ns=1, updated_ns=1)  # fmt: skip
    store.write([MappedBatch(PROJECT_ID, (), scores=(score,))])
    store.put_model_price(ModelPrice("p1", "m", "(?i)^m$", {"input": 1e-6},
                                     project_id=PROJECT_ID, created_ns=3))  # fmt: skip
    store.add_comment(PROJECT_ID, Comment("c1", "session", "s1", "note", "admin", START_NS))
    store.set_bookmark(PROJECT_ID, "s1", True)


def contents(store: Store) -> dict[str, Any]:
    traces = store.list_traces(PROJECT_ID, limit=1000)
    return {
        "projects": [(p.id, p.name) for p in store.list_projects()],
        "keys": store.list_keys(),
        "traces": sorted(traces, key=lambda t: t.trace_id),
        "sessions": store.list_sessions(PROJECT_ID, limit=1000),
        "observations": {
            t.trace_id: store.list_observations(PROJECT_ID, t.trace_id) for t in traces
        },  # fmt: skip
        "warnings": store.list_warnings(PROJECT_ID),
        "scores": store.query_scores(PROJECT_ID, ScoreQuery(limit=100)).items,
        "prices": store.list_model_prices(PROJECT_ID),
        "comments": store.list_comments(PROJECT_ID, "session", "s1"),
        "bookmarks": store.list_bookmarks(PROJECT_ID),
    }


@pytest.fixture
def sqlite_path(tmp_path: Path) -> str:
    path = str(tmp_path / "skein.db")
    store = open_store(f"sqlite:///{path}")
    try:
        fill(store)
    finally:
        store.close()
    return path


def read(url: str) -> dict[str, Any]:
    store = open_store(url)
    try:
        return contents(store)
    finally:
        store.close()


def test_a_copy_holds_what_the_sqlite_database_holds(sqlite_path: str, postgres_url: str) -> None:
    result = copy_database(sqlite_path, postgres_url, chunk_rows=CHUNK)

    copied = read(postgres_url)
    assert copied == read(f"sqlite:///{sqlite_path}")
    assert copied["observations"]["f" * 32][0].input == make_full_observation().input
    assert result.rows > CHUNK


def test_a_stopped_copy_resumes_where_it_stopped(sqlite_path: str, postgres_url: str) -> None:
    seen: list[int] = []

    def stop_in_a_large_table(done: int, total: int) -> None:
        seen.append(done)
        if done >= 4 * CHUNK:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_database(sqlite_path, postgres_url, stop_in_a_large_table, chunk_rows=CHUNK)
    resumed: list[int] = []
    copy_database(sqlite_path, postgres_url, lambda done, total: resumed.append(done), CHUNK)

    assert resumed[0] > seen[-1]  # it went on after the last chunk copied, not from the start
    assert read(postgres_url) == read(f"sqlite:///{sqlite_path}")


def test_copying_again_adds_nothing(sqlite_path: str, postgres_url: str) -> None:
    copy_database(sqlite_path, postgres_url, chunk_rows=CHUNK)
    again = copy_database(sqlite_path, postgres_url, chunk_rows=CHUNK)

    assert read(postgres_url) == read(f"sqlite:///{sqlite_path}")
    assert again.rows == copy_database(sqlite_path, postgres_url).rows


def test_text_holding_nul_is_copied_with_the_replacement_character(
    tmp_path: Path, postgres_url: str
) -> None:
    path = str(tmp_path / "nul.db")
    store = open_store(f"sqlite:///{path}")
    store.create_project("main", PROJECT_ID)
    trace = TraceAttributes(session_id="s1", session_source="session.id", tags=("t\x00",))
    held = make_full_observation(name="a\x00b", metadata={"scope": {"name": "sdk\x00"}})
    store.write([MappedBatch(PROJECT_ID, (dataclasses.replace(held, trace=trace),))])
    store.close()

    copy_database(path, postgres_url)

    copied = open_store(postgres_url)
    try:
        [observation] = copied.list_observations(PROJECT_ID, held.trace_id)
        [coverage] = copied.session_coverage(PROJECT_ID, by="sdk")  # reads metadata as jsonb
        tagged = copied.query_traces(PROJECT_ID, TraceQuery(tags=("t\x00",))).items
    finally:
        copied.close()
    assert observation.name == "a\ufffdb"
    assert observation.metadata == {"scope": {"name": "sdk\ufffd"}}
    assert coverage.key == "sdk\ufffd" and [t.trace_id for t in tagged] == [held.trace_id]
