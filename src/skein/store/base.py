"""The store interface. Every backend implements it; all SQL lives behind it.

Methods are synchronous: the server runs writes on one writer thread (group commit) and
reads in a thread pool. A backend must make `write` atomic over all the batches it is given
and leave every trace and session rollup equal to `fold_trace`/`fold_session` over what is
stored once it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from skein.fold import SessionSummary, TraceSummary
from skein.records import IngestWarning, MappedBatch, Observation


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    created_ns: int


@dataclass(frozen=True, slots=True)
class ApiKey:
    public_key: str
    project_id: str
    secret_hash: str
    created_ns: int
    revoked_ns: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class StoredWarning:
    project_id: str
    created_ns: int
    warning: IngestWarning


class Store(Protocol):
    # Lifecycle
    def close(self) -> None: ...

    # Projects and keys
    def create_project(self, name: str, project_id: str | None = None) -> Project: ...
    def get_project(self, project_id: str) -> Project | None: ...
    def list_projects(self) -> list[Project]: ...
    def add_key(self, key: ApiKey) -> None: ...
    def find_key(self, public_key: str) -> ApiKey | None: ...
    def list_keys(self, project_id: str | None = None) -> list[ApiKey]: ...
    def revoke_key(self, public_key: str, revoked_ns: int) -> bool: ...

    # Ingestion: one transaction for all batches; folds every touched trace and session.
    def write(self, batches: Sequence[MappedBatch]) -> None: ...

    # Reads
    def get_trace(self, project_id: str, trace_id: str) -> TraceSummary | None: ...
    def list_traces(
        self, project_id: str, session_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[TraceSummary]: ...
    def list_observations(self, project_id: str, trace_id: str) -> list[Observation]: ...
    def get_session(self, project_id: str, session_id: str) -> SessionSummary | None: ...
    def list_sessions(
        self, project_id: str, limit: int = 50, offset: int = 0
    ) -> list[SessionSummary]: ...
    def list_warnings(
        self, project_id: str, trace_id: str | None = None, limit: int = 100
    ) -> list[StoredWarning]: ...
