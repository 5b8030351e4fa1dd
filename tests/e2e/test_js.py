"""The Langfuse JS SDK 5.x (OTLP/JSON over chunked HTTP) against a real server."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import JS_CLIENTS, ClientRun, Server, sorted_names

pytestmark = pytest.mark.e2e

SESSION = "js5-session"
USER = "js5-user"


@pytest.fixture(scope="module")
def js_session(skein_server: Server, node: str) -> ClientRun:
    return skein_server.run_client([node, JS_CLIENTS / "langfuse5_session.mjs", SESSION, USER])


def test_every_trace_and_observation_is_in_the_session(
    skein_server: Server, js_session: ClientRun
) -> None:
    with skein_server.read() as view:
        contents = view.session_contents(SESSION)
        traces = view.traces(SESSION)

    assert contents == sorted_names(js_session.report["traces"])
    assert {trace.user_id for trace in traces} == {USER}


def test_session_totals_include_the_generations_usage_and_cost(
    skein_server: Server, js_session: ClientRun
) -> None:
    with skein_server.read() as view:
        session = view.checked_session(SESSION)

    usage = js_session.report["usage"]
    assert (session.input_tokens, session.output_tokens) == (usage["input"], usage["output"])
    assert session.total_tokens == usage["total"]
    assert session.total_cost == pytest.approx(js_session.report["cost"])
