"""What the server can tell about why sessions go missing (served to `skein doctor`).

Over the project's recent traces:

* `misplacedKeys`: traces without a session whose spans carry a metadata or attribute key
  that looks like a session id under a name Skein does not read (wrong key or case:
  `sessionid`, `session-id`, `langfuse_sessionId`, `conversation_id`, ...);
* `childOnly`: traces whose session came from a non-root span only (the app sets the id
  on one inner call, so other tools that read it from the root, and trace-level views
  before that span arrives, miss it);
* `lonelyRoots`: single-span traces without a session, the sign of threads or tasks that
  drop the tracing context (each call becomes its own trace);
* `warnings`: the ingestion warnings about session ids (too long, empty, not a string).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from skein.ingest.conventions import SESSION_KEYS, SESSION_NAMES
from skein.repair.model import CandidateQuery
from skein.store.base import Store, TraceQuery

RECENT_TRACES = 500
# A key whose letters and digits alone read like one of these names a session.
SESSION_LIKE = frozenset(
    {"sessionid", "langfusesessionid", "session", "conversationid", "threadid", "chatid"}
)
# Keys Skein reads as the session id already (their values are not misplaced).
READ_KEYS = frozenset((*SESSION_KEYS, *SESSION_NAMES))
# Session sources of assignments (edits, backfills, rules), not of any span.
ASSIGNED_SOURCES = ("edit:", "backfill:", "infer:", "rule:")
NESTED_MAPS = ("attributes", "resourceAttributes")
EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Diagnosis:
    traces: int
    misplaced_keys: Mapping[str, int]
    misplaced_examples: tuple[str, ...]
    child_only: int
    child_only_examples: tuple[str, ...]
    lonely_roots: int
    without_session: int
    warnings: Mapping[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "traces": self.traces,
            "misplacedKeys": dict(self.misplaced_keys),
            "misplacedExamples": list(self.misplaced_examples),
            "childOnly": self.child_only,
            "childOnlyExamples": list(self.child_only_examples),
            "lonelyRoots": self.lonely_roots,
            "withoutSession": self.without_session,
            "warnings": dict(self.warnings),
        }


def diagnose(store: Store, project_id: str, from_ns: int | None = None) -> Diagnosis:
    recent = store.query_traces(project_id, TraceQuery(from_ns=from_ns, limit=RECENT_TRACES)).items
    oldest = min((t.start_ns for t in recent), default=None)
    candidates = store.session_candidates(
        project_id, CandidateQuery(from_ns=oldest, with_metadata=True)
    )
    misplaced: Counter[str] = Counter()
    examples: list[str] = []
    for candidate in candidates:
        keys = session_like_keys(candidate.metadata)
        misplaced.update(keys)
        if keys and len(examples) < EXAMPLES:
            examples.append(candidate.trace_id)
    child_only = [
        t.trace_id
        for t in recent
        if t.session_id
        and not (t.session_source or "").startswith(ASSIGNED_SOURCES)
        and _from_child(store, project_id, t.root_id)
    ]
    lonely = [t for t in recent if t.session_id is None and t.observation_count == 1]
    warnings = Counter(
        w.warning.code for w in store.list_warnings(project_id, limit=1000)
        if w.warning.code.startswith("session")
    )  # fmt: skip
    return Diagnosis(
        traces=len(recent),
        misplaced_keys=dict(misplaced.most_common()),
        misplaced_examples=tuple(examples),
        child_only=len(child_only),
        child_only_examples=tuple(child_only[:EXAMPLES]),
        lonely_roots=len(lonely),
        without_session=sum(1 for t in recent if t.session_id is None),
        warnings=dict(warnings),
    )


def session_like_keys(maps: Iterable[Mapping[str, Any]]) -> set[str]:
    """Keys in the maps (and their attribute maps) that look like session ids."""
    found: set[str] = set()
    for mapping in maps:
        for place in (
            mapping,
            *[m for n in NESTED_MAPS if isinstance(m := mapping.get(n), Mapping)],
        ):
            found.update(key for key, value in place.items() if _session_like(key, value))
    return found


def _session_like(key: str, value: Any) -> bool:
    if key in READ_KEYS or not isinstance(value, str | int) or isinstance(value, bool):
        return False
    return re.sub(r"[^a-z0-9]", "", key.lower()) in SESSION_LIKE


def _from_child(store: Store, project_id: str, root_id: str | None) -> bool:
    if root_id is None:
        return True
    root = store.get_observation(project_id, root_id)
    return root is not None and root.trace.session_id is None
