"""What the SQLite and PostgreSQL stores do alike: thin reads and records over one statement.

`SharedStore` holds the `Store` methods whose bodies are one statement and a row decoder,
and the context-manager protocol. Each backend names its statements (its own SQL dialect)
as module constants, gathers them into its `statements` class attribute with
`Statements.from_constants(globals())`, and supplies `close`, `_read_all` and `_write_one`.
No SQL text lives here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Any, ClassVar, Self

from skein.fold import SessionSummary, TraceSummary
from skein.records import Observation
from skein.store.base import ApiKey, Project, StoredWarning, TraceDetail, TraceRows
from skein.store.rows import (
    detail_from_rows,
    observation_from_row,
    session_from_row,
    trace_from_row,
    warning_from_row,
)

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Statements:
    """One backend's statements for the methods of `SharedStore`."""

    insert_project: str
    select_project: str
    select_projects: str
    insert_key: str
    select_key: str
    select_keys: str
    select_project_keys: str
    select_trace: str
    select_project_traces: str
    select_session_traces: str
    select_observations: str
    select_session: str
    select_sessions: str
    select_warnings: str
    select_trace_warnings: str

    @classmethod
    def from_constants(cls, constants: Mapping[str, Any]) -> Statements:
        """The statements named by each field in capitals (`select_trace`: `SELECT_TRACE`)."""
        return cls(**{f.name: constants[f.name.upper()] for f in fields(cls)})


class SharedStore:
    """Project, key and record reads common to both backends (a mixin)."""

    statements: ClassVar[Statements]

    # Supplied by the backend

    def close(self) -> None:
        raise NotImplementedError

    def _write_one(self, statement: str, parameters: Row) -> None:
        raise NotImplementedError

    def _read_all(self, statement: str, parameters: Row) -> list[Row]:
        raise NotImplementedError

    def get_trace_rows(self, project_id: str, trace_id: str) -> TraceRows | None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _read_one(self, statement: str, parameters: Row) -> Row | None:
        # fetchall: the statement runs to its end, so no read transaction stays open.
        rows = self._read_all(statement, parameters)
        return rows[0] if rows else None

    # Records

    def get_trace_detail(self, project_id: str, trace_id: str) -> TraceDetail | None:
        """A trace, its I/O and its observations, read in one snapshot."""
        rows = self.get_trace_rows(project_id, trace_id)
        return None if rows is None else detail_from_rows(rows)

    # Projects and keys

    def create_project(self, name: str, project_id: str | None = None) -> Project:
        """Create a project; its id is `project_id`, or a new random hex id. ValueError if taken."""
        project = Project(id=project_id or uuid.uuid4().hex, name=name, created_ns=time.time_ns())
        row = (project.id, project.name, project.created_ns)
        self._write_one(self.statements.insert_project, row)
        return project

    def get_project(self, project_id: str) -> Project | None:
        row = self._read_one(self.statements.select_project, (project_id,))
        return Project(*row) if row else None

    def list_projects(self) -> list[Project]:
        return [Project(*row) for row in self._read_all(self.statements.select_projects, ())]

    def add_key(self, key: ApiKey) -> None:
        """Store a key. ValueError if the public key exists or the project does not."""
        row = (key.public_key, key.project_id, key.secret_hash, key.created_ns, key.revoked_ns,
               key.note)  # fmt: skip
        self._write_one(self.statements.insert_key, row)

    def find_key(self, public_key: str) -> ApiKey | None:
        row = self._read_one(self.statements.select_key, (public_key,))
        return ApiKey(*row) if row else None

    def list_keys(self, project_id: str | None = None) -> list[ApiKey]:
        if project_id is None:
            rows = self._read_all(self.statements.select_keys, ())
        else:
            rows = self._read_all(self.statements.select_project_keys, (project_id,))
        return [ApiKey(*row) for row in rows]

    # Reads

    def get_trace(self, project_id: str, trace_id: str) -> TraceSummary | None:
        row = self._read_one(self.statements.select_trace, (project_id, trace_id))
        return trace_from_row(row) if row else None

    def list_traces(
        self, project_id: str, session_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[TraceSummary]:
        """A session's traces in start order, or the project's traces newest first."""
        if session_id is None:
            statement = self.statements.select_project_traces
            rows = self._read_all(statement, (project_id, limit, offset))
        else:
            statement = self.statements.select_session_traces
            rows = self._read_all(statement, (project_id, session_id, limit, offset))
        return [trace_from_row(row) for row in rows]

    def list_observations(self, project_id: str, trace_id: str) -> list[Observation]:
        """A trace's observations with every field, ordered by start time, then id."""
        rows = self._read_all(self.statements.select_observations, (project_id, trace_id))
        return [observation_from_row(row) for row in rows]

    def get_session(self, project_id: str, session_id: str) -> SessionSummary | None:
        row = self._read_one(self.statements.select_session, (project_id, session_id))
        return session_from_row(row) if row else None

    def list_sessions(
        self, project_id: str, limit: int = 50, offset: int = 0
    ) -> list[SessionSummary]:
        """Sessions by latest activity, newest first, then by id."""
        rows = self._read_all(self.statements.select_sessions, (project_id, limit, offset))
        return [session_from_row(row) for row in rows]

    def list_warnings(
        self, project_id: str, trace_id: str | None = None, limit: int = 100
    ) -> list[StoredWarning]:
        """Ingestion warnings of a project, or of one trace, newest first."""
        if trace_id is None:
            rows = self._read_all(self.statements.select_warnings, (project_id, limit))
        else:
            statement = self.statements.select_trace_warnings
            rows = self._read_all(statement, (project_id, trace_id, limit))
        return [warning_from_row(row) for row in rows]
