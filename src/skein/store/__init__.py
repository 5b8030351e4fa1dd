"""Storage backends behind one interface (`skein.store.base.Store`)."""

from __future__ import annotations

from pathlib import Path

from skein.store.base import Store


def open_store(url: str) -> Store:
    """Open (and migrate) the store a database URL names: `sqlite:///path/to/file.db`."""
    if url.startswith("sqlite:///"):
        from skein.store.sqlite import SQLiteStore

        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteStore(str(path))
    raise ValueError(f"unsupported database URL {url!r}: expected sqlite:///PATH")
