"""The web UI's session repair forms: backfill (dry run, then apply), session rules, and
the session page's edits (rename, merge, split at a turn, move traces), each with Undo.

Every handler is a POST form (CSRF checked by `UI.action`) that calls the same functions as
the API (`skein.repair.backfill`, `skein.repair.edits`, the store's rule methods) and then
redirects to the page that shows the result; a form that cannot be done is shown again on
its page with the reason (status 400, or 404 when it names something that does not exist).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from starlette.responses import Response

from skein.repair.backfill import BackfillError, apply_backfill, plan_backfill
from skein.repair.edits import Edit, EditError, Merge, Move, Rename, Split, perform, undo
from skein.repair.model import AlreadyUndone, AuditEntry
from skein.repair.rules import MAX_RULES, RuleError, parse_rule
from skein.store.base import Store
from skein.ui.diagnostics import render_diagnostics
from skein.ui.repair_panel import (
    INFER,
    BackfillForm,
    RepairPanel,
    load_panel,
    load_rules,
    rule_row,
)
from skein.ui.session import author_of, render_session
from skein.ui.web import UI, Call, PageError, redirect

MOVE_PREFIX = "move:"  # a selected turn's checkbox: name "move:<trace id>"
MAX_MOVED_TRACES = 1000


def session_url(session_id: str) -> str:
    return f"/sessions/{quote(session_id, safe='')}"


# -- Backfill (diagnostics page) ----------------------------------------------------------------


def backfill_action(ui: UI, call: Call) -> Response:
    """`action=preview`: the dry run, shown on the page; `action=apply`: write it, then show
    the new audit entry (with Undo)."""
    store, project_id = call.viewer.store, call.viewer.project.id
    form = BackfillForm.of(call.form)
    panel = replace(load_panel(store, project_id), form=form)
    try:
        plan = plan_backfill(store, project_id, form.request())
    except (BackfillError, ValueError) as error:
        return render_diagnostics(ui, call, replace(panel, error=str(error)), status=400)
    if call.form.get("action") != "apply":
        return render_diagnostics(ui, call, replace(panel, preview=plan.summary()))
    entry = apply_backfill(store, project_id, plan, author_of(call))
    if entry is None:  # nothing left to change (another run got there first)
        return render_diagnostics(ui, call, replace(panel, preview=plan.summary()))
    return redirect(f"/diagnostics?applied={entry.id}#audit-{entry.id}")


# -- Session rules (diagnostics page) -----------------------------------------------------------


def add_rule_action(ui: UI, call: Call) -> Response:
    store, project_id = call.viewer.store, call.viewer.project.id
    rules = load_rules(store, project_id)
    try:
        if len(rules) >= MAX_RULES:
            raise RuleError(f"a project has at most {MAX_RULES} rules")
        rule = parse_rule(_rule_item(call))
    except RuleError as error:
        return _rules_error(ui, call, str(error))
    if rule_row(rule).label not in {rule_row(r).label for r in rules}:
        store.set_session_rules(project_id, [*rules, rule])
        call.viewer.services.session_rules.invalidate(project_id)
    return redirect("/diagnostics#rules")


def _rule_item(call: Call) -> dict[str, object]:
    if call.form.get("kind") == INFER:
        return {
            "kind": "infer",
            "gap": call.form.get("gap", "").strip() or "30m",
            "confirmHistory": call.form.get("confirm_history") == "1",
        }
    return {"kind": "metadata_key", "key": call.form.get("key", "")}


def remove_rule_action(ui: UI, call: Call) -> Response:
    store, project_id = call.viewer.store, call.viewer.project.id
    rules = load_rules(store, project_id)
    kept = [r for r in rules if rule_row(r).label != call.form.get("rule")]
    if len(kept) == len(rules):
        raise PageError(404, "Rule not found", "This project has no such session rule (any more).")
    store.set_session_rules(project_id, kept)
    call.viewer.services.session_rules.invalidate(project_id)
    return redirect("/diagnostics#rules")


def _rules_error(ui: UI, call: Call, message: str) -> Response:
    panel: RepairPanel = load_panel(call.viewer.store, call.viewer.project.id)
    return render_diagnostics(ui, call, replace(panel, error=message), status=400)


# -- Undo (both pages) --------------------------------------------------------------------------


def undo_action(ui: UI, call: Call) -> Response:
    """Undo an audit entry; back to the session the form came from (or where its traces
    went), else to the diagnostics page's history."""
    store, project_id = call.viewer.store, call.viewer.project.id
    audit_id = call.path("audit_id")
    original = store.get_audit(project_id, audit_id)
    if original is None:
        raise PageError(404, "Change not found", f"There is no audit entry {audit_id!r} here.")
    try:
        done = undo(store, project_id, audit_id, author_of(call))
    except AlreadyUndone:
        raise PageError(409, "Already undone", "This change was undone before.") from None
    except EditError as error:
        raise PageError(404, "Change not found", str(error)) from None
    session_id = call.form.get("session", "")
    if not session_id:
        return redirect(f"/diagnostics?applied={done.id}#audit-{done.id}")
    return redirect(_session_after(store, project_id, session_id, original))


def _session_after(store: Store, project_id: str, current: str, original: AuditEntry) -> str:
    for session_id in (current, *original.sessions):
        if store.get_session(project_id, session_id) is not None:
            return session_url(session_id)
    return "/sessions"


# -- Session edits (session page) ---------------------------------------------------------------


def rename_action(ui: UI, call: Call) -> Response:
    target = call.form.get("new_session_id", "").strip()
    return _edit(ui, call, Rename(call.path("session_id"), target), target)


def merge_action(ui: UI, call: Call) -> Response:
    session_id = call.path("session_id")
    other = call.form.get("other_session_id", "").strip()
    return _edit(ui, call, Merge((other,), into=session_id), session_id)


def split_action(ui: UI, call: Call) -> Response:
    """Turns from `at_turn` (as the page numbers them, from 1) on go to a new session."""
    target = call.form.get("new_session_id", "").strip()
    try:
        at_turn = int(call.form.get("at_turn", "")) - 1
    except ValueError:
        return _edit_error(ui, call, "Choose the turn to split at.", 400)
    return _edit(ui, call, Split(call.path("session_id"), at_turn, target), target)


def move_action(ui: UI, call: Call) -> Response:
    """The selected turns' traces to another session (an empty target: out of every one)."""
    trace_ids = tuple(
        name[len(MOVE_PREFIX) :] for name in call.form if name.startswith(MOVE_PREFIX)
    )
    if not trace_ids:
        return _edit_error(ui, call, "Select the turns to move first (the box on each turn).", 400)
    if len(trace_ids) > MAX_MOVED_TRACES:
        return _edit_error(ui, call, f"Move at most {MAX_MOVED_TRACES} turns at once.", 400)
    target = call.form.get("to_session_id", "").strip() or None
    return _edit(ui, call, Move(trace_ids, target), target or call.path("session_id"))


def _edit(ui: UI, call: Call, edit: Edit, then: str) -> Response:
    """Perform an edit and go to session `then` (or, if it has no turns now, the list)."""
    store, project_id = call.viewer.store, call.viewer.project.id
    try:
        perform(store, project_id, edit, author_of(call))
    except EditError as error:
        return _edit_error(ui, call, str(error), 404 if error.missing else 400)
    if store.get_session(project_id, then) is None:
        return redirect("/sessions")
    return redirect(session_url(then))


def _edit_error(ui: UI, call: Call, message: str, status: int) -> Response:
    """The session page again, the reason above its edit forms."""
    return render_session(ui, call, repair_error=message, status=status)
