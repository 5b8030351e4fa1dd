"""The store interface. Every backend implements it; all SQL lives behind it.

Methods are synchronous: the server runs writes on one writer thread (group commit) and
reads in a thread pool. A backend must make `write` atomic over all the batches it is given
and leave every trace and session rollup equal to `fold_trace`/`fold_session` over what is
stored once it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from skein.fold import SessionSummary, TraceSummary
from skein.prices import ModelPrice
from skein.records import IngestWarning, MappedBatch, Observation, Score
from skein.repair.model import Assignment, AuditEntry, Candidate, CandidateQuery, SessionRule
from skein.scores import ScoreQuery


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    created_ns: int
    retention_days: int | None = None  # traces older than this are deleted; None keeps all


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


# -- Queries (the read API and the UI) --------------------------------------------------------
#
# Lists page by keyset: a page's `next_cursor` continues after its last row in the same sort;
# `offset` (page-number paging) is the alternative when no cursor is given. Times are
# nanoseconds; `from_ns` is inclusive and `to_ns` exclusive.

SESSION_SORTS = (
    "last_activity", "first_activity", "cost", "tokens", "duration", "trace_count", "errors",
)  # fmt: skip
TRACE_SORTS = (
    "timestamp", "latency", "cost", "tokens", "errors", "observations", "id", "name",
    "user_id", "session_id", "release", "version",
)  # fmt: skip
MAX_PAGE_SIZE = 1000

T = TypeVar("T")


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Which sessions, in which order. `from_ns`/`to_ns` select sessions active in that range
    (last activity at or after `from_ns`, first activity before `to_ns`); `environment`
    matches any of its values; `tag` and `user_id` match a member of the session's lists."""

    user_id: str | None = None
    environment: tuple[str, ...] = ()
    tag: str | None = None
    from_ns: int | None = None
    to_ns: int | None = None
    has_errors: bool | None = None
    min_traces: int | None = None
    id_prefix: str | None = None
    id_contains: str | None = None
    order_by: str = "last_activity"  # one of SESSION_SORTS
    descending: bool = True
    limit: int = 50
    cursor: str | None = None
    offset: int = 0
    with_total: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", _as_tuple(self.environment))


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """Which traces, in which order: `tags` must all be present; `environment` any of its
    values; `from_ns`/`to_ns` bound the trace's start; `ids` selects traces by id."""

    ids: tuple[str, ...] = ()
    session_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()
    release: str | None = None
    version: str | None = None
    from_ns: int | None = None
    to_ns: int | None = None
    has_errors: bool | None = None
    order_by: str = "timestamp"  # one of TRACE_SORTS
    descending: bool = True
    limit: int = 50
    cursor: str | None = None
    offset: int = 0
    with_total: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", _as_tuple(self.environment))
        object.__setattr__(self, "tags", _as_tuple(self.tags))
        object.__setattr__(self, "ids", _as_tuple(self.ids))


@dataclass(frozen=True, slots=True)
class ObservationQuery:
    """Which observations, by start time then insertion. `session_id` and `user_id` are the
    folded values of the observation's trace; `trace_ids` selects several traces at once;
    `with_io=False` leaves input, output and metadata out (faster when they are not shown)."""

    trace_id: str | None = None
    trace_ids: tuple[str, ...] = ()
    session_id: str | None = None
    user_id: str | None = None
    type: str | None = None
    name: str | None = None
    level: str | None = None
    parent_id: str | None = None
    is_root: bool | None = None
    environment: tuple[str, ...] = ()
    version: str | None = None
    from_ns: int | None = None
    to_ns: int | None = None
    descending: bool = False
    limit: int = 50
    cursor: str | None = None
    offset: int = 0
    with_total: bool = False
    with_io: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", _as_tuple(self.environment))
        object.__setattr__(self, "trace_ids", _as_tuple(self.trace_ids))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list; `total` counts every match (None when not asked for)."""

    items: tuple[T, ...]
    next_cursor: str | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class TraceIO:
    """A trace's input and output text, resolved through its `input_id`/`output_id`."""

    input: str | None = None
    output: str | None = None


@dataclass(frozen=True, slots=True)
class TraceDetail:
    """One trace with its I/O and every observation (in start order)."""

    trace: TraceSummary
    io: TraceIO
    observations: tuple[Observation, ...]


@dataclass(frozen=True, slots=True)
class TraceRows:
    """One trace with its I/O and its observations as stored (in start order), for answering
    it without decoding every value: each row holds `rows.OBSERVATION_COLUMNS` with the large
    text unpacked and the JSON columns still JSON text (`rows.observation_from_row` decodes)."""

    trace: TraceSummary
    io: TraceIO
    observations: tuple[tuple[Any, ...], ...]


