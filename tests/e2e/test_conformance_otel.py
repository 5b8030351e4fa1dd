"""Plain OpenTelemetry Python with the GenAI semantic conventions, over OTLP protobuf and JSON.

`clients/otel_genai_conformance.py` runs twice against this module's server: with the
OTLP/HTTP protobuf exporter (gzip, from `.venv`) and with the OTLP/HTTP JSON exporter
(`opentelemetry-exporter-otlp-json-http`, from `.venv-otel-contrib`). Each run sends three
traces of one `gen_ai.conversation.id`: messages as span events (`gen_ai.user.message`,
`gen_ai.choice`), as `gen_ai.input.messages` / `gen_ai.output.messages` attributes, and in
a `gen_ai.client.inference.operation.details` event. The clients send no cost: Skein prices
the generations from its model price table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.conformance import session_problems
from tests.e2e.conftest import CLIENTS, ClientRun, Server

pytestmark = pytest.mark.e2e

SCRIPT = CLIENTS / "otel_genai_conformance.py"
ENCODINGS = ("protobuf", "json")


@pytest.fixture(scope="module", params=ENCODINGS)
def otel_run(
    request: pytest.FixtureRequest, skein_server: Server, otel_contrib_python: Path
) -> ClientRun:
    encoding: str = request.param
    # The JSON exporter pins an older OpenTelemetry than `.venv` has: its own virtualenv.
    python = otel_contrib_python if encoding == "json" else Path(sys.executable)
    return skein_server.run_client([python, SCRIPT, encoding, f"otel-{encoding}"])


def test_the_conversation_holds_every_trace_with_its_messages_usage_and_user(
    skein_server: Server, otel_run: ClientRun
) -> None:
    report = otel_run.report
    with skein_server.read() as view:
        problems = session_problems(view, report["session_id"], report)
        traces = view.traces(report["session_id"])

    assert problems == []
    assert {trace.session_source for trace in traces} == {"gen_ai.conversation.id"}
    assert {trace.user_source for trace in traces} == {"user.id", "enduser.id"}
