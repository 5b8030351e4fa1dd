"""Secrets against a real server: none reaches its log, even at debug level and on failed
logins, and a revoked key stops working at once — for the API and for a UI login made with it
— while the server keeps running."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PUBLIC_KEY, SECRET_KEY, clean_environment
from tests.otlp_bodies import SpanSpec, protobuf_body
from tests.reliability.servers import ServerProcess, SQLiteBackend, server_process

pytestmark = pytest.mark.e2e

WRONG_SECRET = "sk-wrong-5ecret-d0-not-log"
OTLP = "/api/public/otel/v1/traces"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    settings = {"SKEIN_LOG_LEVEL": "debug", "SKEIN_UI_LOGIN": "required"}
    with server_process(SQLiteBackend(), tmp_path_factory.mktemp("secrets"), **settings) as running:
        yield running


def basic(public: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{public}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def ingest(client: httpx.Client, public: str, secret: str, number: int) -> int:
    body = protobuf_body(SpanSpec("5ec0" * 8, f"{number:016x}"))
    headers = {**basic(public, secret), "Content-Type": "application/x-protobuf"}
    return client.post(OTLP, content=body, headers=headers).status_code


def skein_cli(server: ServerProcess, *args: str) -> str:
    finished = subprocess.run(
        [sys.executable, "-m", "skein", *args, "--data-dir", str(server.data_dir)],
        env=clean_environment({}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return finished.stdout


def ui_login(client: httpx.Client, public: str, secret: str) -> int:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    form = {"csrf": token.group(1), "public_key": public, "secret_key": secret}
    return client.post("/login", data=form, follow_redirects=False).status_code


def test_no_secret_reaches_the_log(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.server.base_url) as client:
        assert ingest(client, PUBLIC_KEY, SECRET_KEY, 1) == 200
        assert ingest(client, PUBLIC_KEY, WRONG_SECRET, 2) == 401
        assert ingest(client, "pk-unknown", WRONG_SECRET, 3) == 401
        broken = {"Authorization": "Basic " + base64.b64encode(WRONG_SECRET.encode()).decode()}
        assert client.get("/api/public/traces", headers=broken).status_code == 401
        assert client.get("/api/public/traces", headers=basic(PUBLIC_KEY, SECRET_KEY)).is_success
        assert ui_login(client, PUBLIC_KEY, WRONG_SECRET) == 401
        assert ui_login(client, PUBLIC_KEY, SECRET_KEY) == 303  # logged in: on to the page
    log = server.log()
    assert "DEBUG" in log  # the log really is at debug level
    for secret in (SECRET_KEY, WRONG_SECRET):
        for form in (secret, base64.b64encode(f"{PUBLIC_KEY}:{secret}".encode()).decode()):
            assert form not in log
    assert "sk-" not in log


def test_a_revoked_key_stops_working_at_once(server: ServerProcess) -> None:
    created = skein_cli(server, "keys", "create", "--note", "short-lived")
    fields = dict(line.split(":", 1) for line in created.splitlines() if ":" in line)
    public, secret = fields["public key"].strip(), fields["secret key"].strip()
    with (
        httpx.Client(base_url=server.server.base_url, follow_redirects=False) as api,
        httpx.Client(base_url=server.server.base_url) as browser,
    ):
        assert ingest(api, public, secret, 10) == 200
        assert ui_login(browser, public, secret) == 303
        assert browser.get("/sessions", follow_redirects=False).status_code == 200

        skein_cli(server, "keys", "revoke", public)

        assert ingest(api, public, secret, 11) == 401
        assert api.get("/api/public/traces", headers=basic(public, secret)).status_code == 401
        assert browser.get("/sessions", follow_redirects=False).status_code == 303
        assert ingest(api, PUBLIC_KEY, SECRET_KEY, 12) == 200  # other keys are unaffected
    assert Path(server.log_path).exists()
