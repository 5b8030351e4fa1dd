"""OpenLLMetry (`traceloop-sdk`) association properties against a real server.

`clients/traceloop_association.py` runs once in `.venv-otel-contrib` (traceloop-sdk pins
an older OpenTelemetry than `.venv`), pointed at the server only through the environment:
`TRACELOOP_BASE_URL`, `TRACELOOP_HEADERS` (HTTP Basic with the project's keys), and its
telemetry, metrics and logs off. `Traceloop.set_association_properties({"session_id",
"user_id"})` reaches the spans as `traceloop.association.properties.*`; the SDK's
LangChain instrumentation reports the chat model's usage in `gen_ai.usage.*` and its
messages in `gen_ai.input.messages` / `gen_ai.output.messages`.
"""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

import pytest

from tests.e2e.conformance import session_problems
from tests.e2e.conftest import CLIENTS, ClientRun, Server

pytestmark = pytest.mark.e2e


def basic_auth_header(server: Server) -> str:
    """`TRACELOOP_HEADERS` for HTTP Basic: `key=value`, the value percent-encoded."""
    credentials = f"{server.public_key}:{server.secret_key}".encode()
    value = "Basic " + base64.b64encode(credentials).decode()
    return "Authorization=" + urllib.parse.quote(value)


@pytest.fixture(scope="module")
def traceloop_run(skein_server: Server, otel_contrib_python: Path) -> ClientRun:
    return skein_server.run_client(
        [otel_contrib_python, CLIENTS / "traceloop_association.py", "tl"],
        TRACELOOP_BASE_URL=skein_server.base_url,
        TRACELOOP_HEADERS=basic_auth_header(skein_server),
        TRACELOOP_TELEMETRY="false",
        TRACELOOP_METRICS_ENABLED="false",
        TRACELOOP_LOGGING_ENABLED="false",
    )


def test_the_association_properties_make_the_session_and_user(
    skein_server: Server, traceloop_run: ClientRun
) -> None:
    with skein_server.read() as view:
        problems = [
            problem
            for session_id, report in traceloop_run.report["sessions"].items()
            for problem in session_problems(view, session_id, report)
        ]
        traces = view.traces("tl-session")

    assert problems == []
    assert {trace.session_source for trace in traces} == {
        "traceloop.association.properties.session_id"
    }
    assert {trace.user_source for trace in traces} == {"traceloop.association.properties.user_id"}
