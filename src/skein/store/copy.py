"""Copy an embedded SQLite install into PostgreSQL (`skein db copy`), resumably.

Both databases are migrated to this Skein's schema first, so they hold the same tables. Each
table is copied in primary-key order, a chunk per PostgreSQL transaction that also records
the last key copied in `skein_copy_progress`; a copy that stops (killed, network lost)
continues after that key when run again, and `ON CONFLICT DO NOTHING` makes a chunk that
was copied but not recorded harmless. Traces and sessions are copied as they are: the
source's rollups are the folds of its observations, and so stay those of the copied ones
(stop the server that writes the SQLite file first).

Values change form on the way: SQLite's 0/1 flags become booleans, text that SQLite stored
compressed (`sqlite_text.pack`) is stored as text, and an observation's rowid becomes its
`seq` (so observations keep their insertion order).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from skein.store.postgres import PostgresStore
from skein.store.postgres_text import nul_free, store_nul_free_text
from skein.store.rows import json_text
from skein.store.sqlite import SQLiteStore
from skein.store.sqlite_text import unpack

logger = logging.getLogger(__name__)

Connection = psycopg.Connection[TupleRow]
# Called after each chunk with (rows copied so far, rows in all).
Progress = Callable[[int, int], None]

CHUNK_ROWS = 2000
# Copied first: api_keys refers to it.
FIRST_TABLES = ("projects",)
SKIPPED_TABLES = frozenset({"schema_migrations", "skein_copy_progress"})
# How JSON text writes a NUL character.
ESCAPED_NUL = "\\u0000"
CREATE_PROGRESS = (
    "CREATE TABLE IF NOT EXISTS skein_copy_progress (source TEXT NOT NULL,"
    " table_name TEXT NOT NULL, last_key TEXT, done BOOLEAN NOT NULL DEFAULT FALSE,"
    " copied BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (source, table_name))"
)
SELECT_PROGRESS = (
    "SELECT last_key, done, copied FROM skein_copy_progress WHERE source = %s AND table_name = %s"
)
SAVE_PROGRESS = (
    "INSERT INTO skein_copy_progress (source, table_name, last_key, done, copied)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (source, table_name) DO UPDATE SET"
    " last_key = EXCLUDED.last_key, done = EXCLUDED.done, copied = EXCLUDED.copied"
)
TARGET_COLUMNS = (
    "SELECT column_name, data_type FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND table_name = %s"
)
IDENTITY_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    " AND table_name = %s AND is_identity = 'YES'"
)


class CopyError(Exception):
    """The two databases cannot be copied one into the other."""


@dataclass(frozen=True, slots=True)
class TablePlan:
    """How one table is read from SQLite and written to PostgreSQL."""

    name: str
    source_columns: tuple[str, ...]  # SQLite expressions, in order
    target_columns: tuple[str, ...]  # PostgreSQL columns, same order
    key: tuple[str, ...]  # SQLite primary key (the copy order)
    booleans: frozenset[int]  # positions whose 0/1 becomes a bool
    texts: frozenset[int]  # positions whose value may be packed text


@dataclass(frozen=True, slots=True)
class CopyResult:
    tables: int
    rows: int


def copy_database(
    sqlite_path: str,
    postgres_url: str,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> CopyResult:
    """Copy every table of the SQLite database into the PostgreSQL one (resuming a copy
    that stopped); both are migrated first."""
    SQLiteStore(sqlite_path).close()
    PostgresStore(postgres_url, pool_size=1).close()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        with psycopg.connect(postgres_url) as target:
            store_nul_free_text(target)
            target.execute(CREATE_PROGRESS)
            target.commit()
            plans = [_plan(source, target, name) for name in _tables(source, target)]
            total = sum(_count(source, plan.name) for plan in plans)
            copied = _copy_tables(source, target, sqlite_path, plans, total, progress, chunk_rows)
            return CopyResult(len(plans), copied)
    finally:
        source.close()


def _copy_tables(
    source: sqlite3.Connection,
    target: Connection,
    label: str,
    plans: Sequence[TablePlan],
    total: int,
    progress: Progress | None,
    chunk_rows: int,
) -> int:
    done = 0
    for plan in plans:
        for copied in _copy_table(source, target, label, plan, chunk_rows):
            if progress is not None:
                progress(done + copied, total)
        done += _saved(target, label, plan.name)[2]
        _advance_identities(target, plan.name)
    return done


def _copy_table(
    source: sqlite3.Connection, target: Connection, label: str, plan: TablePlan, chunk_rows: int
) -> Iterator[int]:
    """Copy one table chunk by chunk; yields the table's rows copied so far."""
    last_key, finished, copied = _saved(target, label, plan.name)
    insert = _insert_statement(plan)
    while not finished:
        rows = _read_chunk(source, plan, json.loads(last_key) if last_key else None, chunk_rows)
        finished = len(rows) < chunk_rows
        with target.transaction():
            if rows:
                with target.cursor() as cursor:
                    cursor.executemany(insert, [_converted(plan, row) for row in rows])
                last_key = json.dumps(list(rows[-1][-len(plan.key) :]))
            copied += len(rows)
            target.execute(SAVE_PROGRESS, (label, plan.name, last_key, finished, copied))
        yield copied


