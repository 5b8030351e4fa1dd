"""SQLite: Langfuse ingestion events kept as patches, and what they rebuild.

Inside the writer's transaction, `rebuild` stores a batch's patches (a patch whose target and
event id are already stored is ignored) and rebuilds every observation and trace statement
they touch from *all* their stored patches (`skein.patches`). The rebuilt rows go to the
caller, which upserts and refolds them like spans. An observation whose trace id changes (an
update without `traceId` arrived before its create) leaves its old trace: that row is
deleted here and the trace is reported for refolding.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from skein.patches import OBSERVATION, TRACE, merge_observation, merge_trace, merge_values
from skein.records import EventPatch, Observation

IDS = "(SELECT value FROM json_each(?))"
INSERT_PATCH = (
    "INSERT INTO event_patches (project_id, kind, target_id, event_id, trace_id, timestamp_ns,"
    " is_update, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (project_id, kind, target_id, event_id) DO NOTHING"
)
SELECT_PATCHES = (
    "SELECT target_id, event_id, timestamp_ns, is_update, body FROM event_patches"
    f" WHERE project_id = ? AND kind = ? AND target_id IN {IDS}"
)
DELETE_OBSERVATION = "DELETE FROM observations WHERE project_id = ? AND trace_id = ? AND id = ?"
SELECT_OBSERVATION_IDS_OF_TRACES = (
    f"SELECT id FROM observations WHERE project_id = ? AND trace_id IN {IDS}"
)
DELETE_PATCHES_OF_TRACES = f"DELETE FROM event_patches WHERE project_id = ? AND trace_id IN {IDS}"
DELETE_OBSERVATION_PATCHES = (
    f"DELETE FROM event_patches WHERE project_id = ? AND kind = ? AND target_id IN {IDS}"
)

Pricing = Callable[[Observation], Observation]


@dataclass(slots=True)
class Rebuilt:
    """Rows to upsert (observations and trace carriers), and traces an observation left."""

    observations: list[Observation] = field(default_factory=list)
    left_traces: set[str] = field(default_factory=set)


def rebuild(
    connection: sqlite3.Connection,
    project_id: str,
    patches: Sequence[EventPatch],
    pricing: Pricing | None,
) -> Rebuilt:
    """Store one project's new patches and rebuild what they touch (see the module doc)."""
    rebuilt = Rebuilt()
    for kind in (OBSERVATION, TRACE):
        new = [p for p in patches if p.kind == kind]
        if new:
            _rebuild_kind(connection, project_id, kind, new, pricing, rebuilt)
    connection.executemany(INSERT_PATCH, [_patch_row(project_id, p) for p in patches])
    return rebuilt


def _rebuild_kind(
    connection: sqlite3.Connection,
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
    connection: sqlite3.Connection, project_id: str, kind: str, target_ids: Iterable[str]
) -> dict[str, list[EventPatch]]:
    """The stored patches of each target, by target id."""
    found: dict[str, list[EventPatch]] = defaultdict(list)
    rows = connection.execute(SELECT_PATCHES, (project_id, kind, _json_ids(target_ids)))
    for target_id, event_id, timestamp_ns, is_update, body in rows:
        values = json.loads(body)
        found[target_id].append(
            EventPatch(kind, target_id, event_id, timestamp_ns, bool(is_update), values)
        )
    return found


def _combined(
    stored: dict[str, list[EventPatch]], new: Sequence[EventPatch]
) -> dict[str, list[EventPatch]]:
    """Each target's patches, stored then new; of two with one event id, the first is kept."""
    combined: dict[str, dict[str, EventPatch]] = defaultdict(dict)
    for patch in [*(p for patches in stored.values() for p in patches), *new]:
        combined[patch.target_id].setdefault(patch.event_id, patch)
    return {target_id: list(by_event.values()) for target_id, by_event in combined.items()}


def _leave_old_trace(
    connection: sqlite3.Connection,
    project_id: str,
    observation: Observation,
    stored: list[EventPatch] | None,
    rebuilt: Rebuilt,
) -> None:
    """Delete the row the stored patches placed in another trace, if the trace changed."""
    if not stored:
        return
    before = merge_values(stored, OBSERVATION).get("trace_id") or observation.id
    if before != observation.trace_id:
        connection.execute(DELETE_OBSERVATION, (project_id, before, observation.id))
        rebuilt.left_traces.add(before)


def delete_patches_of_traces(
    connection: sqlite3.Connection, project_id: str, trace_ids: Sequence[str]
) -> None:
    """Forget the events of deleted traces (call before their observations are deleted), so
    a later event for one of their observations does not bring the old values back."""
    ids = _json_ids(trace_ids)
    observation_ids = [
        row[0] for row in connection.execute(SELECT_OBSERVATION_IDS_OF_TRACES, (project_id, ids))
    ]
    connection.execute(DELETE_PATCHES_OF_TRACES, (project_id, ids))
    if observation_ids:
        connection.execute(
            DELETE_OBSERVATION_PATCHES, (project_id, OBSERVATION, _json_ids(observation_ids))
        )


def _patch_row(project_id: str, patch: EventPatch) -> tuple[object, ...]:
    trace_id = patch.target_id if patch.kind == TRACE else patch.values.get("trace_id")
    body = json.dumps(patch.values, ensure_ascii=False, separators=(",", ":"))
    return (
        project_id,
        patch.kind,
        patch.target_id,
        patch.event_id,
        trace_id,
        patch.timestamp_ns,
        patch.is_update,
        body,
    )


def _json_ids(ids: Iterable[str]) -> str:
    return json.dumps(list(ids), ensure_ascii=False)
