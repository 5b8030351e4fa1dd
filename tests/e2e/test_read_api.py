"""The read API against a real server: the `api.*` clients of langfuse 3.x and 4.x, raw HTTP
with 5.x's models for `/api/public/v2/observations`, and `skein export` on the command line.

Data goes in over OTLP/HTTP (protobuf), as SDKs send it: a session of three traces whose
children never carry the session id, and one trace of another session.
"""

from __future__ import annotations

import base64
import csv
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CLIENTS, REPO_ROOT, ClientRun, Server, clean_environment, require
from tests.otlp_bodies import BASE_NS, SpanSpec, protobuf_body

pytestmark = pytest.mark.e2e

LANGFUSE4_PYTHON = REPO_ROOT / ".venv-langfuse4" / "bin" / "python"
SESSION = "read-api-session"
OTHER_SESSION = "read-api-other"
TAG = "read-api-tag"
TRACES = [f"{n:032x}" for n in range(0xA1, 0xA4)]
OTHER_TRACE = f"{0xB1:032x}"
SECOND_NS = 1_000_000_000


def root_id(trace_id: str) -> str:
    return trace_id[-12:] + "0001"


def child_id(trace_id: str) -> str:
    return trace_id[-12:] + "0002"


def trace_spans(trace_id: str, session_id: str, turn: int) -> list[SpanSpec]:
    start = BASE_NS + turn * 10 * SECOND_NS
    root = SpanSpec(
        trace_id, root_id(trace_id), name=f"turn-{turn}", start_ns=start,
        end_ns=start + 3 * SECOND_NS,
        attributes={
            "session.id": session_id, "user.id": "reader", "langfuse.trace.tags": [TAG],
            "langfuse.trace.input": json.dumps({"question": f"q{turn}"}),
        },
    )  # fmt: skip
    generation = SpanSpec(
        trace_id, child_id(trace_id), parent_id=root.span_id, name="llm",
        start_ns=start + SECOND_NS, end_ns=start + 2 * SECOND_NS,
        attributes={
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "gpt-4o-mini",
            "langfuse.observation.usage_details": json.dumps({"input": 10, "output": 5}),
            "langfuse.observation.cost_details": json.dumps({"total": 0.25}),
        },
    )  # fmt: skip
    return [generation, root]  # children first, as exporters send them


def authorization(server: Server) -> str:
    token = f"{server.public_key}:{server.secret_key}".encode()
    return "Basic " + base64.b64encode(token).decode()