# -- The web UI's annotations and diagnostics ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment on a session or a trace (`object_type` "session" or "trace")."""

    id: str
    object_type: str
    object_id: str
    body: str
    author: str
    created_ns: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the traces in a window (or of one group of them) carries a session id.

    `*_in_session`: in a trace that has a session (every observation of it counts);
    `observations_carrying`: spans that sent a session id themselves.
    """

    key: str
    traces: int
    traces_in_session: int
    observations: int
    observations_in_session: int
    observations_carrying: int
    tokens: int
    tokens_in_session: int
    cost: float
    cost_in_session: float


@dataclass(frozen=True, slots=True)
class SessionSource:
    """Where session ids came from: the attribute or metadata key, and how often."""

    source: str | None
    traces: int
    sessions: int


@dataclass(frozen=True, slots=True)
class SessionConflict:
    """A trace whose spans carried different session ids, and the one the fold chose."""

    trace_id: str
    start_ns: int
    chosen: str | None
    session_ids: tuple[str, ...]


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

    # Ingestion: one transaction for all batches (spans, Langfuse event patches, scores);
    # rebuilds what patches touch (skein.patches) and folds every touched trace and session.
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

    # Queries: filtered, sorted, keyset-paged (see SessionQuery, TraceQuery, ObservationQuery)
    def query_sessions(self, project_id: str, query: SessionQuery) -> Page[SessionSummary]: ...
    def query_traces(self, project_id: str, query: TraceQuery) -> Page[TraceSummary]: ...
    def query_observations(self, project_id: str, query: ObservationQuery) -> Page[Observation]: ...
    def get_observation(self, project_id: str, observation_id: str) -> Observation | None: ...
    def get_trace_detail(self, project_id: str, trace_id: str) -> TraceDetail | None: ...
    def get_trace_rows(self, project_id: str, trace_id: str) -> TraceRows | None: ...
    def get_trace_io(self, project_id: str, trace_ids: Sequence[str]) -> dict[str, TraceIO]: ...
    def get_observation_ids(
        self, project_id: str, trace_ids: Sequence[str]
    ) -> dict[str, list[str]]: ...

    # Deletes: observations, warnings and traces go; the sessions they were in are refolded
    # (or removed when emptied). Each returns the number of traces deleted.
    def delete_traces(self, project_id: str, trace_ids: Sequence[str]) -> int: ...
    def delete_session(self, project_id: str, session_id: str) -> int: ...

    # Retention (skein.retention): a project's period in days (None: keep everything), and
    # the oldest traces whose last activity is before `before_ns`, to delete in batches.
    def set_retention_days(self, project_id: str, days: int | None) -> bool: ...
    def expired_trace_ids(self, project_id: str, before_ns: int, limit: int) -> list[str]: ...

    # Scores (written through `write`, in MappedBatch.scores). Deleting refolds the sessions
    # whose score aggregates counted the score; False if there was none.
    def get_score(self, project_id: str, score_id: str) -> Score | None: ...
    def query_scores(self, project_id: str, query: ScoreQuery) -> Page[Score]: ...
    def delete_score(self, project_id: str, score_id: str) -> bool: ...

    # A project's own model prices, newest first (matched before Skein's price table).
    def list_model_prices(self, project_id: str) -> list[ModelPrice]: ...
    def put_model_price(self, price: ModelPrice) -> None: ...
    def delete_model_price(self, project_id: str, price_id: str) -> bool: ...

    # The web UI: comments, bookmarks (SQL in sqlite_comments) and session-id diagnostics
    # (sqlite_diagnostics). Diagnostics cover traces that started in [from_ns, to_ns).
    def add_comment(self, project_id: str, comment: Comment) -> None: ...
    def list_comments(self, project_id: str, object_type: str, object_id: str) -> list[Comment]: ...
    def delete_comment(self, project_id: str, comment_id: str) -> bool: ...
    def set_bookmark(self, project_id: str, session_id: str, on: bool) -> None: ...
    def list_bookmarks(self, project_id: str, limit: int = 200) -> list[str]: ...
    def bookmarked(self, project_id: str, session_ids: Sequence[str]) -> set[str]: ...
    def session_coverage(
        self,
        project_id: str,
        by: str = "",
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 20,
    ) -> list[Coverage]: ...
    def session_sources(
        self, project_id: str, from_ns: int | None = None, to_ns: int | None = None
    ) -> list[SessionSource]: ...
    def session_conflicts(
        self,
        project_id: str,
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 50,
    ) -> list[SessionConflict]: ...
    def traces_without_session(
        self,
        project_id: str,
        from_ns: int | None = None,
        to_ns: int | None = None,
        limit: int = 50,
    ) -> list[TraceSummary]: ...

    # Session repair (skein.repair): a trace's assignment overrides its folded session.
    # `apply_assignments` sets (None: removes) assignments, refolds the traces and sessions
    # and records `entry` with every trace's previous state, in one transaction;
    # `undo_audit` restores an entry's previous states (None: no entry; AlreadyUndone).
    def get_assignments(
        self, project_id: str, trace_ids: Sequence[str]
    ) -> dict[str, Assignment]: ...
    def apply_assignments(
        self, project_id: str, entry: AuditEntry, changes: Mapping[str, Assignment | None]
    ) -> AuditEntry: ...
    def import_assignments(self, project_id: str, assignments: Mapping[str, Assignment]) -> int: ...
    def undo_audit(
        self, project_id: str, audit_id: str, entry: AuditEntry
    ) -> AuditEntry | None: ...
    def get_audit(self, project_id: str, audit_id: str) -> AuditEntry | None: ...
    def list_audit(
        self, project_id: str, session_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]: ...
    def import_audit(self, project_id: str, entries: Sequence[AuditEntry]) -> int: ...
    def get_session_rules(self, project_id: str) -> list[dict[str, Any]]: ...
    def set_session_rules(self, project_id: str, rules: Sequence[SessionRule]) -> None: ...
    def session_candidates(self, project_id: str, query: CandidateQuery) -> list[Candidate]: ...
