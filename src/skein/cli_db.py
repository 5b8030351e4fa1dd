"""`skein db backup|restore` and `skein projects list|retention`, and the lock by which a
running server tells `skein db restore` that it is using the database.

`skein serve` holds a shared `flock` on `<database>.serve-lock` while it runs (the kernel
drops it when the process dies, even by SIGKILL). `skein db restore` takes the lock
exclusively: it refuses while a server holds it, unless `--force`, and a server that starts
during a restore waits until the restore is done.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from skein.cli_db_copy import add_db_copy_commands
from skein.settings import Settings
from skein.store import open_store
from skein.store.migrations import packaged_migrations
from skein.store.sqlite_backup import BackupError, BackupInfo, backup, restore

SQLITE_PREFIX = "sqlite:///"
LOCK_SUFFIX = ".serve-lock"

AddFlags = Callable[[argparse.ArgumentParser], None]


def sqlite_database(settings: Settings) -> Path | None:
    """The SQLite file the settings name, or None for another backend."""
    url = settings.resolved_database_url()
    return Path(url.removeprefix(SQLITE_PREFIX)) if url.startswith(SQLITE_PREFIX) else None


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + LOCK_SUFFIX)


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[None]:
    """Held by `skein serve` for as long as it runs (shared: several servers may run)."""
    database = sqlite_database(settings)
    if database is None:
        yield
        return
    with _locked(lock_path(database), fcntl.LOCK_SH):
        yield


@contextlib.contextmanager
def _locked(path: Path, operation: int) -> Iterator[bool]:
    """Take an flock on `path`; yields False when non-blocking and another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, operation)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)


# -- skein db ---------------------------------------------------------------------------------


def add_db_commands(commands: Any, add_database_flags: AddFlags) -> None:
    """Add `db backup|restore` and `projects list|retention` to the `skein` subcommands."""
    db = commands.add_parser("db", help="back up or restore the database").add_subparsers(
        title="db"
    )
    add_db_copy_commands(db, add_database_flags)  # migrate, copy (skein.cli_db_copy)
    made = db.add_parser("backup", help="copy the live database to PATH (consistent snapshot)")
    made.add_argument("path", type=Path)
    add_database_flags(made)
    made.set_defaults(run=run_backup)
    back = db.add_parser("restore", help="replace the database with the backup at PATH")
    back.add_argument("path", type=Path)
    back.add_argument("--force", action="store_true", help="even while a server is running")
    add_database_flags(back)
    back.set_defaults(run=run_restore)
    _add_project_commands(commands, add_database_flags)


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    database = _require_sqlite(settings)
    try:
        info = backup(database, args.path, _known_versions())
    except BackupError as error:
        return _fail(f"backup failed: {error}")
    print(f"backed up {database} to {info.path}: {_summary(info)}")
    return 0


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    database = _require_sqlite(settings)
    with _locked(lock_path(database), fcntl.LOCK_EX | fcntl.LOCK_NB) as exclusive:
        if not exclusive and not args.force:
            return _fail(
                f"a server is running on {database}; stop it first (or pass --force to"
                " restore under it)"
            )
        try:
            info = restore(args.path, database, _known_versions())
        except BackupError as error:
            return _fail(f"restore refused: {error}")
    open_store(settings.resolved_database_url()).close()  # applies newer migrations, if any
    print(f"restored {database} from {args.path}: {_summary(info)}")
    return 0


def _known_versions() -> set[int]:
    return {migration.version for migration in packaged_migrations("sqlite")}


def _require_sqlite(settings: Settings) -> Path:
    database = sqlite_database(settings)
    if database is None:
        raise SystemExit("skein: db backup and restore work on SQLite databases only")
    return database


def _summary(info: BackupInfo) -> str:
    return (
        f"schema version {info.schema_version}, {info.projects} project(s),"
        f" {info.traces} trace(s), {info.size_bytes} bytes"
    )


def _fail(message: str) -> int:
    print(f"skein: {message}", file=sys.stderr)
    return 1


# -- skein projects -----------------------------------------------------------------------------


def _add_project_commands(commands: Any, add_database_flags: AddFlags) -> None:
    projects = commands.add_parser("projects", help="list projects, set retention")
    actions = projects.add_subparsers(title="projects")
    listing = actions.add_parser("list", help="list projects and their retention")
    add_database_flags(listing)
    listing.set_defaults(run=run_projects_list)
    retention = actions.add_parser(
        "retention", help="keep a project's traces DAYS days (0: keep them forever)"
    )
    retention.add_argument("project", help="project id")
    retention.add_argument("days", type=_days)
    add_database_flags(retention)
    retention.set_defaults(run=run_projects_retention)


def _days(text: str) -> int:
    days = int(text)
    if days < 0:
        raise argparse.ArgumentTypeError("DAYS must be 0 (keep forever) or more")
    return days


def run_projects_list(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings.resolved_database_url())
    try:
        for project in store.list_projects():
            kept = f"{project.retention_days} days" if project.retention_days else "forever"
            print(f"{project.id}\t{project.name}\tkeeps traces {kept}")
    finally:
        store.close()
    return 0


def run_projects_retention(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings.resolved_database_url())
    try:
        changed = store.set_retention_days(args.project, args.days or None)
    finally:
        store.close()
    if not changed:
        return _fail(f"no project {args.project}")
    kept = f"{args.days} days" if args.days else "forever"
    print(f"project {args.project} keeps its traces {kept}")
    return 0
