"""`skein db migrate` (apply migrations explicitly) and `skein db copy` (move an embedded
SQLite install into PostgreSQL, resumably, with a progress bar on a terminal)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from skein.settings import Settings

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
BAR_WIDTH = 30

AddFlags = Callable[[argparse.ArgumentParser], None]


def add_db_copy_commands(db: Any, add_database_flags: AddFlags) -> None:
    """Add `migrate` and `copy` to the `skein db` subcommands."""
    migrate = db.add_parser("migrate", help="apply the database's pending schema migrations")
    add_database_flags(migrate)
    migrate.set_defaults(run=run_migrate)
    copy = db.add_parser(
        "copy", help="copy a SQLite database into PostgreSQL (resumes a copy that stopped)"
    )
    copy.add_argument("--from", dest="source", required=True, help="sqlite:///PATH")
    copy.add_argument("--to", dest="target", required=True, help="postgresql://...")
    copy.set_defaults(run=run_copy)


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.resolved_database_url()
    applied = migrate_url(url)
    names = ", ".join(f"{version:04d}_{name}" for version, name in applied)
    print(f"applied {names}" if applied else "the database is up to date")
    return 0


def migrate_url(url: str) -> list[tuple[int, str]]:
    """Apply a database's pending migrations; (version, name) of those applied."""
    from skein.store.migrations import packaged_migrations

    if url.startswith(POSTGRES_PREFIXES):
        import psycopg

        from skein.store.postgres import migrate_database

        with psycopg.connect(url, autocommit=True) as connection:
            applied = migrate_database(connection, packaged_migrations("postgresql"))
        return [(m.version, m.name) for m in applied]
    if url.startswith(SQLITE_PREFIX):
        return _migrate_sqlite(url.removeprefix(SQLITE_PREFIX))
    raise SystemExit(f"skein: unsupported database URL {url!r}")


def _migrate_sqlite(path: str) -> list[tuple[int, str]]:
    import sqlite3

    from skein.store.migrations import packaged_migrations
    from skein.store.sqlite import SQLiteStore

    known = {m.version: m.name for m in packaged_migrations("sqlite")}
    before = _sqlite_versions(sqlite3, path)
    SQLiteStore(path).close()
    return [(v, known[v]) for v in sorted(_sqlite_versions(sqlite3, path) - before)]


def _sqlite_versions(sqlite3: Any, path: str) -> set[int]:
    connection = sqlite3.connect(path)
    try:
        exists = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'"
        ).fetchone()
        if not exists:
            return set()
        return {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
    finally:
        connection.close()


def run_copy(args: argparse.Namespace, settings: Settings) -> int:
    from skein.store.copy import CopyError, copy_database

    if not args.source.startswith(SQLITE_PREFIX):
        return _fail(f"--from must be sqlite:///PATH, not {args.source!r}")
    if not args.target.startswith(POSTGRES_PREFIXES):
        return _fail(f"--to must be postgresql://..., not {args.target!r}")
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        result = copy_database(
            args.source.removeprefix(SQLITE_PREFIX), args.target, bar.show if bar else None
        )
    except CopyError as error:
        return _fail(str(error))
    finally:
        if bar is not None:
            bar.finish()
    print(f"copied {result.rows} rows of {result.tables} tables")
    return 0


class ProgressBar:
    """`[#####.....]  45%  12345/27000 rows` redrawn in place on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._drawn = False

    def show(self, done: int, total: int) -> None:
        self._stream.write("\r" + progress_line(done, total))
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def progress_line(done: int, total: int) -> str:
    fraction = min(1.0, done / total) if total else 1.0
    filled = round(fraction * BAR_WIDTH)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"[{bar}] {fraction:4.0%}  {done}/{total} rows"


def _fail(message: str) -> int:
    print(f"skein: {message}", file=sys.stderr)
    return 2
