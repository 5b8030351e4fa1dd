"""Backup and restore of a SQLite database, live, through SQLite's online backup API.

`backup` copies a database that a server may be writing to: the copy is one consistent
snapshot (taken in a single backup step, as one read transaction; in WAL mode the writer
is not blocked meanwhile), written to a temporary file beside the target, checked, turned
into a self-contained file (rollback journal, no `-wal`) and only then renamed into place.

`restore` first checks the backup (it opens, `PRAGMA integrity_check` says ok, and its
schema is one this Skein knows), then copies it page by page over the database, through the
same API, so that connections other processes hold see the restored content.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000
REQUIRED_TABLES = ("schema_migrations", "projects", "api_keys", "observations", "traces")


class BackupError(Exception):
    """A backup that cannot be made or used; the message says why."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """What a checked database file holds."""

    path: Path
    schema_version: int
    size_bytes: int
    projects: int
    traces: int


def backup(database: Path, target: Path, known_versions: Iterable[int]) -> BackupInfo:
    """Copy `database` (live) to `target` as one consistent, checked, self-contained file."""
    if not database.exists():
        raise BackupError(f"no database at {database}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with _connected(database) as source, _connected(partial) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
        info = inspect(partial, known_versions)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(target, info.schema_version, info.size_bytes, info.projects, info.traces)


def restore(source: Path, database: Path, known_versions: Iterable[int]) -> BackupInfo:
    """Check the backup `source`, then copy it over `database` (created if missing)."""
    info = inspect(source, known_versions)
    database.parent.mkdir(parents=True, exist_ok=True)
    with _connected(source, read_only=True) as backup_copy, _connected(database) as live:
        backup_copy.backup(live)
    return info


def inspect(path: Path, known_versions: Iterable[int]) -> BackupInfo:
    """Check that `path` is a sound Skein database this code can use; what it holds."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    try:
        with _connected(path, read_only=True) as connection:
            return _checked(connection, path, set(known_versions))
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database: {error}") from None


def _checked(connection: sqlite3.Connection, path: Path, known: set[int]) -> BackupInfo:
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{path} failed its integrity check: {'; '.join(problems[:5])}")
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        raise BackupError(f"{path} is not a Skein database (no table {', '.join(missing)})")
    versions = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
    unknown = sorted(versions - known)
    if unknown:
        raise BackupError(
            f"{path} has schema migrations {unknown} that this Skein does not know:"
            " it was made by a newer Skein"
        )
    return BackupInfo(
        path=path,
        schema_version=max(versions, default=0),
        size_bytes=path.stat().st_size,
        projects=_count(connection, "projects"),
        traces=_count(connection, "traces"),
    )


def _count(connection: sqlite3.Connection, table: str) -> int:
    count: int = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return count


@contextlib.contextmanager
def _connected(path: Path, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    else:
        connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        yield connection
    finally:
        connection.close()
