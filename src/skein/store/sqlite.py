"""The SQLite store: the embedded default backend.

One writer connection takes every write under a lock, one `BEGIN IMMEDIATE` transaction per
`write` call (group commit); reads borrow connections from a small pool and run concurrently,
which WAL mode allows next to the writer.

A write upserts the observations, then refolds every trace it touched with `fold_trace` and
every session those traces left or joined with `fold_session`. Each step is one statement per
project: sets of ids travel as one JSON array parameter (`IN (SELECT value FROM
json_each(?))`), so statement texts stay constant and no id list meets SQLite's variable
limit.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from operator import is_
from pathlib import Path
from typing import Any

from skein.fold import (
    SessionSummary,
    TraceRollup,
    TraceSummary,
    fold_session,
    fold_trace,
)
from skein.prices import ModelPrice
from skein.records import (
    TRACE_CARRIER_TYPE,
    IngestWarning,
    MappedBatch,
    Observation,
    Score,
)
from skein.repair.model import (
    AlreadyUndone,
    Assignment,
    AuditEntry,
    Candidate,
    CandidateQuery,
    SessionDataMove,
    SessionRule,
    moved_sessions,
)
from skein.scores import ScoreQuery
from skein.store import (
    sqlite_comments,
    sqlite_diagnostics,
    sqlite_patches,
    sqlite_prices,
    sqlite_queries,
    sqlite_repair,
    sqlite_retention,
    sqlite_scores,
)
from skein.store.base import (
    Comment,
    Coverage,
    ObservationQuery,
    Page,
    SessionConflict,
    SessionQuery,
    SessionSource,
    TraceIO,
    TraceQuery,
    TraceRows,
)
from skein.store.migrations import Migration, migrate, packaged_migrations
from skein.store.rows import (
    OBSERVATION_COLUMNS,
    OBSERVATION_FOLD_COLUMNS,
    SESSION_COLUMNS,
    TRACE_COLUMNS,
    MetadataTexts,
    decoded,
    from_json,
    json_ids,
    observation_from_row,
    observation_row,
    observation_to_fold,
    session_from_row,
    session_row,
    trace_from_row,
    trace_row,
    with_text_unpacked,
)
from skein.store.shared import SharedStore, Statements
from skein.store.sqlite_checkpoint import Checkpointer
from skein.store.sqlite_text import Packed, pack, unpack

logger = logging.getLogger(__name__)

# -- Connection settings -------------------------------------------------------------------

# Readers never block the writer and the writer never blocks readers.
JOURNAL_MODE = "WAL"
# In WAL mode NORMAL syncs at checkpoints, not at every commit. A committed transaction is in
# the WAL file (the OS holds it) and survives a kill of the process, which is the promise
# behind a 2xx answer; only an OS crash or power loss can lose the latest commits.
SYNCHRONOUS = "NORMAL"
# How long a connection waits for another process's lock before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 10_000
# Page cache per connection, in KiB (64 MiB); SQLite allocates it only as pages are used.
CACHE_SIZE_KIB = 65_536
# Sorts and temporary indexes stay in memory.
TEMP_STORE = "MEMORY"
# Enforce the one foreign key (api_keys.project_id); the ingestion tables declare none.
FOREIGN_KEYS = "ON"
# Database page size for new databases (an existing one keeps its own). Larger pages pack
# rows of kilobytes better (16 KiB: a 10% smaller database), but each index entry inserted
# at a random place (span and trace ids are random) writes its whole page to the WAL again,
# which grows with the database: the benchmark's CPU per span was 45% higher at a million
# spans than at 100,000 on 16 KiB pages. Skein keeps SQLite's 4 KiB (bench/RESULTS.md).
PAGE_SIZE_BYTES = 4096
# Truncate the WAL file back to this size (bytes) after a checkpoint instead of keeping its peak.
# Large enough for the WAL of a checkpoint round under load (~4 s: `sqlite_checkpoint`), so it
# is overwritten in place rather than cut back and grown again, block by block (1M-span
# ingest: 11.8-12.7k spans/s against 10.7k with 256 MiB).
JOURNAL_SIZE_LIMIT_BYTES = 512 * 1024 * 1024
# Reader connections refuse writes, so every write goes through the writer's lock.
READER_QUERY_ONLY = "ON"
# Next to the database: the file whose flock writers in several processes take turns on.
WRITE_LOCK_SUFFIX = ".write-lock"

# Run on closing the writer: refreshes the query planner's statistics where they went stale.
OPTIMIZE = "PRAGMA optimize"

WRITER_PRAGMAS = (
    # Only takes effect on a new database (before WAL mode is set), so it comes first.
    f"PRAGMA page_size = {PAGE_SIZE_BYTES}",
    f"PRAGMA journal_mode = {JOURNAL_MODE}",
    f"PRAGMA synchronous = {SYNCHRONOUS}",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    f"PRAGMA cache_size = -{CACHE_SIZE_KIB}",
    f"PRAGMA temp_store = {TEMP_STORE}",
    f"PRAGMA foreign_keys = {FOREIGN_KEYS}",
    f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES}",
    # No checkpoint inside a commit: skein.store.sqlite_checkpoint runs them in the background.
    "PRAGMA wal_autocheckpoint = 0",
)
# The checkpointer's connection: it only copies the WAL into the database.
CHECKPOINT_PRAGMAS = (f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",)
READER_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    f"PRAGMA cache_size = -{CACHE_SIZE_KIB}",
    f"PRAGMA temp_store = {TEMP_STORE}",
    f"PRAGMA query_only = {READER_QUERY_ONLY}",
)
# What `connection_settings` reports.
REPORTED_PRAGMAS = (
    "journal_mode",
    "synchronous",
    "busy_timeout",
    "cache_size",
    "temp_store",
    "foreign_keys",
)

# -- Statements ----------------------------------------------------------------------------

PROJECT_COLUMNS = "id, name, created_ns"
KEY_COLUMNS = "public_key, project_id, secret_hash, created_ns, revoked_ns, note"
WARNING_COLUMNS = "project_id, created_ns, trace_id, span_id, code, message"

# A set of ids bound as one JSON array.
IDS_PARAMETER = "(SELECT value FROM json_each(?))"


def _upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    names = ("project_id", *columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


UPSERT_OBSERVATION = _upsert("observations", OBSERVATION_COLUMNS, ("project_id", "trace_id", "id"))
UPSERT_TRACE = _upsert("traces", TRACE_COLUMNS, ("project_id", "trace_id"))
UPSERT_SESSION = _upsert("sessions", SESSION_COLUMNS, ("project_id", "session_id"))

# The trace fold needs to know whether a span carries trace input/output, not the text.
SELECT_OBSERVATIONS_TO_FOLD = (
    f"SELECT {', '.join(OBSERVATION_FOLD_COLUMNS)},"
    " trace_input IS NOT NULL, trace_output IS NOT NULL"
    f" FROM observations WHERE project_id = ? AND trace_id IN {IDS_PARAMETER}"
)
# The keys of the same rows, in the same order (the primary key's), from the key alone.
SELECT_OBSERVATION_KEYS_TO_FOLD = (
    f"SELECT trace_id, id FROM observations WHERE project_id = ? AND trace_id IN {IDS_PARAMETER}"
)
# A trace's observations, without the carrier of its trace-create values (if any).
SELECT_OBSERVATIONS = (
    f"SELECT {', '.join(OBSERVATION_COLUMNS)} FROM observations"
    f" WHERE project_id = ? AND trace_id = ? AND type != '{TRACE_CARRIER_TYPE}'"
    # `+start_ns`: sorting the trace's rows beats walking the project's start-time index,
    # which SQLite picks for the ORDER BY before ANALYZE has run (a whole-project scan).
    " ORDER BY +start_ns, id"
)
# Each id looked up by primary key (the caller makes a set). As `trace_id IN (...)` SQLite
# walks the project's whole session index instead, which holds both columns.
SELECT_SESSIONS_OF_TRACES = (
    "SELECT t.session_id FROM json_each(?2) AS j CROSS JOIN traces AS t"
    " ON t.project_id = ?1 AND t.trace_id = j.value"
)
# What a session's fold reads of its traces (tags last).
SELECT_TRACES_TO_FOLD = (
    f"SELECT session_id, {', '.join(TraceRollup._fields)}"
    f" FROM traces WHERE project_id = ? AND session_id IN {IDS_PARAMETER}"
)
SELECT_TRACE = (
    f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces WHERE project_id = ? AND trace_id = ?"
)
SELECT_SESSION_TRACES = (
    f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces WHERE project_id = ? AND session_id = ?"
    " ORDER BY start_ns, trace_id LIMIT ? OFFSET ?"
)
SELECT_PROJECT_TRACES = (
    f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces WHERE project_id = ?"
    " ORDER BY start_ns DESC, trace_id DESC LIMIT ? OFFSET ?"
)
DELETE_SESSIONS = f"DELETE FROM sessions WHERE project_id = ? AND session_id IN {IDS_PARAMETER}"
DELETE_TRACES = f"DELETE FROM traces WHERE project_id = ? AND trace_id IN {IDS_PARAMETER}"
SELECT_SESSION = (
    f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE project_id = ? AND session_id = ?"
)
SELECT_SESSIONS = (
    f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE project_id = ?"
    " ORDER BY last_ns DESC, session_id LIMIT ? OFFSET ?"
)
# A re-delivered span repeats its warnings; keep one of each.
INSERT_WARNING = (
    "INSERT INTO ingestion_warnings (project_id, trace_id, span_id, code, message, created_ns)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM ingestion_warnings"
    " WHERE project_id = ?1 AND trace_id = ?2 AND span_id IS ?3 AND code = ?4 AND message = ?5)"
)
SELECT_WARNINGS = (
    f"SELECT {WARNING_COLUMNS} FROM ingestion_warnings WHERE project_id = ?"
    " ORDER BY id DESC LIMIT ?"
)
SELECT_TRACE_WARNINGS = (
    f"SELECT {WARNING_COLUMNS} FROM ingestion_warnings WHERE project_id = ? AND trace_id = ?"
    " ORDER BY id DESC LIMIT ?"
)
INSERT_PROJECT = f"INSERT INTO projects ({PROJECT_COLUMNS}) VALUES (?, ?, ?)"
SELECT_PROJECT = f"SELECT {PROJECT_COLUMNS}, retention_days FROM projects WHERE id = ?"
SELECT_PROJECTS = f"SELECT {PROJECT_COLUMNS}, retention_days FROM projects ORDER BY created_ns, id"
INSERT_KEY = f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
SELECT_KEY = f"SELECT {KEY_COLUMNS} FROM api_keys WHERE public_key = ?"
SELECT_KEYS = f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_ns, public_key"
SELECT_PROJECT_KEYS = (
    f"SELECT {KEY_COLUMNS} FROM api_keys WHERE project_id = ? ORDER BY created_ns, public_key"
)
# Revoking twice keeps the first revocation time.
REVOKE_KEY = "UPDATE api_keys SET revoked_ns = coalesce(revoked_ns, ?) WHERE public_key = ?"
CREATE_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, applied_ns INTEGER NOT NULL)"
)
SELECT_MIGRATION_VERSIONS = "SELECT version FROM schema_migrations"
INSERT_MIGRATION = "INSERT INTO schema_migrations (version, name, applied_ns) VALUES (?, ?, ?)"

Row = tuple[Any, ...]


class SQLiteStore(SharedStore):
    """`skein.store.base.Store` on one SQLite file (created, and migrated, on open)."""

    statements = Statements.from_constants(globals())

    def __init__(
        self,
        path: str,
        migrations: Sequence[Migration] | None = None,
        *,
        checkpoints: bool = True,
    ) -> None:
        if path in ("", ":memory:") or path.startswith("file:"):
            raise ValueError(f"SQLiteStore needs a file path, not {path!r}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._write_lock = _WriteLock(path + WRITE_LOCK_SUFFIX)
        self._writer = _open_connection(path, WRITER_PRAGMAS)
        try:
            migrate(_SQLiteMigrationTarget(self._writer), _or_packaged(migrations))
        except BaseException:
            self._writer.close()
            self._write_lock.close()
            raise
        self._readers = _ReaderPool(lambda: _open_connection(path, READER_PRAGMAS))
        self._checkpointer = (
            Checkpointer(lambda: _open_connection(path, CHECKPOINT_PRAGMAS), self._write_lock)
            if checkpoints
            else None
        )
        self._prepared = PreparedBatches()
        self._open = True

    # Lifecycle

    def close(self) -> None:
        """Close the writer and every reader connection (readers in use close when returned).

        Closing twice is harmless.
        """
        if self._checkpointer is not None:
            self._checkpointer.close()  # first: it may be waiting for the write lock
        with self._write_lock:
            if self._open:
                self._open = False
                try:
                    self._writer.execute(OPTIMIZE)
                finally:
                    self._writer.close()
        self._write_lock.close()
        self._readers.close()

    def connection_settings(self) -> dict[str, Any]:
        """The writer connection's PRAGMAs in force (for diagnostics)."""
        with self._write_lock:
            return {
                name: self._writer.execute(f"PRAGMA {name}").fetchone()[0]
                for name in REPORTED_PRAGMAS
            }

    # Keys (the other project and key methods are in SharedStore)

    def revoke_key(self, public_key: str, revoked_ns: int) -> bool:
        """Mark a key revoked; False if there is no such key."""
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            return connection.execute(REVOKE_KEY, (revoked_ns, public_key)).rowcount > 0

    # Ingestion

    def write(self, batches: Sequence[MappedBatch]) -> None:
        """Store all batches in one transaction and refold what they touched; all or nothing."""
        if not any(batch.size or batch.warnings for batch in batches):
            return
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            _write_batches(connection, batches, time.time_ns(), pack, self._prepared)
        if self._checkpointer is not None:
            self._checkpointer.notify()

    def prepare_write(self, batch: MappedBatch) -> None:
        """Do a write's lock-free work ahead, in the caller's thread: the batch's rows (text
        compressed, JSON encoded) and the fold of each of its traces, so the writer — the
        one that holds the database's lock — only picks them up (optional; see receiver)."""
        self._prepared.prepare(batch)

    # Queries (SQL in skein.store.sqlite_queries)

    def query_sessions(self, project_id: str, query: SessionQuery) -> Page[SessionSummary]:
        with self._readers.connection() as connection:
            page = sqlite_queries.session_page(connection, project_id, query, SESSION_COLUMNS)
        return decoded(page, session_from_row)

    def query_traces(self, project_id: str, query: TraceQuery) -> Page[TraceSummary]:
        with self._readers.connection() as connection:
            page = sqlite_queries.trace_page(connection, project_id, query, TRACE_COLUMNS)
        return decoded(page, trace_from_row)

    def query_observations(self, project_id: str, query: ObservationQuery) -> Page[Observation]:
        with self._readers.connection() as connection:
            page = sqlite_queries.observation_page(
                connection, project_id, query, OBSERVATION_COLUMNS
            )
        return decoded(page, observation_from_row)

    def get_observation(self, project_id: str, observation_id: str) -> Observation | None:
        statement = sqlite_queries.select_observation(OBSERVATION_COLUMNS)
        row = self._read_one(statement, (project_id, observation_id))
        return observation_from_row(row) if row else None

    def get_trace_rows(self, project_id: str, trace_id: str) -> TraceRows | None:
        """A trace, its I/O and its observations' rows, read in one snapshot (no carrier)."""
        with self._readers.connection() as connection, _read_transaction(connection):
            row = connection.execute(SELECT_TRACE, (project_id, trace_id)).fetchone()
            if row is None:
                return None
            io = sqlite_queries.trace_io(connection, project_id, [trace_id])
            observations = connection.execute(SELECT_OBSERVATIONS, (project_id, trace_id))
            stored = observations.fetchall()
        return TraceRows(
            trace=trace_from_row(row),
            io=TraceIO(unpack(io[0][1]), unpack(io[0][2])) if io else TraceIO(),
            observations=tuple(map(with_text_unpacked, stored)),
        )

    def get_trace_io(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, TraceIO]:
        with self._readers.connection() as connection:
            rows = sqlite_queries.trace_io(connection, project_id, trace_ids)
        return {trace_id: TraceIO(unpack(i), unpack(o)) for trace_id, i, o in rows}

    def get_observation_ids(
        self, project_id: str, trace_ids: Sequence[str]
    ) -> dict[str, list[str]]:
        """The observation ids of each of the traces, in start order (no entry: none)."""
        found: dict[str, list[str]] = {}
        with self._readers.connection() as connection:
            for trace_id, observation_id in sqlite_queries.observation_ids(
                connection, project_id, trace_ids
            ):
                found.setdefault(trace_id, []).append(observation_id)
        return found

    # Deletes

    def delete_traces(self, project_id: str, trace_ids: Sequence[str]) -> int:
        """Delete traces, their observations and warnings; refold the sessions they were in."""
        if not trace_ids:
            return 0
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            return _delete_traces(connection, project_id, trace_ids)

    def set_retention_days(self, project_id: str, days: int | None) -> bool:
        """Set (or with None clear) a project's retention; False if there is no such project."""
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            return sqlite_retention.set_retention_days(connection, project_id, days)

    def expired_trace_ids(self, project_id: str, before_ns: int, limit: int) -> list[str]:
        with self._readers.connection() as connection:
            return sqlite_retention.expired_trace_ids(connection, project_id, before_ns, limit)

    def delete_session(self, project_id: str, session_id: str) -> int:
        """Delete every trace of a session (set-wise), and so the session, and its scores."""
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            ids = sqlite_queries.session_trace_ids(connection, project_id, session_id)
            if not ids:
                return 0
            sqlite_queries.delete_session_scores(connection, project_id, session_id)
            return _delete_traces(connection, project_id, ids)

    # The web UI: comments and bookmarks (SQL in skein.store.sqlite_comments)

    def add_comment(self, project_id: str, comment: Comment) -> None:
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            sqlite_comments.add_comment(connection, project_id, comment)

    def list_comments(self, project_id: str, object_type: str, object_id: str) -> list[Comment]:
        with self._readers.connection() as connection:
            return sqlite_comments.list_comments(connection, project_id, object_type, object_id)

    def delete_comment(self, project_id: str, comment_id: str) -> bool:
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            return sqlite_comments.delete_comment(connection, project_id, comment_id)

    def set_bookmark(self, project_id: str, session_id: str, on: bool) -> None:
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            sqlite_comments.set_bookmark(connection, project_id, session_id, on, time.time_ns())

    def list_bookmarks(self, project_id: str, limit: int = 200) -> list[str]:
        with self._readers.connection() as connection:
            return sqlite_comments.list_bookmarks(connection, project_id, limit)

    def bookmarked(self, project_id: str, session_ids: Sequence[str]) -> set[str]:
        with self._readers.connection() as connection:
            return sqlite_comments.bookmarked(
                connection, project_id, session_ids, json_ids(session_ids)
            )

    # Session-id diagnostics (SQL in skein.store.sqlite_diagnostics)

    def session_coverage(
        self,
        project_id: str,
        by: str = "",
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 20,
    ) -> list[Coverage]:
        with self._readers.connection() as connection:
            return sqlite_diagnostics.coverage(connection, project_id, by, from_ns, to_ns, limit)

    def session_sources(
        self, project_id: str, from_ns: int | None = None, to_ns: int | None = None
    ) -> list[SessionSource]:
        with self._readers.connection() as connection:
            return sqlite_diagnostics.sources(connection, project_id, from_ns, to_ns)

    def session_conflicts(
        self,
        project_id: str,
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 50,
    ) -> list[SessionConflict]:
        with self._readers.connection() as connection:
            return sqlite_diagnostics.conflicts(connection, project_id, from_ns, to_ns, limit)

    def traces_without_session(
        self,
        project_id: str,
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 50,
    ) -> list[TraceSummary]:
        with self._readers.connection() as connection:
            rows = sqlite_diagnostics.without_session(
                connection, project_id, TRACE_COLUMNS, from_ns, to_ns, limit
            )
        return [trace_from_row(row) for row in rows]

    # Scores (SQL in skein.store.sqlite_scores)

    def get_score(self, project_id: str, score_id: str) -> Score | None:
        with self._readers.connection() as connection:
            return sqlite_scores.get_score(connection, project_id, score_id)

    def query_scores(self, project_id: str, query: ScoreQuery) -> Page[Score]:
        with self._readers.connection() as connection:
            return sqlite_scores.score_page(connection, project_id, query)

    def delete_score(self, project_id: str, score_id: str) -> bool:
        """Delete a score and refold the sessions whose aggregates counted it."""
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            sessions = sqlite_scores.delete_score(connection, project_id, score_id)
            if sessions:
                _refold_sessions(connection, project_id, sessions)
            return sessions is not None

    # Model prices (SQL in skein.store.sqlite_prices)

    def list_model_prices(self, project_id: str) -> list[ModelPrice]:
        with self._readers.connection() as connection:
            return sqlite_prices.list_prices(connection, project_id)

    def put_model_price(self, price: ModelPrice) -> None:
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            sqlite_prices.put_price(connection, price)

    def delete_model_price(self, project_id: str, price_id: str) -> bool:
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            return sqlite_prices.delete_price(connection, project_id, price_id)

    # Session repair: assignments, audit log, rules (SQL in skein.store.sqlite_repair)

    def get_assignments(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, Assignment]:
        with self._readers.connection() as connection:
            return sqlite_repair.assignments(connection, project_id, trace_ids)

    def apply_assignments(
        self, project_id: str, entry: AuditEntry, changes: Mapping[str, Assignment | None]
    ) -> AuditEntry:
        """Set (None: remove) trace assignments, refold, record `entry`; one transaction."""
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            return _apply_assignments(connection, project_id, entry, changes)

    def import_assignments(self, project_id: str, assignments: Mapping[str, Assignment]) -> int:
        """Set assignments as given (no audit entry); return how many changed."""
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            return _import_assignments(connection, project_id, assignments)

    def undo_audit(self, project_id: str, audit_id: str, entry: AuditEntry) -> AuditEntry | None:
        """Restore the assignments an entry replaced, recorded as `entry`; None if no such
        entry, AlreadyUndone if it was undone before."""
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            original = sqlite_repair.get_audit(connection, project_id, audit_id)
            if original is None:
                return None
            if original.undone_by is not None:
                raise AlreadyUndone(f"audit entry {audit_id} was undone by {original.undone_by}")
            changes = {t: state.assignment for t, state in original.previous.items()}
            stored = _apply_assignments(connection, project_id, entry, changes, original.moved)
            sqlite_repair.mark_undone(connection, project_id, audit_id, stored.id)
            return stored

    def get_audit(self, project_id: str, audit_id: str) -> AuditEntry | None:
        with self._readers.connection() as connection:
            return sqlite_repair.get_audit(connection, project_id, audit_id)

    def list_audit(
        self, project_id: str, session_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        with self._readers.connection() as connection:
            return sqlite_repair.list_audit(connection, project_id, session_id, limit)

    def import_audit(self, project_id: str, entries: Sequence[AuditEntry]) -> int:
        """Store audit entries whose ids are new (an archive's); return how many."""
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            return sum(sqlite_repair.record_audit(connection, project_id, e) for e in entries)

    def get_session_rules(self, project_id: str) -> list[dict[str, Any]]:
        with self._readers.connection() as connection:
            return sqlite_repair.get_rules(connection, project_id)

    def set_session_rules(self, project_id: str, rules: Sequence[SessionRule]) -> None:
        with self._write_lock, _immediate_transaction(self._writer) as connection:
            sqlite_repair.set_rules(connection, project_id, rules, time.time_ns())

    def session_candidates(self, project_id: str, query: CandidateQuery) -> list[Candidate]:
        with self._readers.connection() as connection, _read_transaction(connection):
            return sqlite_repair.candidates(connection, project_id, query)

    # Helpers

    def _write_one(self, statement: str, parameters: Row) -> None:
        try:
            with self._write_lock, _immediate_transaction(self._writer) as connection:
                connection.execute(statement, parameters)
        except sqlite3.IntegrityError as error:
            raise ValueError(_integrity_message(error)) from error

    def _read_all(self, statement: str, parameters: Row) -> list[Row]:
        with self._readers.connection() as connection:
            return connection.execute(statement, parameters).fetchall()


# -- Connections ---------------------------------------------------------------------------


def _open_connection(path: str, pragmas: Iterable[str]) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun and ended explicitly. Connections may move
    # between threads (the writer under its lock, readers through the pool), never shared
    # by two threads at once.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        for pragma in pragmas:
            connection.execute(pragma)
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def _immediate_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction, taking the database's write lock up front; rolled back on error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        # Some errors (disk full, I/O) make SQLite roll back on its own.
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


@contextmanager
def _read_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """Several reads from one snapshot of the database."""
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")


class _WriteLock:
    """The writer's lock, across threads and across processes.

    Several processes may write one database (the ingestion workers, `skein db` commands).
    SQLite serialises their transactions itself, but a writer that finds the database
    locked polls, sleeping 1, 2, 5, 10… ms between tries, and leaves the lock idle while
    it sleeps. Holding an `flock` on a file next to the database as well makes a waiting
    writer wake the moment the lock is released.
    """

    def __init__(self, path: str) -> None:
        self._thread_lock = threading.Lock()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._fd >= 0:  # closed: the store's closed connection will refuse the work
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        with self._thread_lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class _ReaderPool:
    """Read-only connections handed to one thread at a time and reused."""

    def __init__(self, open_connection: Callable[[], sqlite3.Connection]) -> None:
        self._open_connection = open_connection
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        connection = self._take()
        try:
            yield connection
        finally:
            self._give_back(connection)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            if self._idle:
                return self._idle.pop()
        return self._open_connection()

    def _give_back(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(connection)
                return
        connection.close()


class _SQLiteMigrationTarget:
    """`skein.store.migrations.MigrationTarget` over the writer connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        connection.execute(CREATE_MIGRATIONS_TABLE)

    def applied_versions(self) -> set[int]:
        return {row[0] for row in self._connection.execute(SELECT_MIGRATION_VERSIONS)}

    def apply(self, migration: Migration, applied_ns: int) -> None:
        connection = self._connection
        try:
            # executescript commits any open transaction first, so the script opens its own.
            connection.executescript(f"BEGIN IMMEDIATE;\n{migration.sql}\n;")
            connection.execute(INSERT_MIGRATION, (migration.version, migration.name, applied_ns))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def _or_packaged(migrations: Sequence[Migration] | None) -> Sequence[Migration]:
    return packaged_migrations("sqlite") if migrations is None else migrations


def _integrity_message(error: sqlite3.IntegrityError) -> str:
    text = str(error)
    if "FOREIGN KEY" in text:
        return "no such project"
    if "UNIQUE" in text:
        return f"already exists ({text})"
    return text


# -- Writing -------------------------------------------------------------------------------


# Batches made ready ahead of their write and not yet written that a PreparedBatches keeps
# at most (a request refused after it was prepared leaves its batch behind until evicted).
PREPARED_BATCHES_CAPACITY = 64

# Each trace's observations in a batch, in the order the store reads them back (by id), with
# their fold_trace: the fold a write reuses if its trace holds exactly these observations.
Folds = dict[str, tuple[list[Observation], TraceSummary]]


@dataclass(frozen=True)
class PreparedBatch:
    """A batch's observation rows (as `_observation_rows` makes them) and trace folds."""

    batch: MappedBatch
    rows: list[Row]
    folds: Folds


class PreparedBatches:
    """A write's work done ahead, in the caller's thread, for the writer to pick up: each
    batch's observation rows (JSON encoded, large text packed with `pack_text`) and the fold
    of each of its traces. A batch is found by identity, so only the very batch object that
    was prepared matches; one not prepared, or evicted, is done by the writer itself. A fold
    is used only for a trace whose stored observations turn out to be exactly the batch's."""

    def __init__(
        self,
        capacity: int = PREPARED_BATCHES_CAPACITY,
        pack_text: Callable[[str | None], Packed] = pack,
    ) -> None:
        self._capacity = capacity
        self._pack_text = pack_text
        self._ready: dict[int, PreparedBatch] = {}
        self._lock = threading.Lock()

    def prepare(self, batch: MappedBatch) -> None:
        rows = _observation_rows([batch], self._pack_text)
        prepared = PreparedBatch(batch, rows, _folds(batch))
        with self._lock:
            self._ready[id(batch)] = prepared
            while len(self._ready) > self._capacity:
                del self._ready[next(iter(self._ready))]

    def take(self, batch: MappedBatch) -> PreparedBatch | None:
        """The batch's prepared work (once), or None."""
        with self._lock:
            prepared = self._ready.pop(id(batch), None)
        return prepared if prepared is not None and prepared.batch is batch else None


def _folds(batch: MappedBatch) -> Folds:
    """Each trace's observations in the batch (of a span sent twice, the later one) by id,
    folded."""
    by_trace: dict[str, dict[str, Observation]] = defaultdict(dict)
    for o in batch.observations:
        by_trace[o.trace_id][o.id] = o
    folds: Folds = {}
    for trace_id, by_id in by_trace.items():
        observations = [by_id[i] for i in sorted(by_id)]
        folds[trace_id] = (observations, fold_trace(observations))
    return folds


def _write_batches(
    connection: sqlite3.Connection,
    batches: Sequence[MappedBatch],
    now_ns: int,
    pack_text: Callable[[str | None], Packed] = pack,
    prepared: PreparedBatches | None = None,
) -> None:
    events = {p: _write_events(connection, p, bs) for p, bs in _events_by_project(batches).items()}
    written = _written_by_project(batches)
    for project_id, (rebuilt, _, _) in events.items():
        written[project_id].update(((o.trace_id, o.id), o) for o in rebuilt)
    rows: list[Row] = []
    folds: dict[str, Folds] = defaultdict(dict)
    for batch in batches:
        ready = prepared.take(batch) if prepared else None
        rows += _observation_rows([batch], pack_text) if ready is None else ready.rows
        folds[batch.project_id].update(ready.folds if ready else {})
    for project_id, (rebuilt, _, _) in events.items():
        rows += (observation_row(project_id, o, pack) for o in rebuilt)
    connection.executemany(UPSERT_OBSERVATION, rows)
    connection.executemany(
        INSERT_WARNING,
        [_warning_row(b.project_id, w, now_ns) for b in batches for w in b.warnings],
    )
    for project_id in written.keys() | events.keys():
        _, left, scored = events.get(project_id, ([], set(), set()))
        received = written.get(project_id, {})
        _refold(connection, project_id, received, left, scored, folds.get(project_id))


def _observation_rows(
    batches: Iterable[MappedBatch], pack_text: Callable[[str | None], Packed]
) -> list[Row]:
    """The rows of the batches' observations; metadata dicts they share encoded once."""
    metadata = MetadataTexts().text
    return [
        observation_row(b.project_id, o, pack_text, metadata)
        for b in batches
        for o in b.observations
    ]


def _events_by_project(batches: Iterable[MappedBatch]) -> dict[str, list[MappedBatch]]:
    """The batches with Langfuse events or scores, by project."""
    found: dict[str, list[MappedBatch]] = defaultdict(list)
    for batch in batches:
        if batch.patches or batch.scores:
            found[batch.project_id].append(batch)
    return found


def _write_events(
    connection: sqlite3.Connection, project_id: str, batches: Sequence[MappedBatch]
) -> tuple[list[Observation], set[str], set[str]]:
    """Store one project's patches and scores: (rebuilt rows to upsert, traces they left,
    sessions whose score aggregates change)."""
    patches = [p for b in batches for p in b.patches]
    pricing = next((b.pricing for b in reversed(batches) if b.pricing), None)
    rebuilt = sqlite_patches.rebuild(connection, project_id, patches, pricing)
    scores = [s for b in batches for s in b.scores]
    scored = sqlite_scores.write_scores(connection, project_id, scores) if scores else set()
    return rebuilt.observations, rebuilt.left_traces, scored


# An observation as written in this transaction, by (trace_id, id).
Written = dict[tuple[str, str], Observation]


def _written_by_project(batches: Iterable[MappedBatch]) -> dict[str, Written]:
    """The observations each project received; of a span sent twice, the later one (stored)."""
    written: dict[str, Written] = defaultdict(dict)
    for batch in batches:
        written[batch.project_id].update(((o.trace_id, o.id), o) for o in batch.observations)
    return written


def _refold(
    connection: sqlite3.Connection,
    project_id: str,
    written: Written,
    also_traces: Iterable[str] = (),
    also_sessions: Iterable[str] = (),
    folds: Folds | None = None,
) -> None:
    """Refold a project's touched traces (and `also_traces`), then the sessions they left or
    joined (and `also_sessions`). A trace left without rows is deleted. `folds` are folds
    made ahead (`PreparedBatches`), used where they fit."""
    trace_ids = {trace_id for trace_id, _ in written} | set(also_traces)
    sessions = set(also_sessions)
    if trace_ids:
        sessions |= _refold_traces(connection, project_id, trace_ids, written, folds or {})
    if sessions:
        _refold_sessions(connection, project_id, sessions)


def _refold_traces(
    connection: sqlite3.Connection,
    project_id: str,
    trace_ids: set[str],
    written: Written,
    folds: Folds,
) -> set[str]:
    """Refold traces; return the sessions they were or now are in."""
    ids = json_ids(trace_ids)
    stored = _stored_observations(connection, project_id, ids, written)
    folded = [_fold(observations, folds.get(t)) for t, observations in stored.items()]
    traces = sqlite_repair.apply_to_traces(connection, project_id, folded)
    left = {row[0] for row in connection.execute(SELECT_SESSIONS_OF_TRACES, (project_id, ids))}
    connection.executemany(UPSERT_TRACE, [trace_row(project_id, t) for t in traces])
    emptied = trace_ids - {t.trace_id for t in traces}
    if emptied:
        connection.execute(DELETE_TRACES, (project_id, json_ids(emptied)))
    return {s for s in left | {t.session_id for t in traces} if s is not None}


def _fold(
    observations: list[Observation], ready: tuple[list[Observation], TraceSummary] | None
) -> TraceSummary:
    """fold_trace of the observations: the fold made ahead if it was of this very list."""
    if ready and len(ready[0]) == len(observations) and all(map(is_, ready[0], observations)):
        return ready[1]
    return fold_trace(observations)


def _stored_observations(
    connection: sqlite3.Connection, project_id: str, trace_ids: str, written: Written
) -> dict[str, list[Observation]]:
    """The stored observations of each trace (`trace_ids` a JSON array), in the order
    SELECT_OBSERVATIONS_TO_FOLD reads them: those just written are reused, and only the rows
    of traces with others are read whole (and those others decoded)."""
    parameters = (project_id, trace_ids)
    keys = connection.execute(SELECT_OBSERVATION_KEYS_TO_FOLD, parameters).fetchall()
    earlier = _earlier_observations(connection, project_id, keys, written)
    by_trace: dict[str, list[Observation]] = defaultdict(list)
    for key in keys:
        by_trace[key[0]].append(written.get(key) or earlier[key])
    return by_trace


def _earlier_observations(
    connection: sqlite3.Connection, project_id: str, keys: list[Row], written: Written
) -> dict[Row, Observation]:
    """The stored observations among `keys` (trace id, id) that this write did not write."""
    traces = {trace_id for trace_id, id in keys if (trace_id, id) not in written}
    if not traces:
        return {}
    rows = connection.execute(SELECT_OBSERVATIONS_TO_FOLD, (project_id, json_ids(traces)))
    return {row[:2]: observation_to_fold(row) for row in rows if row[:2] not in written}


def _refold_sessions(
    connection: sqlite3.Connection, project_id: str, session_ids: set[str]
) -> None:
    rows = connection.execute(SELECT_TRACES_TO_FOLD, (project_id, json_ids(session_ids)))
    by_session = _rollups_by_session(rows)
    scores = sqlite_scores.session_aggregates(connection, project_id, by_session)
    folded = [fold_session(sid, traces, scores.get(sid)) for sid, traces in by_session.items()]
    connection.executemany(UPSERT_SESSION, [session_row(project_id, s) for s in folded])
    emptied = session_ids - by_session.keys()
    if emptied:
        connection.execute(DELETE_SESSIONS, (project_id, json_ids(emptied)))


def _rollups_by_session(rows: Iterable[Row]) -> dict[str, list[TraceRollup]]:
    """The rows of SELECT_TRACES_TO_FOLD as each session's trace rollups; a session's traces
    mostly share their tags, so each distinct tags text is decoded once."""
    by_session: dict[str, list[TraceRollup]] = defaultdict(list)
    tags: dict[str, tuple[str, ...]] = {}
    for row in rows:
        text = row[-1]
        if text not in tags:
            tags[text] = tuple(from_json(text))
        by_session[row[0]].append(TraceRollup._make(row[1:-1] + (tags[text],)))
    return by_session


def _apply_assignments(
    connection: sqlite3.Connection,
    project_id: str,
    entry: AuditEntry,
    changes: Mapping[str, Assignment | None],
    restore: Sequence[SessionDataMove] = (),
) -> AuditEntry:
    """Apply assignments and move the session data of the session ids `entry` retires (or put
    back what an undone entry moved: `restore`), then refold; one audit entry."""
    ids, now_ns = sorted(changes), time.time_ns()
    previous = sqlite_repair.previous_states(connection, project_id, ids)
    sqlite_repair.write_assignments(connection, project_id, changes, entry.id, now_ns)
    moved = sqlite_repair.move_session_data(connection, project_id, entry, restore, now_ns)
    _refold(connection, project_id, {}, also_traces=ids, also_sessions=moved_sessions(moved))
    after = sqlite_repair.trace_sessions(connection, project_id, ids)
    touched = {p.session_id for p in previous.values()} | set(after.values()) | set(entry.sessions)
    touched |= moved_sessions(moved)
    sessions = tuple(sorted(s for s in touched if s))
    stored = replace(entry, previous=previous, sessions=sessions, moved=moved)
    sqlite_repair.record_audit(connection, project_id, stored)
    return stored


def _import_assignments(
    connection: sqlite3.Connection, project_id: str, assignments: Mapping[str, Assignment]
) -> int:
    current = sqlite_repair.assignments(connection, project_id, assignments)
    changed = {t: a for t, a in assignments.items() if current.get(t) != a}
    if changed:
        sqlite_repair.write_assignments(connection, project_id, changed, "import", time.time_ns())
        _refold(connection, project_id, {}, also_traces=changed)
    return len(changed)


def _delete_traces(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> int:
    sqlite_patches.delete_patches_of_traces(connection, project_id, trace_ids)
    sqlite_scores.delete_scores_of_traces(connection, project_id, trace_ids)
    sqlite_repair.delete_assignments(connection, project_id, trace_ids)
    deleted, sessions = sqlite_queries.delete_traces(connection, project_id, trace_ids)
    if sessions:
        _refold_sessions(connection, project_id, sessions)
    return deleted


# -- Rows ----------------------------------------------------------------------------------


def _warning_row(project_id: str, w: IngestWarning, now_ns: int) -> Row:
    return (project_id, w.trace_id, w.span_id, w.code, w.message, now_ns)
