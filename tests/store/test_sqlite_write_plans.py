"""The statements of Langfuse events, scores and prices search an index (SQLite only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from skein.store import sqlite_patches, sqlite_prices, sqlite_scores
from skein.store.sqlite import SQLiteStore

STATEMENTS = (
    sqlite_patches.SELECT_PATCHES,
    sqlite_patches.DELETE_OBSERVATION,
    sqlite_patches.SELECT_OBSERVATION_IDS_OF_TRACES,
    sqlite_patches.DELETE_PATCHES_OF_TRACES,
    sqlite_patches.DELETE_OBSERVATION_PATCHES,
    sqlite_scores.SELECT_SCORE,
    sqlite_scores.SELECT_TARGETS,
    sqlite_scores.SELECT_SESSIONS_OF_TRACES,
    sqlite_scores.HAS_SCORES,
    sqlite_scores.SELECT_SESSION_SCORES,
    sqlite_scores.DELETE_SCORE,
    sqlite_scores.DELETE_SCORES_OF_TRACES,
    sqlite_prices.SELECT_PRICES,
    sqlite_prices.DELETE_PRICE,
)
TABLES = ("observations", "traces", "sessions", "event_patches", "scores", "model_prices")


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> str:
    database = str(Path(tmp_path_factory.mktemp("plans")) / "skein.db")
    SQLiteStore(database).close()
    return database


def plan(path: str, statement: str) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        numbered = "?2" in statement
        parameters = [None] * (2 if numbered else statement.count("?"))
        return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    finally:
        connection.close()


@pytest.mark.parametrize("statement", STATEMENTS)
def test_statements_search_an_index(path: str, statement: str) -> None:
    steps = plan(path, statement)

    assert not [step for step in steps if step.split()[:2] in (["SCAN", t] for t in TABLES)]
    assert any(step.startswith("SEARCH") for step in steps)
