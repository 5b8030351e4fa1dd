"""The diagnostics page: how well session ids reach the data, and why they do not.

Coverage (the share of traces, observations, tokens and cost in a session) overall and by
trace name, SDK and environment; which attribute or metadata key the ids came from; traces
whose spans disagree on the id; the newest traces without a session, each with a hint when
its metadata holds a key that looks like a session id under a name no convention uses; and
the recent ingestion warnings. The findings at the top say the problem in one sentence.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from skein.fold import TraceSummary
from skein.ingest.conventions import SESSION_KEYS, SESSION_NAMES
from skein.store.base import Coverage, SessionConflict, SessionSource, Store, StoredWarning
from skein.ui import filters
from skein.ui.repair_panel import RepairPanel, load_panel
from skein.ui.web import UI, Call

GROUPINGS = (
    ("name", "Trace name"),
    ("sdk", "SDK / instrumentation"),
    ("environment", "Environment"),
)
LOOKS_LIKE_SESSION = re.compile(r"session|thread|conversation|chat_?id|dialog", re.IGNORECASE)
RECOGNISED = frozenset(SESSION_NAMES) | frozenset(SESSION_KEYS)
MAX_UNSESSIONED = 30
DEFAULT_RANGE = "7d"

ERROR, WARNING, INFO, OK = "error", "warning", "info", "ok"


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str
    text: str


@dataclass(frozen=True, slots=True)
class Unsessioned:
    trace: TraceSummary
    hints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Diagnostics:
    range: filters.TimeRange
    overall: Coverage | None
    groups: tuple[tuple[str, str, tuple[Coverage, ...]], ...]
    sources: tuple[SessionSource, ...]
    conflicts: tuple[SessionConflict, ...]
    unsessioned: tuple[Unsessioned, ...]
    warnings: tuple[StoredWarning, ...]
    findings: tuple[Finding, ...]


def diagnostics_page(ui: UI, call: Call) -> Response:
    applied = call.query.get("applied", "")
    panel = load_panel(call.viewer.store, call.viewer.project.id, applied)
    return render_diagnostics(ui, call, panel)


def render_diagnostics(ui: UI, call: Call, repair: RepairPanel, status: int = 200) -> Response:
    """The page, with its repair section in the state `repair` describes."""
    query = dict(call.query)
    query.setdefault("range", DEFAULT_RANGE)
    window = filters.time_range(query, time.time_ns())
    report = load_diagnostics(call.viewer.store, call.viewer.project.id, window)
    context = {
        "report": report,
        "query": query,
        "range_labels": filters.RANGE_LABELS,
        "repair": repair,
    }
    return ui.render(call, "diagnostics.html", context, status=status)


def load_diagnostics(store: Store, project_id: str, window: filters.TimeRange) -> Diagnostics:
    span = (window.from_ns, window.to_ns)
    overall = next(iter(store.session_coverage(project_id, "", *span)), None)
    groups = tuple(
        (key, label, tuple(store.session_coverage(project_id, key, *span)))
        for key, label in GROUPINGS
    )
    sources = tuple(store.session_sources(project_id, *span))
    conflicts = tuple(store.session_conflicts(project_id, *span))
    unsessioned = tuple(
        Unsessioned(trace, hints_for(store, project_id, trace))
        for trace in store.traces_without_session(project_id, *span, limit=MAX_UNSESSIONED)
    )
    warnings = tuple(store.list_warnings(project_id, limit=50))
    found = findings(overall, conflicts, unsessioned, warnings)
    return Diagnostics(window, overall, groups, sources, conflicts, unsessioned, warnings, found)


def hints_for(store: Store, project_id: str, trace: TraceSummary) -> tuple[str, ...]:
    """Metadata keys of a trace (or its root span) that look like a session id but are not read."""
    keys = set(_suspicious(trace.metadata))
    if trace.root_id:
        root = store.get_observation(project_id, trace.root_id)
        if root is not None and root.trace_id == trace.trace_id:
            keys.update(_suspicious(root.metadata))
            attributes = root.metadata.get("attributes")
            if isinstance(attributes, Mapping):
                keys.update(_suspicious(attributes))
    return tuple(sorted(keys))


def _suspicious(metadata: Mapping[str, Any]) -> Iterable[str]:
    for key in metadata:
        bare = key.rsplit(".", 1)[-1]
        if LOOKS_LIKE_SESSION.search(key) and bare not in RECOGNISED and key not in RECOGNISED:
            yield key


def findings(
    overall: Coverage | None,
    conflicts: tuple[SessionConflict, ...],
    unsessioned: tuple[Unsessioned, ...],
    warnings: tuple[StoredWarning, ...],
) -> tuple[Finding, ...]:
    """The page's headline: each problem in one sentence, worst first."""
    if overall is None or overall.traces == 0:
        return (Finding(INFO, "No traces in this time range yet."),)
    found = [*_coverage_findings(overall)]
    if conflicts:
        found.append(Finding(WARNING, f"{len(conflicts)} traces carried more than one session id; "
                                      "the root span's id was used (listed below)."))  # fmt: skip
    hinted = sorted({key for u in unsessioned for key in u.hints})
    if hinted:
        names = ", ".join(f"“{key}”" for key in hinted[:5])
        found.append(Finding(ERROR, f"Traces without a session carry {names} in their metadata: "
                                    "it looks like a session id, but no convention reads that "
                                    "name. Rename it to sessionId or langfuse_session_id, or "
                                    "set session.id."))  # fmt: skip
    if warnings:
        found.append(Finding(WARNING, f"{len(warnings)} recent ingestion warnings: ids Skein "
                                      "could not use (reasons below)."))  # fmt: skip
    if not found:
        found.append(Finding(OK, "Every trace in this range belongs to a session."))
    return tuple(sorted(found, key=lambda f: (ERROR, WARNING, INFO, OK).index(f.severity)))


def _coverage_findings(overall: Coverage) -> Iterable[Finding]:
    missing = overall.traces - overall.traces_in_session
    if overall.traces_in_session == 0:
        yield Finding(ERROR, f"None of the {overall.traces:,} traces has a session id: no span "
                             "sent one under any convention Skein reads.")  # fmt: skip
    elif missing:
        share = 100 * missing / overall.traces
        yield Finding(WARNING, f"{missing:,} of {overall.traces:,} traces ({share:.0f}%) have "
                               "no session id.")  # fmt: skip
    inherited = overall.observations_in_session - overall.observations_carrying
    if overall.traces_in_session and inherited > 0:
        share = 100 * inherited / max(overall.observations_in_session, 1)
        yield Finding(INFO, f"{inherited:,} spans in sessions ({share:.0f}%) did not carry the "
                            "session id themselves; Skein put them in their trace's session, "
                            "so their tokens and cost count (tools that read the id per span "
                            "would miss them).")  # fmt: skip