def http(server: Server, method: str, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(
        server.base_url + path,
        data=body,
        method=method,
        headers={"Authorization": authorization(server), "Content-Type": "application/x-protobuf"},
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def seeded(skein_server: Server) -> Server:
    spans = [s for turn, t in enumerate(TRACES) for s in trace_spans(t, SESSION, turn)]
    spans += trace_spans(OTHER_TRACE, OTHER_SESSION, 7)
    http(skein_server, "POST", "/api/public/otel/v1/traces", protobuf_body(*spans))
    return skein_server


@pytest.fixture(scope="session")
def langfuse4_python() -> Path:
    require(LANGFUSE4_PYTHON.exists(), f"{LANGFUSE4_PYTHON} does not exist")
    return LANGFUSE4_PYTHON


def run_reads(server: Server, python: Path) -> ClientRun:
    script = CLIENTS / "langfuse_api_reads.py"
    arguments = [TRACES[1], SESSION, child_id(TRACES[1]), TAG]
    return server.run_client([python, script, *arguments])


@pytest.fixture(scope="module")
def langfuse3_reads(seeded: Server, langfuse3_python: Path) -> dict[str, Any]:
    return run_reads(seeded, langfuse3_python).report


@pytest.fixture(scope="module")
def langfuse4_reads(seeded: Server, langfuse4_python: Path) -> dict[str, Any]:
    return run_reads(seeded, langfuse4_python).report


@pytest.fixture(params=["3", "4"])
def reads(request: pytest.FixtureRequest) -> dict[str, Any]:
    report: dict[str, Any] = request.getfixturevalue(f"langfuse{request.param}_reads")
    assert report["version"].startswith(request.param + ".")
    return report


def test_trace_get_parses_with_observations_and_metrics(reads: dict[str, Any]) -> None:
    trace = reads["trace"]

    assert trace["id"] == TRACES[1]
    assert trace["sessionId"] == SESSION and trace["userId"] == "reader"
    assert trace["tags"] == [TAG]
    assert trace["input"] == {"question": "q1"}
    assert trace["latency"] == pytest.approx(3.0)
    assert trace["totalCost"] == pytest.approx(0.25)
    assert trace["htmlPath"] == f"/traces/{TRACES[1]}"
    assert sorted(trace["observations"]) == sorted([root_id(TRACES[1]), child_id(TRACES[1])])
    assert sorted(trace["types"]) == ["GENERATION", "SPAN"]
    assert 15 in trace["usageTotals"]


def test_trace_list_filters_by_session_and_tags(reads: dict[str, Any]) -> None:
    assert sorted(reads["trace_list"]["ids"]) == sorted(TRACES)
    assert reads["trace_list"]["totalItems"] == 3
    assert all(len(ids) == 2 for ids in reads["trace_list"]["observations"])
    assert reads["tagged"]["ids"] == TRACES[:2]
    assert reads["tagged"]["totalPages"] == 2  # the other session's trace has the tag too
    assert reads["recent_count"] == 4


def test_sessions_get_and_list(reads: dict[str, Any]) -> None:
    assert reads["session"]["id"] == SESSION
    assert reads["session"]["traces"] == TRACES  # in time order
    assert set(reads["sessions"]["ids"]) == {SESSION, OTHER_SESSION}
    assert reads["sessions"]["totalItems"] == 2


def test_observations_v1_and_v2(reads: dict[str, Any]) -> None:
    expected = sorted([root_id(TRACES[1]), child_id(TRACES[1])])

    assert reads["observations_v1"] == expected
    assert reads["observation"] == {
        "id": child_id(TRACES[1]), "traceId": TRACES[1], "type": "GENERATION"
    }  # fmt: skip
    assert reads["observations_v2"] == expected
    assert reads["v2_cursor_after_last"] is None


def test_v2_observations_by_session_parse_with_langfuse5_models(
    seeded: Server, langfuse5_python: str
) -> None:
    from langfuse.api.core.pydantic_utilities import parse_obj_as
    from langfuse.api.observations.types.observations_v2response import ObservationsV2Response

    body = http(seeded, "GET", f"/api/public/v2/observations?fields=core,basic&sessionId={SESSION}")

    parsed = parse_obj_as(ObservationsV2Response, body)
    assert {o.trace_id for o in parsed.data} == set(TRACES)
    assert len(parsed.data) == 6
    assert all(o.session_id == SESSION for o in parsed.data)  # children included
    assert parsed.meta.cursor is None


def test_unknown_prompt_is_a_clean_404_for_langfuse5(seeded: Server, langfuse5_python: str) -> None:
    script = (
        "from langfuse import Langfuse\n"
        "p = Langfuse().get_prompt('no-such-prompt', fallback='fallback text', max_retries=0)\n"
        "print(__import__('json').dumps({'prompt': p.prompt, 'fallback': p.is_fallback}))\n"
    )

    run = seeded.run_client([langfuse5_python, "-c", script])

    assert run.report == {"prompt": "fallback text", "fallback": True}


def test_skein_export_writes_every_session_as_csv(seeded: Server, tmp_path: Path) -> None:
    output = tmp_path / "sessions.csv"
    environment = clean_environment(
        {
            "SKEIN_BASE_URL": seeded.base_url,
            "SKEIN_PUBLIC_KEY": seeded.public_key,
            "SKEIN_SECRET_KEY": seeded.secret_key,
        }
    )
    command = [sys.executable, "-m", "skein", "export", "sessions", "--format", "csv"]

    finished = subprocess.run(
        [*command, "--output", str(output)], env=environment, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip

    assert finished.returncode == 0, finished.stderr
    with output.open(newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert {r["sessionId"] for r in rows} == {SESSION, OTHER_SESSION}
    assert next(r for r in rows if r["sessionId"] == SESSION)["traceCount"] == "3"
    assert "exported 2 sessions" in finished.stderr


def test_skein_export_reports_a_refused_key(seeded: Server, tmp_path: Path) -> None:
    environment = clean_environment(
        {"SKEIN_BASE_URL": seeded.base_url, "SKEIN_PUBLIC_KEY": "pk-x", "SKEIN_SECRET_KEY": "no"}
    )

    finished = subprocess.run(
        [sys.executable, "-m", "skein", "export", "traces", "-o", str(tmp_path / "t.jsonl")],
        env=environment, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert finished.returncode == 1
    assert "401" in finished.stderr
