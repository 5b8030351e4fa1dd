"""Storage backends behind one interface (`skein.store.base.Store`)."""

from __future__ import annotations

from pathlib import Path

from skein.store.base import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(
    url: str, *, pool_size: int = 10, migrate: bool = True, checkpoints: bool = True
) -> Store:
    """Open (and migrate) the store a database URL names: `sqlite:///path/to/file.db` or
    `postgresql://user@host/db`. `pool_size` and `migrate` apply to PostgreSQL (SQLite always
    migrates: it is one process's embedded file); `checkpoints` to SQLite, whose store copies
    its write-ahead log into the database in the background unless told not to (when another
    store on the same file does it for every writer)."""
    if url.startswith(POSTGRES_SCHEMES):
        from skein.store.postgres import PostgresStore

        return PostgresStore(url, pool_size=pool_size, migrate=migrate)
    if url.startswith("sqlite:///"):
        from skein.store.sqlite import SQLiteStore

        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteStore(str(path), checkpoints=checkpoints)
    raise ValueError(
        f"unsupported database URL {url!r}: expected sqlite:///PATH or postgresql://..."
    )
