"""The PostgreSQL store: several Skein processes, on one or more hosts, on one database.

Connections come from a pool (`psycopg_pool`) and are in autocommit: a read that is one
statement costs one round trip to the server, not three (BEGIN, the statement, COMMIT), and
on a busy machine every round trip waits for the server process to be scheduled. A read
that needs one snapshot is a REPEATABLE READ READ ONLY transaction whose statements are
pipelined (`_reading(snapshot=True)`). Every write is one transaction in READ COMMITTED that
takes the advisory locks of the traces and sessions it refolds (`postgres_write`), so
concurrent writers never lose a rollup update. A transaction that PostgreSQL aborts for a
deadlock or a serialization failure is retried here, a few times with jittered backoff, and
never reaches the client as an error.

Migrations (`migrations/postgresql/`) run on open unless `migrate=False`; then a database
that is behind the code is refused with a message naming `skein db migrate`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from skein.fold import SessionSummary, TraceSummary
from skein.prices import ModelPrice
from skein.records import TRACE_CARRIER_TYPE, MappedBatch, Observation, Score
from skein.repair.model import Assignment, AuditEntry, Candidate, CandidateQuery, SessionRule
from skein.scores import ScoreQuery
from skein.store import (
    postgres_annotations,
    postgres_diagnostics,
    postgres_queries,
    postgres_repair,
    postgres_repair_apply,
    postgres_retention,
    postgres_scores,
    postgres_write,
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
from skein.store.migrations import (
    Migration,
    MigrationError,
    migrate,
    packaged_migrations,
    pending_migrations,
)
from skein.store.postgres_locks import MIGRATION_LOCK_KEY
from skein.store.postgres_text import nul_free, store_nul_free_text
from skein.store.rows import (
    OBSERVATION_COLUMNS,
    SESSION_COLUMNS,
    TRACE_COLUMNS,
    decoded,
    observation_from_row,
    session_from_row,
    trace_from_row,
)
from skein.store.shared import SharedStore, Statements

logger = logging.getLogger(__name__)

Connection = psycopg.Connection[TupleRow]
Row = tuple[Any, ...]
T = TypeVar("T")

DEFAULT_POOL_SIZE = 10
# How often a transaction aborted by a deadlock or serialization failure is tried again,
# and the first backoff (doubling, with jitter) in seconds.
MAX_ATTEMPTS = 8
FIRST_BACKOFF_SECONDS = 0.005
RETRIED_ERRORS = (errors.DeadlockDetected, errors.SerializationFailure)
# A connection that cannot be had within this many seconds is an error (the pool is busy).
POOL_TIMEOUT_SECONDS = 30.0
APPLICATION_NAME = "skein"

SELECT_TRACE = (
    f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces WHERE project_id = %s AND trace_id = %s"
)
SELECT_OBSERVATIONS = (
    f"SELECT {', '.join(OBSERVATION_COLUMNS)} FROM observations"
    f" WHERE project_id = %s AND trace_id = %s AND type != '{TRACE_CARRIER_TYPE}'"
    " ORDER BY start_ns, id"
)
SELECT_SESSION_TRACES = (
    f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces WHERE project_id = %s AND session_id = %s"
    " ORDER BY start_ns, trace_id LIMIT %s OFFSET %s"
)
SELECT_PROJECT_TRACES = (
    f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces WHERE project_id = %s"
    " ORDER BY start_ns DESC, trace_id DESC LIMIT %s OFFSET %s"
)
SELECT_SESSION = (
    f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE project_id = %s AND session_id = %s"
)
SELECT_SESSIONS = (
    f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE project_id = %s"
    " ORDER BY last_ns DESC, session_id LIMIT %s OFFSET %s"
)
WARNING_COLUMNS = "project_id, created_ns, trace_id, span_id, code, message"
SELECT_WARNINGS = (
    f"SELECT {WARNING_COLUMNS} FROM ingestion_warnings WHERE project_id = %s"
    " ORDER BY id DESC LIMIT %s"
)
SELECT_TRACE_WARNINGS = (
    f"SELECT {WARNING_COLUMNS} FROM ingestion_warnings WHERE project_id = %s"
    " AND trace_id = %s ORDER BY id DESC LIMIT %s"
)
PROJECT_COLUMNS = "id, name, created_ns"
KEY_COLUMNS = "public_key, project_id, secret_hash, created_ns, revoked_ns, note"
INSERT_PROJECT = f"INSERT INTO projects ({PROJECT_COLUMNS}) VALUES (%s, %s, %s)"
SELECT_PROJECT = f"SELECT {PROJECT_COLUMNS}, retention_days FROM projects WHERE id = %s"
SELECT_PROJECTS = f"SELECT {PROJECT_COLUMNS}, retention_days FROM projects ORDER BY created_ns, id"
INSERT_KEY = f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
SELECT_KEY = f"SELECT {KEY_COLUMNS} FROM api_keys WHERE public_key = %s"
SELECT_KEYS = f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_ns, public_key"
SELECT_PROJECT_KEYS = (
    f"SELECT {KEY_COLUMNS} FROM api_keys WHERE project_id = %s ORDER BY created_ns, public_key"
)
REVOKE_KEY = "UPDATE api_keys SET revoked_ns = coalesce(revoked_ns, %s) WHERE public_key = %s"
CREATE_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, applied_ns BIGINT NOT NULL)"
)
SELECT_MIGRATION_VERSIONS = "SELECT version FROM schema_migrations"
INSERT_MIGRATION = "INSERT INTO schema_migrations (version, name, applied_ns) VALUES (%s, %s, %s)"
PING = "SELECT 1"
BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
COMMIT = "COMMIT"


class PostgresStore(SharedStore):
    """`skein.store.base.Store` on a PostgreSQL database (migrated on open by default)."""

    statements = Statements.from_constants(globals())

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        migrate: bool = True,
        migrations: Sequence[Migration] | None = None,
    ) -> None:
        self.url = url
        known = packaged_migrations("postgresql") if migrations is None else migrations
        with psycopg.connect(url, autocommit=True, application_name=APPLICATION_NAME) as admin:
            if migrate:
                migrate_database(admin, known)
            else:
                check_migrated(admin, known)
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs={"application_name": APPLICATION_NAME, "autocommit": True},
            timeout=POOL_TIMEOUT_SECONDS,
            configure=store_nul_free_text,
            open=True,
            name="skein",
        )

    # Lifecycle

    def close(self) -> None:
        """Close every pooled connection (waiting for those in use). Twice is harmless."""
        if not self._pool.closed:
            self._pool.close()

    def ping(self) -> None:
        """Answer a trivial query (raises when the database cannot be reached)."""
        self._read_all(PING, ())

    # Keys (the other project and key methods are in SharedStore)

    def revoke_key(self, public_key: str, revoked_ns: int) -> bool:
        return self._transaction(
            lambda c: c.execute(REVOKE_KEY, (revoked_ns, public_key)).rowcount > 0
        )

    # Retention (SQL in skein.store.postgres_retention)

    def set_retention_days(self, project_id: str, days: int | None) -> bool:
        return self._transaction(
            lambda c: postgres_retention.set_retention_days(c, project_id, days)
        )

    def expired_trace_ids(self, project_id: str, before_ns: int, limit: int) -> list[str]:
        with self._reading() as c:
            return postgres_retention.expired_trace_ids(c, project_id, before_ns, limit)

    # Ingestion

    def write(self, batches: Sequence[MappedBatch]) -> None:
        """Store all batches in one transaction and refold what they touched; all or nothing."""
        if not any(batch.size or batch.warnings for batch in batches):
            return
        now_ns = time.time_ns()
        stored = [nul_free(batch) for batch in batches]  # folded as PostgreSQL will hold them
        self._transaction(lambda c: postgres_write.write_batches(c, stored, now_ns))

    # Queries (SQL in skein.store.postgres_queries)

    def query_sessions(self, project_id: str, query: SessionQuery) -> Page[SessionSummary]:
        with self._reading() as c:
            page = postgres_queries.session_page(c, project_id, query, SESSION_COLUMNS)
        return decoded(page, session_from_row)

    def query_traces(self, project_id: str, query: TraceQuery) -> Page[TraceSummary]:
        with self._reading() as c:
            page = postgres_queries.trace_page(c, project_id, query, TRACE_COLUMNS)
        return decoded(page, trace_from_row)

    def query_observations(self, project_id: str, query: ObservationQuery) -> Page[Observation]:
        with self._reading() as c:
            page = postgres_queries.observation_page(c, project_id, query, OBSERVATION_COLUMNS)
        return decoded(page, observation_from_row)

    def get_observation(self, project_id: str, observation_id: str) -> Observation | None:
        statement = postgres_queries.select_observation(OBSERVATION_COLUMNS)
        row = self._read_one(statement, (project_id, observation_id))
        return observation_from_row(row) if row else None

    def get_trace_rows(self, project_id: str, trace_id: str) -> TraceRows | None:
        """A trace, its I/O and its observations' rows, read in one snapshot (no carrier):
        the three statements go in one round trip, fetched after it."""
        with self._reading(snapshot=True) as c:
            trace = c.execute(SELECT_TRACE, (project_id, trace_id))
            io_rows = postgres_queries.send_trace_io(c, project_id, [trace_id])
            observations = c.execute(SELECT_OBSERVATIONS, (project_id, trace_id))
        row = trace.fetchone()
        if row is None:
            return None
        io = io_rows.fetchall()
        rows = observations.fetchall()
        return TraceRows(
            trace=trace_from_row(row),
            io=TraceIO(io[0][1], io[0][2]) if io else TraceIO(),
            observations=tuple(rows),
        )

    def get_trace_io(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, TraceIO]:
        with self._reading() as c:
            rows = postgres_queries.trace_io(c, project_id, trace_ids)
        return {trace_id: TraceIO(i, o) for trace_id, i, o in rows}

    def get_observation_ids(
        self, project_id: str, trace_ids: Sequence[str]
    ) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        with self._reading() as c:
            for trace_id, observation_id in postgres_queries.observation_ids(
                c, project_id, trace_ids
            ):
                found.setdefault(trace_id, []).append(observation_id)
        return found

    # Deletes

    def delete_traces(self, project_id: str, trace_ids: Sequence[str]) -> int:
        if not trace_ids:
            return 0
        return self._transaction(
            lambda c: postgres_write.delete_traces(c, project_id, sorted(set(trace_ids)))
        )

    def delete_session(self, project_id: str, session_id: str) -> int:
        def delete(c: Connection) -> int:
            ids = postgres_queries.session_trace_ids(c, project_id, session_id)
            if not ids:
                return 0
            postgres_queries.delete_session_scores(c, project_id, session_id)
            return postgres_write.delete_traces(c, project_id, sorted(ids))

        return self._transaction(delete)

    # Scores

    def get_score(self, project_id: str, score_id: str) -> Score | None:
        with self._reading() as c:
            return postgres_scores.get_score(c, project_id, score_id)

    def query_scores(self, project_id: str, query: ScoreQuery) -> Page[Score]:
        with self._reading() as c:
            return postgres_scores.score_page(c, project_id, query)

    def delete_score(self, project_id: str, score_id: str) -> bool:
        def delete(c: Connection) -> bool:
            sessions = postgres_scores.delete_score(c, project_id, score_id)
            if sessions:
                postgres_write.refold_sessions(c, project_id, sessions)
            return sessions is not None

        return self._transaction(delete)

    # Model prices

    def list_model_prices(self, project_id: str) -> list[ModelPrice]:
        with self._reading() as c:
            return postgres_annotations.list_prices(c, project_id)

    def put_model_price(self, price: ModelPrice) -> None:
        self._transaction(lambda c: postgres_annotations.put_price(c, price))

    def delete_model_price(self, project_id: str, price_id: str) -> bool:
        return self._transaction(
            lambda c: postgres_annotations.delete_price(c, project_id, price_id)
        )

    # The web UI: comments, bookmarks and session-id diagnostics

    def add_comment(self, project_id: str, comment: Comment) -> None:
        self._transaction(lambda c: postgres_annotations.add_comment(c, project_id, comment))

    def list_comments(self, project_id: str, object_type: str, object_id: str) -> list[Comment]:
        with self._reading() as c:
            return postgres_annotations.list_comments(c, project_id, object_type, object_id)

    def delete_comment(self, project_id: str, comment_id: str) -> bool:
        return self._transaction(
            lambda c: postgres_annotations.delete_comment(c, project_id, comment_id)
        )

    def set_bookmark(self, project_id: str, session_id: str, on: bool) -> None:
        now_ns = time.time_ns()
        self._transaction(
            lambda c: postgres_annotations.set_bookmark(c, project_id, session_id, on, now_ns)
        )

    def list_bookmarks(self, project_id: str, limit: int = 200) -> list[str]:
        with self._reading() as c:
            return postgres_annotations.list_bookmarks(c, project_id, limit)

    def bookmarked(self, project_id: str, session_ids: Sequence[str]) -> set[str]:
        with self._reading() as c:
            return postgres_annotations.bookmarked(c, project_id, session_ids)

    def session_coverage(
        self,
        project_id: str,
        by: str = "",
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 20,
    ) -> list[Coverage]:
        with self._reading() as c:
            return postgres_diagnostics.coverage(c, project_id, by, from_ns, to_ns, limit)

    def session_sources(
        self, project_id: str, from_ns: int | None = None, to_ns: int | None = None
    ) -> list[SessionSource]:
        with self._reading() as c:
            return postgres_diagnostics.sources(c, project_id, from_ns, to_ns)

    def session_conflicts(
        self,
        project_id: str,
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 50,
    ) -> list[SessionConflict]:
        with self._reading() as c:
            return postgres_diagnostics.conflicts(c, project_id, from_ns, to_ns, limit)

    def traces_without_session(
        self,
        project_id: str,
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 50,
    ) -> list[TraceSummary]:
        with self._reading() as c:
            rows = postgres_diagnostics.without_session(
                c, project_id, TRACE_COLUMNS, from_ns, to_ns, limit
            )
        return [trace_from_row(row) for row in rows]

    # Session repair (SQL in postgres_repair, transactions in postgres_repair_apply)

    def get_assignments(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, Assignment]:
        with self._reading() as c:
            return postgres_repair.assignments(c, project_id, trace_ids)

    def apply_assignments(
        self, project_id: str, entry: AuditEntry, changes: Mapping[str, Assignment | None]
    ) -> AuditEntry:
        stored_entry, stored = nul_free(entry), nul_free(changes)  # as the refold reads them
        return self._transaction(
            lambda c: postgres_repair_apply.apply_changes(c, project_id, stored_entry, stored)
        )

    def import_assignments(self, project_id: str, assignments: Mapping[str, Assignment]) -> int:
        stored = nul_free(assignments)  # as the refold reads them
        return self._transaction(
            lambda c: postgres_repair_apply.import_changes(c, project_id, stored)
        )

    def undo_audit(self, project_id: str, audit_id: str, entry: AuditEntry) -> AuditEntry | None:
        return self._transaction(
            lambda c: postgres_repair_apply.undo(c, project_id, audit_id, entry)
        )

    def get_audit(self, project_id: str, audit_id: str) -> AuditEntry | None:
        with self._reading() as c:
            return postgres_repair.get_audit(c, project_id, audit_id)

    def list_audit(
        self, project_id: str, session_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        with self._reading() as c:
            return postgres_repair.list_audit(c, project_id, session_id, limit)

    def import_audit(self, project_id: str, entries: Sequence[AuditEntry]) -> int:
        stored = nul_free(list(entries))
        return self._transaction(
            lambda c: sum(postgres_repair.record_audit(c, project_id, e) for e in stored)
        )

    def get_session_rules(self, project_id: str) -> list[dict[str, Any]]:
        with self._reading() as c:
            return postgres_repair.get_rules(c, project_id)

    def set_session_rules(self, project_id: str, rules: Sequence[SessionRule]) -> None:
        now_ns = time.time_ns()
        self._transaction(lambda c: postgres_repair.set_rules(c, project_id, rules, now_ns))

    def session_candidates(self, project_id: str, query: CandidateQuery) -> list[Candidate]:
        with self._reading(snapshot=True) as c:
            return postgres_repair.candidates(c, project_id, query)

    # Helpers

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction, retrying it on deadlock or serialization failure."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._pool.connection() as connection, connection.transaction():
                    return work(connection)
            except RETRIED_ERRORS as error:
                if attempt == MAX_ATTEMPTS:
                    raise
                logger.info("retrying a transaction (attempt %d): %s", attempt, error)
                time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    @contextmanager
    def _reading(self, snapshot: bool = False) -> Iterator[Connection]:
        """A pooled connection (autocommit: each statement sees its own snapshot), or with
        `snapshot` one read-only REPEATABLE READ transaction in pipeline mode: its statements
        are sent without waiting, and a result fetched after the block costs no round trip
        (one fetched inside waits for what was sent before it)."""
        with self._pool.connection() as connection:
            if not snapshot:
                yield connection
                return
            with connection.pipeline():
                connection.execute(BEGIN_SNAPSHOT)
                yield connection
                connection.execute(COMMIT)

    def _write_one(self, statement: str, parameters: Row) -> None:
        try:
            self._transaction(lambda c: c.execute(statement, parameters))
        except errors.IntegrityError as error:
            raise ValueError(_integrity_message(error)) from error

    def _read_all(self, statement: str, parameters: Row) -> list[Row]:
        with self._pool.connection() as connection:
            return connection.execute(statement, parameters).fetchall()


# -- Migrations ----------------------------------------------------------------------------


class _PostgresMigrationTarget:
    """`skein.store.migrations.MigrationTarget` over an autocommit connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        connection.execute(CREATE_MIGRATIONS_TABLE)

    def applied_versions(self) -> set[int]:
        return {row[0] for row in self._connection.execute(SELECT_MIGRATION_VERSIONS)}

    def apply(self, migration: Migration, applied_ns: int) -> None:
        with self._connection.transaction():
            self._connection.execute(migration.sql.encode())
            self._connection.execute(
                INSERT_MIGRATION, (migration.version, migration.name, applied_ns)
            )


def migrate_database(connection: Connection, migrations: Sequence[Migration]) -> list[Migration]:
    """Apply pending migrations, one process at a time (a session advisory lock)."""
    connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        return list(migrate(_PostgresMigrationTarget(connection), migrations))
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


def check_migrated(connection: Connection, migrations: Sequence[Migration]) -> None:
    """MigrationError unless every migration is applied (the server does not migrate)."""
    applied = _PostgresMigrationTarget(connection).applied_versions()
    pending = pending_migrations(migrations, applied)
    if pending:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise MigrationError(f"the database needs migrations {names}: run `skein db migrate`")


def _backoff(attempt: int) -> float:
    base: float = FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)
    return base * (0.5 + random.random())


def _integrity_message(error: errors.IntegrityError) -> str:
    if isinstance(error, errors.ForeignKeyViolation):
        return "no such project"
    if isinstance(error, errors.UniqueViolation):
        return f"already exists ({error})"
    return str(error)
