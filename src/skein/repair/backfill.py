"""Backfill: give existing traces without a session one, from a key or by inference.

    plan = plan_backfill(store, project_id, BackfillRequest(key="thread_id"))
    plan.summary()                      # the dry run: counts and examples
    apply_backfill(store, project_id, plan, actor="pk-lf-...")   # one audited change

Applying is one `Store.apply_assignments` call, so it is one audit entry and undoable.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skein.repair.durations import duration_label
from skein.repair.inference import history_confirmation, infer_groups, inferred_changes
from skein.repair.keys import find_session_id
from skein.repair.model import (
    INFER_SOURCE_PREFIX,
    Assignment,
    AuditEntry,
    Candidate,
    CandidateQuery,
)
from skein.store.base import Store

DEFAULT_GAP_SECONDS = 30 * 60.0
EXAMPLES = 10
EXAMPLE_TRACES = 5
# Trace inputs are read this many at a time when inference confirms turns by history.
IO_CHUNK = 500


class BackfillError(ValueError):
    """The request is not a backfill Skein can run (the message says why)."""


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """Exactly one of `key` (an attribute or metadata key, dotted paths allowed) and
    `gap_seconds` (infer by user and gap). Only traces started in [from_ns, to_ns)."""

    key: str | None = None
    gap_seconds: float | None = None
    confirm_history: bool = False
    from_ns: int | None = None
    to_ns: int | None = None
    user_id: str | None = None

    def __post_init__(self) -> None:
        if (self.key is None) == (self.gap_seconds is None):
            raise BackfillError("name exactly one of a key and an inference gap")
        if self.key is not None and not self.key.strip():
            raise BackfillError("the key is empty")
        if self.gap_seconds is not None and not self.gap_seconds > 0:
            raise BackfillError("the gap must be positive")

    @property
    def source(self) -> str:
        if self.key is not None:
            return f"backfill:key={self.key}"
        return f"{INFER_SOURCE_PREFIX}gap={duration_label(self.gap_seconds or 0.0)}"

    def parameters(self) -> dict[str, Any]:
        found = {
            "key": self.key,
            "gapSeconds": self.gap_seconds,
            "confirmHistory": self.confirm_history if self.gap_seconds else None,
            "fromNs": self.from_ns,
            "toNs": self.to_ns,
            "userId": self.user_id,
        }
        return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    request: BackfillRequest
    scanned: int
    changes: Mapping[str, Assignment] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What applying would do: counts and a few example sessions."""
        by_session: dict[str, list[str]] = defaultdict(list)
        for trace_id, assignment in sorted(self.changes.items()):
            by_session[assignment.session_id or ""].append(trace_id)
        largest = sorted(by_session.items(), key=lambda item: (-len(item[1]), item[0]))
        return {
            "source": self.request.source,
            "tracesScanned": self.scanned,
            "tracesToAssign": len(self.changes),
            "sessions": len(by_session),
            "examples": [
                {"sessionId": sid, "traceCount": len(ids), "traceIds": ids[:EXAMPLE_TRACES]}
                for sid, ids in largest[:EXAMPLES]
            ],
        }


def plan_backfill(store: Store, project_id: str, request: BackfillRequest) -> BackfillPlan:
    """What a backfill would assign (nothing is written)."""
    query = CandidateQuery(
        from_ns=request.from_ns,
        to_ns=request.to_ns,
        with_metadata=request.key is not None,
        include_inferred=request.key is None,
        user_id=request.user_id,
    )
    candidates = store.session_candidates(project_id, query)
    if request.key is not None:
        return BackfillPlan(request, len(candidates), key_changes(candidates, request))
    return BackfillPlan(request, len(candidates), _infer(store, project_id, candidates, request))


def key_changes(candidates: list[Candidate], request: BackfillRequest) -> dict[str, Assignment]:
    changes: dict[str, Assignment] = {}
    for candidate in candidates:
        found = find_session_id(candidate.metadata, request.key or "")
        if found is not None:
            changes[candidate.trace_id] = Assignment(found, request.source)
    return changes


def _infer(
    store: Store, project_id: str, candidates: list[Candidate], request: BackfillRequest
) -> dict[str, Assignment]:
    gap_ns = int((request.gap_seconds or DEFAULT_GAP_SECONDS) * 1e9)
    confirm = None
    if request.confirm_history:
        confirm = history_confirmation(_inputs(store, project_id, candidates))
    return inferred_changes(infer_groups(candidates, gap_ns, confirm), request.source)


def _inputs(store: Store, project_id: str, candidates: list[Candidate]) -> dict[str, str | None]:
    ids = [c.trace_id for c in candidates if c.user_id is not None]
    inputs: dict[str, str | None] = {}
    for start in range(0, len(ids), IO_CHUNK):
        found = store.get_trace_io(project_id, ids[start : start + IO_CHUNK])
        inputs.update((trace_id, io.input) for trace_id, io in found.items())
    return inputs


def apply_backfill(
    store: Store, project_id: str, plan: BackfillPlan, actor: str
) -> AuditEntry | None:
    """Write the plan as one audited change; None when it changes nothing."""
    if not plan.changes:
        return None
    entry = new_entry(actor, "backfill", plan.request.parameters())
    return store.apply_assignments(project_id, entry, dict(plan.changes))


def new_entry(actor: str, operation: str, parameters: Mapping[str, Any]) -> AuditEntry:
    """An audit entry for a change about to be applied (the store fills in the rest)."""
    return AuditEntry(
        id=uuid.uuid4().hex,
        created_ns=time.time_ns(),
        actor=actor,
        operation=operation,
        parameters=dict(parameters),
    )
