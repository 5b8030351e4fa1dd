"""Session repair against real servers: backfill through the CLI, an archive moved between
two servers, and `skein doctor` (right, wrong-key and wrong-host configurations)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, clean_environment, free_port, running_server

START_NS = 1_700_000_000_000_000_000


def cli(server: Server, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = clean_environment(
        {"SKEIN_BASE_URL": server.base_url, "SKEIN_PUBLIC_KEY": server.public_key,
         "SKEIN_SECRET_KEY": server.secret_key, **env}
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "skein", *args], env=environment, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


def request(server: Server, method: str, path: str, body: Any = None) -> Any:
    token = base64.b64encode(f"{server.public_key}:{server.secret_key}".encode()).decode()
    data = None if body is None else json.dumps(body).encode()
    sent = urllib.request.Request(
        server.base_url + path, data=data, method=method,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(sent, timeout=30) as response:
        return json.loads(response.read())


def send_span(server: Server, index: int, attributes: dict[str, str], user: str = "u") -> str:
    trace_id = f"{index + 1:032x}"
    start = START_NS + index * 60 * 10**9
    attrs = [
        {"key": k, "value": {"stringValue": v}} for k, v in {**attributes, "user.id": user}.items()
    ]
    span = {"traceId": trace_id, "spanId": f"{index + 1:016x}", "name": f"turn {index}",
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 10**9),
            "attributes": attrs}  # fmt: skip
    body = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "app"}, "spans": [span]}]}]}
    request(server, "POST", "/api/public/otel/v1/traces", body)
    return trace_id


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("repair")) as running:
        yield running


def test_doctor_passes_then_names_the_misplaced_key(server: Server) -> None:
    healthy = cli(server, "doctor")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "ok   session:" in healthy.stdout
    send_span(server, 100, {"sessionid": "lost-1"}, user="doc")
    broken = cli(server, "doctor")
    assert broken.returncode == 1
    assert "wrong key or case" in broken.stdout and "sessionid (1)" in broken.stdout


def test_doctor_names_wrong_keys_and_wrong_host(server: Server) -> None:
    wrong_key = cli(server, "doctor", SKEIN_SECRET_KEY="sk-not-the-key")
    assert wrong_key.returncode == 1 and "wrong keys" in wrong_key.stdout
    wrong_host = cli(server, "doctor", SKEIN_BASE_URL=f"http://127.0.0.1:{free_port()}")
    assert wrong_host.returncode == 1 and "wrong host" in wrong_host.stdout


def test_backfill_through_the_cli(server: Server) -> None:
    ids = [send_span(server, i, {"conversation": f"conv-{i // 2}"}) for i in range(4)]
    dry = cli(server, "sessions", "backfill", "--key", "conversation", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would assign 4 of them to 2 sessions" in dry.stdout
    assert request(server, "GET", f"/api/public/traces/{ids[0]}")["sessionId"] is None
    done = cli(server, "sessions", "backfill", "--key", "conversation")
    assert done.returncode == 0 and "assigned 4" in done.stdout
    session = request(server, "GET", "/api/public/sessions/conv-1")
    assert sorted(t["id"] for t in session["traces"]) == sorted(ids[2:])
    audit_id = done.stdout.split("audit entry ")[1].split()[0]
    undone = cli(server, "sessions", "undo", audit_id)
    assert undone.returncode == 0, undone.stderr
    assert request(server, "GET", f"/api/public/traces/{ids[0]}")["sessionId"] is None


def test_archive_moves_between_two_servers(tmp_path: Path, server: Server) -> None:
    ids = [send_span(server, 200 + i, {"session.id": "moved"}) for i in range(3)]
    request(server, "POST", "/api/public/skein/sessions/split",
            {"sessionId": "moved", "atTurn": 2, "newSessionId": "moved-2"})  # fmt: skip
    archive = tmp_path / "moved.jsonl.gz"
    exported = cli(server, "sessions", "export", "--session-id", "moved",
                   "--session-id", "moved-2", "-o", str(archive))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "other").mkdir()
    with running_server(tmp_path / "other") as other:
        for _ in range(2):
            imported = cli(other, "sessions", "import", str(archive))
            assert imported.returncode == 0, imported.stderr
        assert json.loads(imported.stdout)["assignmentsChanged"] == 0
        for session_id in ("moved", "moved-2"):
            here = request(server, "GET", f"/api/public/sessions/{session_id}")
            there = request(other, "GET", f"/api/public/sessions/{session_id}")
            assert [t["id"] for t in there["traces"]] == [t["id"] for t in here["traces"]]
            assert there["traceCount"] == here["traceCount"]
        assert request(other, "GET", f"/api/public/traces/{ids[2]}")["sessionId"] == "moved-2"
        audit = request(other, "GET", "/api/public/skein/audit")["data"]
        assert [e["operation"] for e in audit] == ["split"]
