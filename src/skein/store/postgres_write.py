"""PostgreSQL: the write path — upserts, Langfuse patches and scores, and the refold of every
touched trace and session, inside one transaction that holds the advisory locks of what it
refolds (`skein.store.postgres_locks`), so processes writing the same traces and sessions at
once still leave rollups equal to `fold_trace`/`fold_session` over what is stored.

READ COMMITTED is enough: each statement sees what was committed before it started, and a
refold reads only after taking its locks, so it sees every other writer's committed rows of
that trace or session and no half-written ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from skein.fold import TraceSummary, fold_session, fold_trace
from skein.patches import OBSERVATION, TRACE
from skein.records import IngestWarning, MappedBatch, Observation
from skein.store import (
    postgres_locks,
    postgres_patches,
    postgres_queries,
    postgres_repair,
    postgres_scores,
)
from skein.store.postgres_locks import OBSERVATION_TARGET, SESSION
from skein.store.rows import (
    OBSERVATION_COLUMNS,
    OBSERVATION_FOLD_COLUMNS,
    SESSION_COLUMNS,
    TRACE_COLUMNS,
    TRACE_COLUMNS_TO_FOLD,
    MetadataTexts,
    as_is,
    observation_row,
    observation_to_fold,
    session_row,
    trace_from_row,
    trace_row,
)

Connection = psycopg.Connection[TupleRow]
Row = tuple[Any, ...]
# An observation as written in this transaction, by (trace_id, id).
Written = dict[tuple[str, str], Observation]


def _upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    names = ("project_id", *columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


UPSERT_OBSERVATION = _upsert("observations", OBSERVATION_COLUMNS, ("project_id", "trace_id", "id"))
UPSERT_TRACE = _upsert("traces", TRACE_COLUMNS, ("project_id", "trace_id"))
UPSERT_SESSION = _upsert("sessions", SESSION_COLUMNS, ("project_id", "session_id"))
SELECT_OBSERVATIONS_TO_FOLD = (
    f"SELECT {', '.join(OBSERVATION_FOLD_COLUMNS)},"
    " trace_input IS NOT NULL, trace_output IS NOT NULL"
    " FROM observations WHERE project_id = %s AND trace_id = ANY(%s)"
)
SELECT_SESSIONS_OF_TRACES = (
    "SELECT DISTINCT session_id FROM traces WHERE project_id = %s AND trace_id = ANY(%s)"
)
SELECT_TRACES_TO_FOLD = (
    f"SELECT {', '.join(TRACE_COLUMNS_TO_FOLD)}"
    " FROM traces WHERE project_id = %s AND session_id = ANY(%s)"
)
DELETE_SESSIONS = "DELETE FROM sessions WHERE project_id = %s AND session_id = ANY(%s)"
DELETE_TRACES = "DELETE FROM traces WHERE project_id = %s AND trace_id = ANY(%s)"
# A re-delivered span repeats its warnings; keep one of each.
INSERT_WARNING = (
    "INSERT INTO ingestion_warnings (project_id, trace_id, span_id, code, message, created_ns)"
    " SELECT %(p)s, %(t)s, %(s)s, %(c)s, %(m)s, %(n)s WHERE NOT EXISTS (SELECT 1"
    " FROM ingestion_warnings WHERE project_id = %(p)s AND trace_id = %(t)s"
    " AND span_id IS NOT DISTINCT FROM %(s)s AND code = %(c)s AND message = %(m)s)"
)


def write_batches(connection: Connection, batches: Sequence[MappedBatch], now_ns: int) -> None:
    """Store the batches and refold what they touched, inside the caller's transaction."""
    postgres_locks.lock_all(connection, _trace_locks(batches))
    events = {p: _write_events(connection, p, bs) for p, bs in _events_by_project(batches).items()}
    written = _written_by_project(batches)
    for project_id, (rebuilt, _, _) in events.items():
        written[project_id].update(((o.trace_id, o.id), o) for o in rebuilt)
    text = MetadataTexts().text
    rows = [observation_row(b.project_id, o, as_is, text) for b in batches for o in b.observations]
    rows += [observation_row(p, o) for p, (rebuilt, _, _) in events.items() for o in rebuilt]
    with connection.cursor() as cursor:
        cursor.executemany(UPSERT_OBSERVATION, rows)
        cursor.executemany(INSERT_WARNING, list(_warning_rows(batches, now_ns)))
    for project_id in sorted(written.keys() | events.keys()):
        _, left, scored = events.get(project_id, ([], set(), set()))
        refold(connection, project_id, written.get(project_id, {}), left, scored)


def _trace_locks(batches: Iterable[MappedBatch]) -> Iterator[tuple[str, str, str]]:
    """The locks a write takes first: its traces and its Langfuse observation targets."""
    for batch in batches:
        for o in batch.observations:
            yield postgres_locks.TRACE, batch.project_id, o.trace_id
        for patch in batch.patches:
            if patch.kind == TRACE:
                yield postgres_locks.TRACE, batch.project_id, patch.target_id
            elif patch.kind == OBSERVATION:
                yield OBSERVATION_TARGET, batch.project_id, patch.target_id
                trace_id = patch.values.get("trace_id")
                if isinstance(trace_id, str):
                    yield postgres_locks.TRACE, batch.project_id, trace_id


