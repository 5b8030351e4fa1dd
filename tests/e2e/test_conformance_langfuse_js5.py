"""The Langfuse JS SDK 5.x (`propagateAttributes`) and its LangChain handler, unchanged.

`clients/js/langfuse5_conformance.mjs` runs once against this module's server: a typed
trace (every observation type, a generation with model, usage, cost and chat I/O) whose
session and user come from `propagateAttributes`, and the LangChain scenarios shared with
the 4.x client. The 5.x handler puts a session only on the chain root; the server lifts it
to the whole trace. A direct chat-model call with a constructor `sessionId` sends no session
at all (the test pins that down); `langfuse_session_id` in the call's metadata works.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conformance import langchain_problems, session_problems
from tests.e2e.conftest import JS_CLIENTS, ClientRun, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def js5_run(skein_server: Server, node: str) -> ClientRun:
    return skein_server.run_client([node, JS_CLIENTS / "langfuse5_conformance.mjs", "js5"])


def test_the_typed_trace_is_stored_as_sent(skein_server: Server, js5_run: ClientRun) -> None:
    typed: dict[str, Any] = js5_run.report["typed"]
    report = {"user_id": typed["userId"], "traces": {typed["traceId"]: typed["observations"]}}
    with skein_server.read() as view:
        problems = session_problems(view, typed["sessionId"], report)

    assert problems == []


@pytest.mark.parametrize(
    "scenario",
    ["chain-camel", "chain-constructor", "chain-snake", "direct-snake", "direct-constructor"],
)
def test_langchain_runs_are_stored_in_their_sessions(
    skein_server: Server, js5_run: ClientRun, scenario: str
) -> None:
    with skein_server.read() as view:
        problems = langchain_problems(view, js5_run.report["langchain"][scenario])

    assert problems == []


def test_the_chain_root_alone_carries_the_session_and_the_server_lifts_it(
    skein_server: Server, js5_run: ClientRun
) -> None:
    run = js5_run.report["langchain"]["chain-camel"]
    with skein_server.read() as view:
        observations = view.observations(run["traceId"])
        session = view.checked_session(run["sessionId"])

    carried = sorted(o.name for o in observations if o.trace.session_id == run["sessionId"])
    assert carried == ["RunnableSequence"]
    assert session.observation_count == len(observations) == 3