def _read_chunk(
    source: sqlite3.Connection, plan: TablePlan, after: list[Any] | None, limit: int
) -> list[tuple[Any, ...]]:
    key = ", ".join(plan.key)
    columns = ", ".join((*plan.source_columns, *plan.key))
    where = f"WHERE ({key}) > ({', '.join('?' * len(plan.key))})" if after else ""
    statement = f"SELECT {columns} FROM {plan.name} {where} ORDER BY {key} LIMIT {int(limit)}"
    return source.execute(statement, after or ()).fetchall()


def _converted(plan: TablePlan, row: tuple[Any, ...]) -> tuple[Any, ...]:
    values = list(row[: len(plan.target_columns)])
    for position in plan.booleans:
        if values[position] is not None:
            values[position] = bool(values[position])
    for position in plan.texts:
        if isinstance(values[position], bytes):
            values[position] = unpack(values[position])
        values[position] = _without_escaped_nul(values[position])
    return tuple(values)


def _without_escaped_nul(text: Any) -> Any:
    """JSON text holding an escaped NUL (`\\u0000`, which PostgreSQL's `jsonb` refuses, and
    queries cast metadata and tags to it) written again with U+FFFD in its place; the NUL
    characters of other text are replaced by the connection's dumpers."""
    if not isinstance(text, str) or ESCAPED_NUL not in text:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text  # not JSON: the escape is plain text
    return json_text(nul_free(value)) if isinstance(value, dict | list) else text


def _insert_statement(plan: TablePlan) -> sql.Composed:
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(plan.name),
        sql.SQL(", ").join(map(sql.Identifier, plan.target_columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(plan.target_columns)),
    )


# -- Plans -----------------------------------------------------------------------------------


def _tables(source: sqlite3.Connection, target: Connection) -> list[str]:
    names = {
        row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    names = {n for n in names if not n.startswith("sqlite_") and n not in SKIPPED_TABLES}
    missing = sorted(n for n in names if not _target_types(target, n))
    if missing:
        raise CopyError(f"PostgreSQL has no table(s) {missing}: is it from another Skein?")
    return [*FIRST_TABLES, *sorted(names - set(FIRST_TABLES))]


def _plan(source: sqlite3.Connection, target: Connection, table: str) -> TablePlan:
    info = source.execute(f"PRAGMA table_info({table})").fetchall()
    types = _target_types(target, table)
    columns = [row[1] for row in info if row[1] in types]
    key = tuple(row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]) or ("rowid",)
    source_columns, target_columns = list(columns), list(columns)
    if "seq" in types and "seq" not in columns:  # observations: the rowid is the order
        source_columns.append("rowid")
        target_columns.append("seq")
    return TablePlan(
        name=table,
        source_columns=tuple(source_columns),
        target_columns=tuple(target_columns),
        key=key,
        booleans=frozenset(i for i, c in enumerate(target_columns) if types[c] == "boolean"),
        texts=frozenset(i for i, c in enumerate(target_columns) if types[c] == "text"),
    )


def _target_types(target: Connection, table: str) -> dict[str, str]:
    return {name: kind for name, kind in target.execute(TARGET_COLUMNS, (table,))}


def _count(source: sqlite3.Connection, table: str) -> int:
    count: int = source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return count


def _saved(target: Connection, label: str, table: str) -> tuple[str | None, bool, int]:
    row = target.execute(SELECT_PROGRESS, (label, table)).fetchone()
    target.commit()
    return (row[0], bool(row[1]), int(row[2])) if row else (None, False, 0)


def _advance_identities(target: Connection, table: str) -> None:
    """Move identity sequences past the copied values (later inserts must not collide)."""
    for (column,) in target.execute(IDENTITY_COLUMNS, (table,)).fetchall():
        target.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({}), 0) + 1, false)"
                " FROM {}"
            ).format(sql.Identifier(column), sql.Identifier(table)),
            (table, column),
        )
    target.commit()
