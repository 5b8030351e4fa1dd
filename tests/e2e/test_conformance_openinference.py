"""OpenInference's LangChain instrumentation (`using_session`, `using_user`) to a real server.

`clients/openinference_langchain.py` runs once: two chain runs inside
`using_session(...)` + `using_user(...)` (two traces of one session) and one inside
`using_attributes(session_id=..., user_id=...)`, exported by the OpenTelemetry SDK's
OTLP/HTTP protobuf exporter to `/v1/traces`. The spans carry `session.id`, `user.id`,
`openinference.span.kind`, `llm.model_name`, `llm.token_count.*` and `input.value` /
`output.value`; the LLM spans get their cost from Skein's price table.
"""

from __future__ import annotations

import sys

import pytest

from tests.e2e.conformance import session_problems
from tests.e2e.conftest import CLIENTS, ClientRun, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def openinference_run(skein_server: Server) -> ClientRun:
    return skein_server.run_client([sys.executable, CLIENTS / "openinference_langchain.py", "oi"])


def test_each_session_holds_its_chain_runs_with_usage_model_and_io(
    skein_server: Server, openinference_run: ClientRun
) -> None:
    with skein_server.read() as view:
        problems = [
            problem
            for session_id, report in openinference_run.report["sessions"].items()
            for problem in session_problems(view, session_id, report)
        ]

    assert problems == []


def test_using_session_makes_one_session_of_two_turns(
    skein_server: Server, openinference_run: ClientRun
) -> None:
    with skein_server.read() as view:
        session = view.checked_session("oi-session")
        traces = view.traces("oi-session")

    assert session.trace_count == 2
    assert session.user_ids == ("oi-user",)
    assert {trace.session_source for trace in traces} == {"session.id"}
