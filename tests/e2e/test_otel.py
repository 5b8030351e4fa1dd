"""Plain OpenTelemetry (OTLP/HTTP protobuf to /v1/traces) with GenAI conventions."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.conftest import CLIENTS, Server, sorted_names

pytestmark = pytest.mark.e2e

SCRIPT = CLIENTS / "otel_genai.py"


def test_conversation_id_groups_the_traces_with_their_usage(skein_server: Server) -> None:
    session_id = "otel-conversation"
    run = skein_server.run_client([sys.executable, SCRIPT, session_id])

    with skein_server.read() as view:
        contents = view.session_contents(session_id)
        session = view.checked_session(session_id)

    assert contents == sorted_names(run.report["traces"])
    usage = run.report["usage"]
    assert (session.input_tokens, session.output_tokens) == (usage["input"], usage["output"])


def test_a_wrong_secret_key_is_refused_and_nothing_is_stored(skein_server: Server) -> None:
    session_id = "otel-wrong-key"
    with skein_server.read() as view:
        before = len(view.traces())

    run = skein_server.run_client(
        [sys.executable, SCRIPT, session_id], LANGFUSE_SECRET_KEY="sk-lf-not-the-secret"
    )

    with skein_server.read() as view:
        assert view.traces(session_id) == []
        assert len(view.traces()) == before
    assert "401" in run.stderr
