"""Factories for repair tests: a store with traces described by TraceSpec, and snapshots of
what a repair must keep or restore (each trace's session, every session's rollups)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from skein.records import MappedBatch, Observation, TraceAttributes
from skein.store import open_store
from skein.store.base import Store, TraceQuery
from tests.store.factories import PROJECT_ID
from tests.store.query_factories import TraceSpec, trace_id_of, trace_observations

MINUTE_S = 60


def open_test_store(directory: Path) -> Store:
    store = open_store(f"sqlite:///{directory / 'skein.db'}")
    store.create_project("test", PROJECT_ID)
    return store


def write_specs(store: Store, specs: Iterable[TraceSpec], project_id: str = PROJECT_ID) -> None:
    observations = tuple(o for spec in specs for o in trace_observations(spec))
    store.write([MappedBatch(project_id=project_id, observations=observations)])


def with_metadata(spec: TraceSpec, metadata: dict[str, Any]) -> tuple[Observation, ...]:
    """A spec's spans whose root carries `metadata` as observation metadata."""
    root, child = trace_observations(spec)
    from dataclasses import replace

    return (replace(root, metadata=metadata), child)


def session_of(store: Store, index: int, project_id: str = PROJECT_ID) -> str | None:
    trace = store.get_trace(project_id, trace_id_of(index))
    assert trace is not None
    return trace.session_id


def snapshot(store: Store, project_id: str = PROJECT_ID) -> dict[str, Any]:
    """Every trace's session and source, and every session's rollups."""
    traces = store.query_traces(project_id, TraceQuery(limit=1000)).items
    sessions = store.list_sessions(project_id, limit=1000)
    return {
        "traces": sorted((t.trace_id, t.session_id, t.session_source) for t in traces),
        "sessions": sorted(sessions, key=lambda s: s.session_id),
    }


def trace_attributes(session_id: str | None = None, user_id: str | None = None) -> TraceAttributes:
    return TraceAttributes(session_id=session_id, user_id=user_id)
