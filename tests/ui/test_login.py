"""The login: required off loopback or with SKEIN_UI_LOGIN=required, none on loopback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from skein.store.base import Store
from tests.ui.factories import PUBLIC, SECRET, client_for, csrf_of, project_of, write_chat


def login_form(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200 and "Log in to Skein" in page.text
    return csrf_of(page.text)


def test_no_login_on_loopback(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path) as client:
        assert client.get("/sessions").status_code == 200
        assert client.get("/login", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("overrides", [{"ui_login": "required"}, {"host": "0.0.0.0"}])
def test_pages_need_a_login_when_required(
    store: Store, tmp_path: Path, overrides: dict[str, str]
) -> None:
    with client_for(store, tmp_path, **overrides) as client:
        response = client.get("/sessions/private-chat", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fsessions%2Fprivate-chat"
        assert client.get("/ui/events").status_code == 401
        assert client.get("/static/skein.css").status_code == 200


def test_logging_in_with_a_key_pair(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path, ui_login="required") as client:
        write_chat(store, project_of(store), "private-chat", 1)
        token = login_form(client)
        wrong = client.post(
            "/login", data={"csrf": token, "public_key": PUBLIC, "secret_key": "nope"}
        )
        assert wrong.status_code == 401 and "not valid" in wrong.text
        done = client.post(
            "/login",
            data={
                "csrf": token,
                "public_key": PUBLIC,
                "secret_key": SECRET,
                "next": "/sessions/private-chat",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/sessions/private-chat"
        cookie = done.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        page = client.get("/sessions/private-chat")
        assert page.status_code == 200 and "Answer number 0." in page.text
        assert "Log out" in page.text


def test_a_revoked_key_ends_its_login(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path, ui_login="required") as client:
        token = login_form(client)
        client.post("/login", data={"csrf": token, "public_key": PUBLIC, "secret_key": SECRET})
        assert client.get("/sessions", follow_redirects=False).status_code == 200
        store.revoke_key(PUBLIC, 1)
        assert client.get("/sessions", follow_redirects=False).status_code == 303


def test_admin_password_and_logout(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path, ui_login="required", ui_admin_password="hunter22") as client:
        token = login_form(client)
        assert client.post("/login", data={"csrf": token, "password": "wrong"}).status_code == 401
        client.post("/login", data={"csrf": token, "password": "hunter22"})
        page = client.get("/settings")
        assert page.status_code == 200 and "New project name" in page.text
        session_token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert session_token
        client.post("/logout", data={"csrf": session_token.group(1)})
        assert client.get("/sessions", follow_redirects=False).status_code == 303


def test_login_needs_its_csrf_token(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path, ui_login="required") as client:
        login_form(client)
        refused = client.post("/login", data={"public_key": PUBLIC, "secret_key": SECRET})
        assert refused.status_code == 403


def test_repeated_failures_are_refused_for_a_while(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path, ui_login="required") as client:
        token = login_form(client)
        statuses = [
            client.post("/login", data={"csrf": token, "password": f"guess-{n}"}).status_code
            for n in range(12)
        ]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
        right = client.post(
            "/login", data={"csrf": token, "public_key": PUBLIC, "secret_key": SECRET}
        )
        assert right.status_code == 429


def test_next_never_leaves_the_site(store: Store, tmp_path: Path) -> None:
    with client_for(store, tmp_path, ui_login="required") as client:
        token = login_form(client)
        done = client.post(
            "/login",
            data={
                "csrf": token,
                "public_key": PUBLIC,
                "secret_key": SECRET,
                "next": "//evil.test/x",
            },
            follow_redirects=False,
        )
        assert done.headers["location"] == "/sessions"
