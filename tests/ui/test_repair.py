"""The repair forms in process: backfill (dry run, apply, undo) and session rules on the
diagnostics page; rename, merge, split, move and undo on the session page; CSRF, logins and
errors shown in the pages' style."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from skein.projects import create_key
from skein.records import Observation
from skein.store.base import Store, TraceQuery
from tests.ui.factories import (
    PUBLIC,
    SECRET,
    chat_turn,
    client_for,
    csrf_of,
    project_of,
    trace_id,
    write_chat,
    write_observations,
)


def post(client: TestClient, path: str, token: str, **fields: str) -> Any:
    return client.post(path, data={"csrf": token, **fields}, follow_redirects=False)


def unsessioned(store: Store, name: str, turns: int, metadata: dict[str, Any]) -> list[str]:
    """`turns` traces of one user without a session id, their root carrying `metadata`."""
    observations: list[Observation] = []
    history: list[dict[str, Any]] = []
    for n in range(turns):
        made, history = chat_turn(name, n, history, f"Q{n}", f"A{n}")
        root, *rest = made
        bare = replace(root.trace, session_id=None, session_source=None)
        observations += [replace(root, trace=bare, metadata=metadata), *rest]
    write_observations(store, project_of(store), observations)
    return [trace_id(n, name) for n in range(turns)]


def session_of(store: Store, trace: str) -> str | None:
    found = store.get_trace(project_of(store), trace)
    assert found is not None
    return found.session_id


def session_turns(store: Store, session_id: str) -> list[str]:
    query = TraceQuery(session_id=session_id, descending=False, limit=100)
    return [t.trace_id for t in store.query_traces(project_of(store), query).items]


def audit_ids(html: str) -> list[str]:
    return re.findall(r'action="/audit/([0-9a-f]+)/undo"', html)


# -- Diagnostics page: backfill -----------------------------------------------------------------


def test_diagnostics_has_the_repair_forms(client: TestClient) -> None:
    html = client.get("/diagnostics").text
    assert "Repair sessions" in html and "Session rules" in html and "Recent changes" in html
    assert html.count('action="/diagnostics/backfill#repair"') == 2  # by key, by inference
    assert 'name="confirm_history"' in html and 'value="30m"' in html


def test_a_dry_run_shows_counts_and_examples_and_writes_nothing(
    client: TestClient, store: Store
) -> None:
    traces = unsessioned(store, "chat", 3, {"chat": {"id": "conv-7"}})
    token = csrf_of(client.get("/diagnostics").text)
    page = post(
        client, "/diagnostics/backfill", token, method="key", key="chat.id", action="preview"
    )
    assert page.status_code == 200
    html = page.text
    assert "Dry run by key chat.id" in html and "nothing written yet" in html
    assert re.search(r"Traces to assign</dt><dd>3<", html)
    assert re.search(r"Sessions</dt><dd>1<", html)
    assert "conv-7" in html and f'href="/traces/{traces[0]}"' in html
    assert "Apply to 3 traces" in html
    assert '<input type="hidden" name="key" value="chat.id">' in html  # Apply repeats it
    assert [session_of(store, t) for t in traces] == [None] * 3
    assert store.list_audit(project_of(store)) == []


def test_apply_writes_shows_undo_and_undo_restores(client: TestClient, store: Store) -> None:
    traces = unsessioned(store, "chat", 2, {"conversation": "conv-1"})
    token = csrf_of(client.get("/diagnostics").text)
    fields = {"method": "key", "key": "conversation", "action": "apply"}
    applied = post(client, "/diagnostics/backfill", token, **fields)
    (entry,) = store.list_audit(project_of(store))
    assert applied.status_code == 303
    assert applied.headers["location"] == f"/diagnostics?applied={entry.id}#audit-{entry.id}"
    assert [session_of(store, t) for t in traces] == ["conv-1", "conv-1"]
    html = client.get(applied.headers["location"]).text
    assert "Done: Backfill by key conversation · 2 traces changed" in html
    assert f'id="audit-{entry.id}"' in html and entry.id in audit_ids(html)
    undone = post(client, f"/audit/{entry.id}/undo", token)
    assert undone.status_code == 303 and undone.headers["location"].startswith("/diagnostics?")
    assert [session_of(store, t) for t in traces] == [None, None]
    again = post(client, f"/audit/{entry.id}/undo", token)
    assert again.status_code == 409 and "Already undone" in again.text
    history = client.get("/diagnostics").text
    assert "Undid " + entry.id[:8] in history and 'class="badge">undone' in history


def test_inference_dry_run_and_a_bad_gap(client: TestClient, store: Store) -> None:
    traces = unsessioned(store, "loose", 3, {})  # one user, a minute apart
    token = csrf_of(client.get("/diagnostics").text)
    fields = {"method": "infer", "gap": "5m", "action": "preview"}
    html = post(client, "/diagnostics/backfill", token, **fields).text
    assert "Dry run by inference (gap 5m)" in html and "inferred-" in html
    assert re.search(r"Traces to assign</dt><dd>3<", html)
    assert '<input type="hidden" name="gap" value="5m">' in html
    assert session_of(store, traces[0]) is None
    short = post(client, "/diagnostics/backfill", token, method="infer", gap="30s").text
    assert "Nothing would change" in short
    bad = post(client, "/diagnostics/backfill", token, method="infer", gap="soon")
    assert bad.status_code == 400
    assert re.search(r'class="alert error" role="alert">not a duration', bad.text)
    assert "Diagnostics" in bad.text  # the page itself, with its other sections
    empty = post(client, "/diagnostics/backfill", token, method="key", key=" ")
    assert empty.status_code == 400 and 'class="alert error"' in empty.text


# -- Diagnostics page: rules ----------------------------------------------------------------------


def test_rules_are_listed_added_and_removed(client: TestClient, store: Store) -> None:
    project_id = project_of(store)
    token = csrf_of(client.get("/diagnostics").text)
    added = post(client, "/diagnostics/rules", token, kind="metadata_key", key="conversation")
    assert added.status_code == 303 and added.headers["location"] == "/diagnostics#rules"
    post(client, "/diagnostics/rules", token, kind="infer", gap="45m", confirm_history="1")
    post(client, "/diagnostics/rules", token, kind="metadata_key", key="conversation")  # again
    assert store.get_session_rules(project_id) == [
        {"kind": "metadata_key", "key": "conversation"},
        {"kind": "infer", "gapSeconds": 2700.0, "confirmHistory": True},
    ]
    html = client.get("/diagnostics").text
    assert "Session id from key conversation" in html
    assert "gaps under 45m, confirmed by repeated history" in html
    removed = post(client, "/diagnostics/rules/delete", token, rule="metadata_key:conversation")
    assert removed.status_code == 303
    assert [r["kind"] for r in store.get_session_rules(project_id)] == ["infer"]
    gone = post(client, "/diagnostics/rules/delete", token, rule="metadata_key:conversation")
    assert gone.status_code == 404
    bad = post(client, "/diagnostics/rules", token, kind="infer", gap="-3m")
    assert bad.status_code == 400 and 'class="alert error"' in bad.text


def test_a_key_rule_applies_to_new_spans(client: TestClient, store: Store) -> None:
    token = csrf_of(client.get("/diagnostics").text)
    post(client, "/diagnostics/rules", token, kind="metadata_key", key="conversation")
    services = client.app.state.services  # type: ignore[attr-defined]
    assert services.session_rules.keys(project_of(store)) == ("conversation",)


# -- Session page ---------------------------------------------------------------------------------


def test_the_session_page_has_the_edit_forms(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "chat-a", 3)
    html = client.get("/sessions/chat-a").text
    for action in ("rename", "merge", "move"):
        assert f'action="/sessions/chat-a/{action}"' in html
    assert html.count('action="/sessions/chat-a/split"') == 2  # turns 2 and 3, not the first
    assert 'name="at_turn" value="2"' in html and 'name="at_turn" value="1"' not in html
    assert html.count('form="move-form"') == 3 and 'id="move-form"' in html
    assert "No changes yet" in html


def test_rename_then_undo_from_the_history(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "chat-a", 2)
    token = csrf_of(client.get("/sessions/chat-a").text)
    renamed = post(client, "/sessions/chat-a/rename", token, new_session_id="support-a")
    assert renamed.status_code == 303 and renamed.headers["location"] == "/sessions/support-a"
    assert store.get_session(project_of(store), "chat-a") is None
    assert len(session_turns(store, "support-a")) == 2
    html = client.get("/sessions/support-a").text
    assert "Renamed chat-a → support-a" in html and "local" in html
    (audit_id,) = audit_ids(html)
    assert 'name="session" value="support-a"' in html
    undone = post(client, f"/audit/{audit_id}/undo", token, session="support-a")
    assert undone.status_code == 303 and undone.headers["location"] == "/sessions/chat-a"
    assert len(session_turns(store, "chat-a")) == 2
    assert store.get_session(project_of(store), "support-a") is None
    after = client.get("/sessions/chat-a").text
    assert "Undid " + audit_id[:8] in after and 'class="badge">undone' in after


def test_merge_split_and_move(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "main", 3)
    write_chat(store, project_of(store), "extra", 1, first=10)
    token = csrf_of(client.get("/sessions/main").text)
    merged = post(client, "/sessions/main/merge", token, other_session_id="extra")
    assert merged.headers["location"] == "/sessions/main"
    assert len(session_turns(store, "main")) == 4
    split = post(client, "/sessions/main/split", token, at_turn="3", new_session_id="main-2")
    assert split.headers["location"] == "/sessions/main-2"
    assert session_turns(store, "main-2") == [trace_id(2, "main"), trace_id(10, "extra")]
    moving = {f"move:{trace_id(0, 'main')}": "1", f"move:{trace_id(1, 'main')}": "1"}
    moved = post(client, "/sessions/main/move", token, to_session_id="main-2", **moving)
    assert moved.headers["location"] == "/sessions/main-2"
    assert len(session_turns(store, "main-2")) == 4
    assert store.get_session(project_of(store), "main") is None
    out = post(client, "/sessions/main-2/move", token, **{f"move:{trace_id(0, 'main')}": "1"})
    assert out.headers["location"] == "/sessions/main-2"
    assert session_of(store, trace_id(0, "main")) is None
    history = client.get("/sessions/main-2").text  # the changes that touched main-2
    assert "Split main at turn 3 into main-2" in history and "Merged extra" not in history
    assert "Moved 2 traces to main-2" in history and "Moved 1 trace to no session" in history
    assert "Merged extra into main" in client.get("/diagnostics").text  # the project's


def test_edit_errors_are_shown_on_the_session_page(client: TestClient, store: Store) -> None:
    write_chat(store, project_of(store), "chat-a", 2)
    token = csrf_of(client.get("/sessions/chat-a").text)
    cases = [
        ("rename", {"new_session_id": "x" * 300}, 400, "not a usable session id"),
        ("merge", {"other_session_id": "nowhere"}, 404, "no session nowhere"),
        ("split", {"at_turn": "1", "new_session_id": "b"}, 400, "split at a turn between"),
        ("split", {"at_turn": "two", "new_session_id": "b"}, 400, "Choose the turn"),
        ("move", {"to_session_id": "b"}, 400, "Select the turns to move"),
    ]
    for action, fields, status, message in cases:
        page = post(client, f"/sessions/chat-a/{action}", token, **fields)
        assert page.status_code == status, action
        assert re.search(r'class="alert error" role="alert">' + re.escape(message), page.text)
        assert '<details class="menu" open>' in page.text  # the forms stay at hand
        assert "Answer number 1." in page.text  # the session page itself
    assert len(session_turns(store, "chat-a")) == 2 and store.list_audit(project_of(store)) == []
    missing = post(client, "/sessions/nowhere/rename", token, new_session_id="y")
    assert missing.status_code == 404 and "Session not found" in missing.text
    unknown = post(client, "/audit/" + "0" * 32 + "/undo", token)
    assert unknown.status_code == 404 and "Change not found" in unknown.text


# -- CSRF and logins ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/sessions/chat-a/rename", {"new_session_id": "stolen"}),
        ("/diagnostics/backfill", {"method": "key", "key": "conversation", "action": "apply"}),
        ("/diagnostics/rules", {"kind": "metadata_key", "key": "conversation"}),
    ],
)
def test_every_form_needs_the_csrf_token(
    client: TestClient, store: Store, path: str, fields: dict[str, str]
) -> None:
    write_chat(store, project_of(store), "chat-a", 1)
    unsessioned(store, "loose", 1, {"conversation": "c"})
    client.get("/sessions")  # the CSRF cookie
    for token in ("", "forged"):
        refused = client.post(path, data={"csrf": token, **fields}, follow_redirects=False)
        assert refused.status_code == 403 and "Form expired" in refused.text
    assert store.list_audit(project_of(store)) == []
    assert store.get_session_rules(project_of(store)) == []


def test_edits_need_a_login_and_stay_in_its_project(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path, ui_login="required") as client:
        write_chat(store, project_of(store), "chat-a", 1)
        other = create_key(store, store.create_project("Other").id, note="other")
        token = csrf_of(client.get("/login").text)
        anonymous = post(client, "/sessions/chat-a/rename", token, new_session_id="b")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
        fields = {"csrf": token, "public_key": other.public_key, "secret_key": other.secret_key}
        client.post("/login", data=fields)
        token = csrf_of(client.get("/sessions").text)
        outsider = post(client, "/sessions/chat-a/rename", token, new_session_id="b")
        assert outsider.status_code == 404
        assert store.list_audit(project_of(store)) == []
        client.post("/logout", data={"csrf": token})
        token = csrf_of(client.get("/login").text)
        client.post("/login", data={"csrf": token, "public_key": PUBLIC, "secret_key": SECRET})
        token = csrf_of(client.get("/sessions/chat-a").text)
        done = post(client, "/sessions/chat-a/rename", token, new_session_id="b")
        assert done.headers["location"] == "/sessions/b"
    (entry,) = store.list_audit(project_of(store))
    assert entry.actor == PUBLIC and entry.operation == "rename"
