"""Transaction-scoped advisory locks that serialise the refold of one trace or session
across every Skein process writing to one PostgreSQL database.

A write locks the traces (and Langfuse observation targets) it touches before it upserts
their rows and refolds them, and the sessions before it refolds them; the locks go at
commit. Within a phase, keys are taken in ascending order, so two writes that want the same
keys queue instead of deadlocking; a rarer lock taken later (a trace an observation left)
can still deadlock, which the store's retry loop absorbs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import psycopg
from psycopg.rows import TupleRow

TRACE = "t"
SESSION = "s"
OBSERVATION_TARGET = "o"

LOCK_KEYS = "SELECT count(pg_advisory_xact_lock(key)) FROM unnest(%s::bigint[]) AS key"
# Held (session level) while migrating, so processes starting together migrate one at a time.
MIGRATION_LOCK_KEY = 0x736B65696E  # "skein"


def lock_key(kind: str, project_id: str, object_id: str) -> int:
    """A signed 64-bit key for one object (collisions only serialise a little more)."""
    text = f"{kind}\x1f{project_id}\x1f{object_id}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


def lock(
    connection: psycopg.Connection[TupleRow],
    kind: str,
    project_id: str,
    object_ids: Iterable[str],
) -> None:
    """Take the locks of some objects of one kind, in key order."""
    keys = sorted({lock_key(kind, project_id, object_id) for object_id in object_ids})
    if keys:
        connection.execute(LOCK_KEYS, (keys,))


def lock_all(
    connection: psycopg.Connection[TupleRow],
    wanted: Iterable[tuple[str, str, str]],
) -> None:
    """Take the locks of (kind, project id, object id) triples, in key order."""
    keys = sorted({lock_key(*triple) for triple in wanted})
    if keys:
        connection.execute(LOCK_KEYS, (keys,))
