"""What the repair parts of the pages show: the backfill form and its dry run, the
project's session rules, and audit entries as a history with Undo.

The diagnostics page shows a `RepairPanel` (backfill, rules, the project's recent changes);
the session page shows its session's `HistoryRow`s. The actions that change things are in
`skein.ui.repair`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skein.repair.backfill import BackfillRequest
from skein.repair.durations import duration_label, parse_duration
from skein.repair.model import AuditEntry, SessionRule
from skein.repair.rules import parse_rules
from skein.store.base import Store

PROJECT_HISTORY = 10
SESSION_HISTORY = 20
DEFAULT_GAP = "30m"
KEY, INFER = "key", "infer"


@dataclass(frozen=True, slots=True)
class BackfillForm:
    """The backfill form as typed: by key, or by inference with a gap."""

    method: str = KEY
    key: str = ""
    gap: str = DEFAULT_GAP
    confirm_history: bool = False

    @classmethod
    def of(cls, form: Mapping[str, str]) -> BackfillForm:
        method = INFER if form.get("method") == INFER else KEY
        return cls(
            method=method,
            key=form.get("key", "").strip(),
            gap=form.get("gap", "").strip() or DEFAULT_GAP,
            confirm_history=form.get("confirm_history") == "1",
        )

    def request(self) -> BackfillRequest:
        """The backfill to run; BackfillError or ValueError (the message says why)."""
        if self.method == KEY:
            return BackfillRequest(key=self.key)
        return BackfillRequest(
            gap_seconds=parse_duration(self.gap), confirm_history=self.confirm_history
        )

    def fields(self) -> tuple[tuple[str, str], ...]:
        """The form's values as hidden fields, so Apply posts exactly what was previewed."""
        if self.method == KEY:
            return (("method", KEY), ("key", self.key))
        return (
            ("method", INFER),
            ("gap", self.gap),
            ("confirm_history", _flag(self.confirm_history)),
        )

    def describe(self) -> str:
        if self.method == KEY:
            return f"by key {self.key}"
        history = ", confirmed by repeated history" if self.confirm_history else ""
        return f"by inference (gap {self.gap}{history})"


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """An audit entry as a history line: what it did, how many traces, undoable or not."""

    entry: AuditEntry
    text: str
    traces: int
    can_undo: bool


@dataclass(frozen=True, slots=True)
class RuleRow:
    rule: SessionRule
    label: str  # identifies the rule in the remove form
    text: str


@dataclass(frozen=True, slots=True)
class RepairPanel:
    """The diagnostics page's repair section."""

    rules: tuple[RuleRow, ...]
    history: tuple[HistoryRow, ...]
    form: BackfillForm = field(default_factory=BackfillForm)
    preview: Mapping[str, Any] | None = None  # `BackfillPlan.summary()` of a dry run
    error: str = ""
    applied: HistoryRow | None = None


def load_panel(store: Store, project_id: str, applied_id: str = "") -> RepairPanel:
    applied = store.get_audit(project_id, applied_id) if applied_id else None
    return RepairPanel(
        rules=tuple(rule_row(r) for r in load_rules(store, project_id)),
        history=history_rows(store.list_audit(project_id, None, PROJECT_HISTORY)),
        applied=history_row(applied) if applied is not None else None,
    )


def load_rules(store: Store, project_id: str) -> list[SessionRule]:
    return parse_rules(store.get_session_rules(project_id))


def session_history(store: Store, project_id: str, session_id: str) -> tuple[HistoryRow, ...]:
    return history_rows(store.list_audit(project_id, session_id, SESSION_HISTORY))


def history_rows(entries: Sequence[AuditEntry]) -> tuple[HistoryRow, ...]:
    return tuple(history_row(e) for e in entries)


def history_row(entry: AuditEntry) -> HistoryRow:
    can_undo = entry.undone_by is None and entry.operation != "undo"
    return HistoryRow(entry, describe(entry), len(entry.previous), can_undo)


def describe(entry: AuditEntry) -> str:
    """One line saying what an audit entry did."""
    p = entry.parameters
    match entry.operation:
        case "rename":
            return f"Renamed {p.get('sessionId')} → {p.get('newSessionId')}"
        case "merge":
            return f"Merged {', '.join(p.get('sessionIds') or ())} into {p.get('into')}"
        case "split":
            turn = int(p.get("atTurn") or 0) + 1
            return f"Split {p.get('sessionId')} at turn {turn} into {p.get('newSessionId')}"
        case "move":
            count = len(p.get("traceIds") or ())
            target = p.get("toSessionId") or "no session"
            return f"Moved {count} trace{'s' if count != 1 else ''} to {target}"
        case "backfill":
            return "Backfill " + _backfill_text(p)
        case "undo":
            return f"Undid {str(p.get('auditId', ''))[:8]}"
    return entry.operation.capitalize()


def _backfill_text(parameters: Mapping[str, Any]) -> str:
    if parameters.get("key"):
        return f"by key {parameters['key']}"
    gap = duration_label(float(parameters.get("gapSeconds") or 0))
    history = ", confirmed by history" if parameters.get("confirmHistory") else ""
    return f"by inference (gap {gap}{history})"


def rule_row(rule: SessionRule) -> RuleRow:
    if rule.kind == "metadata_key":
        return RuleRow(rule, f"metadata_key:{rule.key}", f"Session id from key {rule.key}")
    gap = duration_label(rule.gap_seconds or 0.0)
    history = ", confirmed by repeated history" if rule.confirm_history else ""
    text = f"Infer sessions: same user, gaps under {gap}{history}"
    return RuleRow(rule, f"infer:{gap}:{_flag(rule.confirm_history)}", text)


def _flag(value: bool) -> str:
    return "1" if value else "0"
