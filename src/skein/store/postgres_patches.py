"""PostgreSQL: Langfuse ingestion events kept as patches (see `skein.store.sqlite_patches`,
whose merge logic this shares)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

import psycopg
from psycopg.rows import TupleRow

from skein.patches import OBSERVATION, TRACE, merge_observation, merge_trace, merge_values
from skein.records import EventPatch, Observation
from skein.store.sqlite_patches import Pricing, Rebuilt, _combined, _patch_row

Connection = psycopg.Connection[TupleRow]

INSERT_PATCH = (
    "INSERT INTO event_patches (project_id, kind, target_id, event_id, trace_id, timestamp_ns,"
    " is_update, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (project_id, kind, target_id, event_id) DO NOTHING"
)
SELECT_PATCHES = (
    "SELECT target_id, event_id, timestamp_ns, is_update, body FROM event_patches"
    " WHERE project_id = %s AND kind = %s AND target_id = ANY(%s)"
)
DELETE_OBSERVATION = "DELETE FROM observations WHERE project_id = %s AND trace_id = %s AND id = %s"
SELECT_OBSERVATION_IDS_OF_TRACES = (
    "SELECT id FROM observations WHERE project_id = %s AND trace_id = ANY(%s)"
)
DELETE_PATCHES_OF_TRACES = "DELETE FROM event_patches WHERE project_id = %s AND trace_id = ANY(%s)"
DELETE_OBSERVATION_PATCHES = (
    "DELETE FROM event_patches WHERE project_id = %s AND kind = %s AND target_id = ANY(%s)"
)


def rebuild(
    connection: Connection,
    project_id: str,
    patches: Sequence[EventPatch],
    pricing: Pricing | None,
) -> Rebuilt:
    """Store one project's new patches and rebuild what they touch."""
    rebuilt = Rebuilt()
    for kind in (OBSERVATION, TRACE):
        new = [p for p in patches if p.kind == kind]
        if new:
            _rebuild_kind(connection, project_id, kind, new, pricing, rebuilt)
    with connection.cursor() as cursor:
        cursor.executemany(INSERT_PATCH, [_patch_row(project_id, p) for p in patches])
    return rebuilt


def _rebuild_kind(
    connection: Connection,
    project_id: str,
    kind: str,
    new: Sequence[EventPatch],
    pricing: Pricing | None,
    rebuilt: Rebuilt,
) -> None:
    stored = stored_patches(connection, project_id, kind, {p.target_id for p in new})
    for target_id, patches in _combined(stored, new).items():
        if kind == TRACE:
            rebuilt.observations.append(merge_trace(target_id, patches))
            continue
        observation = merge_observation(target_id, patches)
        rebuilt.observations.append(pricing(observation) if pricing else observation)
        _leave_old_trace(connection, project_id, observation, stored.get(target_id), rebuilt)


def stored_patches(
    connection: Connection, project_id: str, kind: str, target_ids: Iterable[str]
) -> dict[str, list[EventPatch]]:
    found: dict[str, list[EventPatch]] = defaultdict(list)
    rows = connection.execute(SELECT_PATCHES, (project_id, kind, list(target_ids)))
    for target_id, event_id, timestamp_ns, is_update, body in rows:
        values = json.loads(body)
        found[target_id].append(
            EventPatch(kind, target_id, event_id, timestamp_ns, bool(is_update), values)
        )
    return found


def _leave_old_trace(
    connection: Connection,
    project_id: str,
    observation: Observation,
    stored: list[EventPatch] | None,
    rebuilt: Rebuilt,
) -> None:
    if not stored:
        return
    before = merge_values(stored, OBSERVATION).get("trace_id") or observation.id
    if before != observation.trace_id:
        connection.execute(DELETE_OBSERVATION, (project_id, before, observation.id))
        rebuilt.left_traces.add(before)


def delete_patches_of_traces(
    connection: Connection, project_id: str, trace_ids: Sequence[str]
) -> None:
    """Forget the events of deleted traces (before their observations are deleted)."""
    ids = list(trace_ids)
    rows = connection.execute(SELECT_OBSERVATION_IDS_OF_TRACES, (project_id, ids)).fetchall()
    connection.execute(DELETE_PATCHES_OF_TRACES, (project_id, ids))
    if rows:
        connection.execute(
            DELETE_OBSERVATION_PATCHES, (project_id, OBSERVATION, [row[0] for row in rows])
        )