def _warning_rows(batches: Iterable[MappedBatch], now_ns: int) -> Iterator[dict[str, Any]]:
    for batch in batches:
        for w in batch.warnings:
            yield _warning_row(batch.project_id, w, now_ns)


def _warning_row(project_id: str, w: IngestWarning, now_ns: int) -> dict[str, Any]:
    return {"p": project_id, "t": w.trace_id, "s": w.span_id, "c": w.code, "m": w.message,
            "n": now_ns}  # fmt: skip


def _events_by_project(batches: Iterable[MappedBatch]) -> dict[str, list[MappedBatch]]:
    found: dict[str, list[MappedBatch]] = defaultdict(list)
    for batch in batches:
        if batch.patches or batch.scores:
            found[batch.project_id].append(batch)
    return found


def _write_events(
    connection: Connection, project_id: str, batches: Sequence[MappedBatch]
) -> tuple[list[Observation], set[str], set[str]]:
    patches = [p for b in batches for p in b.patches]
    pricing = next((b.pricing for b in reversed(batches) if b.pricing), None)
    rebuilt = postgres_patches.rebuild(connection, project_id, patches, pricing)
    scores = [s for b in batches for s in b.scores]
    scored = postgres_scores.write_scores(connection, project_id, scores) if scores else set()
    return rebuilt.observations, rebuilt.left_traces, scored


def _written_by_project(batches: Iterable[MappedBatch]) -> dict[str, Written]:
    written: dict[str, Written] = defaultdict(dict)
    for batch in batches:
        written[batch.project_id].update(((o.trace_id, o.id), o) for o in batch.observations)
    return written


def refold(
    connection: Connection,
    project_id: str,
    written: Written,
    also_traces: Iterable[str] = (),
    also_sessions: Iterable[str] = (),
) -> None:
    """Refold a project's touched traces, then the sessions they left or joined."""
    trace_ids = {trace_id for trace_id, _ in written} | set(also_traces)
    sessions = set(also_sessions)
    if trace_ids:
        sessions |= _refold_traces(connection, project_id, trace_ids, written)
    if sessions:
        refold_sessions(connection, project_id, sessions)


def _refold_traces(
    connection: Connection, project_id: str, trace_ids: set[str], written: Written
) -> set[str]:
    postgres_locks.lock(connection, postgres_locks.TRACE, project_id, trace_ids)
    ids = sorted(trace_ids)
    rows = connection.execute(SELECT_OBSERVATIONS_TO_FOLD, (project_id, ids))
    traces = postgres_repair.apply_to_traces(connection, project_id, _fold_traces(rows, written))
    left = {row[0] for row in connection.execute(SELECT_SESSIONS_OF_TRACES, (project_id, ids))}
    with connection.cursor() as cursor:
        cursor.executemany(UPSERT_TRACE, [trace_row(project_id, t) for t in traces])
    emptied = trace_ids - {t.trace_id for t in traces}
    if emptied:
        connection.execute(DELETE_TRACES, (project_id, sorted(emptied)))
    return {s for s in left | {t.session_id for t in traces} if s is not None}


def _fold_traces(rows: Iterable[Row], written: Written) -> list[TraceSummary]:
    by_trace: dict[str, list[Observation]] = defaultdict(list)
    for row in rows:
        observation = written.get((row[0], row[1])) or observation_to_fold(row)
        by_trace[row[0]].append(observation)
    return [fold_trace(observations) for observations in by_trace.values()]


def refold_sessions(connection: Connection, project_id: str, session_ids: set[str]) -> None:
    """Lock and refold sessions from their stored traces (delete those left empty)."""
    postgres_locks.lock(connection, SESSION, project_id, session_ids)
    ids = sorted(session_ids)
    by_session: dict[str, list[TraceSummary]] = defaultdict(list)
    for row in connection.execute(SELECT_TRACES_TO_FOLD, (project_id, ids)):
        by_session[row[4]].append(trace_from_row(row))
    scores = postgres_scores.session_aggregates(connection, project_id, by_session)
    folded = [fold_session(sid, traces, scores.get(sid)) for sid, traces in by_session.items()]
    with connection.cursor() as cursor:
        cursor.executemany(UPSERT_SESSION, [session_row(project_id, s) for s in folded])
    emptied = session_ids - by_session.keys()
    if emptied:
        connection.execute(DELETE_SESSIONS, (project_id, sorted(emptied)))


def delete_traces(connection: Connection, project_id: str, trace_ids: Sequence[str]) -> int:
    """Delete traces (locked first) with what hangs off them; refold their sessions."""
    postgres_locks.lock(connection, postgres_locks.TRACE, project_id, trace_ids)
    postgres_patches.delete_patches_of_traces(connection, project_id, trace_ids)
    postgres_scores.delete_scores_of_traces(connection, project_id, trace_ids)
    postgres_repair.delete_assignments(connection, project_id, trace_ids)
    deleted, sessions = postgres_queries.delete_traces(connection, project_id, trace_ids)
    if sessions:
        refold_sessions(connection, project_id, sessions)
    return deleted
