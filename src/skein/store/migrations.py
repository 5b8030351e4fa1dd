"""A small schema migration runner, shared by the store backends.

Migrations are SQL files named `NNNN_name.sql` under `migrations/<dialect>/`, applied in
version order, each in its own transaction, and recorded in a `schema_migrations(version,
name, applied_ns)` table. Opening a database applies only the migrations it has not seen; a
database that records a migration this code does not know (a newer Skein wrote it) is refused.

The runner knows nothing about a database: a backend hands it a `MigrationTarget`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Protocol

from skein.errors import SkeinError

logger = logging.getLogger(__name__)

MIGRATION_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


class MigrationError(SkeinError):
    """The migrations are malformed, or the database was migrated by a newer Skein."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


class MigrationTarget(Protocol):
    """One database, as the runner needs it."""

    def applied_versions(self) -> set[int]:
        """Versions recorded in `schema_migrations` (creating the table if it is missing)."""
        ...

    def apply(self, migration: Migration, applied_ns: int) -> None:
        """Run the migration and record it, in one transaction; roll back on failure."""
        ...


def packaged_migrations(dialect: str) -> tuple[Migration, ...]:
    """The migrations shipped with Skein for one backend, e.g. "sqlite"."""
    return load_migrations(resources.files("skein.store") / "migrations" / dialect)


def load_migrations(directory: Traversable) -> tuple[Migration, ...]:
    """Read the `NNNN_name.sql` files of a directory, in version order."""
    found = [_read(entry) for entry in directory.iterdir() if entry.name.endswith(".sql")]
    migrations = tuple(sorted(found, key=lambda m: m.version))
    _check_unique(migrations)
    return migrations


def migrate(target: MigrationTarget, migrations: Sequence[Migration]) -> tuple[Migration, ...]:
    """Apply the migrations the target has not seen, in order; return those applied."""
    applied = pending_migrations(migrations, target.applied_versions())
    for migration in applied:
        _apply(target, migration)
    return applied


def pending_migrations(
    migrations: Sequence[Migration], applied_versions: Iterable[int]
) -> tuple[Migration, ...]:
    """The migrations still to apply, or MigrationError if the database is ahead of the code."""
    applied = set(applied_versions)
    known = {m.version for m in migrations}
    unknown = sorted(applied - known)
    if unknown:
        raise MigrationError(_unknown_versions_message(unknown, max(known, default=0)))
    return tuple(m for m in migrations if m.version not in applied)


def _apply(target: MigrationTarget, migration: Migration) -> None:
    logger.info("applying migration %04d_%s", migration.version, migration.name)
    try:
        target.apply(migration, time.time_ns())
    except Exception:
        # Another process opening the same database may have applied it meanwhile.
        if migration.version not in target.applied_versions():
            raise


def _read(entry: Traversable) -> Migration:
    match = MIGRATION_FILE_NAME.match(entry.name)
    if match is None:
        raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
    return Migration(
        version=int(match["version"]),
        name=match["name"],
        sql=entry.read_text(encoding="utf-8"),
    )


def _check_unique(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    duplicates = sorted({v for v in versions if versions.count(v) > 1})
    if duplicates:
        raise MigrationError(f"several migrations share version(s) {duplicates}")


def _unknown_versions_message(unknown: Sequence[int], newest_known: int) -> str:
    if max(unknown) > newest_known:
        return (
            f"the database schema is at version {max(unknown)}, newer than this Skein knows"
            f" (up to {newest_known}): upgrade Skein, or point it at another database"
        )
    return f"the database records migration(s) {list(unknown)} that this Skein does not know"
