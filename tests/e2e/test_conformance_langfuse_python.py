"""The Langfuse Python SDK 3.x, 4.x and 5.x, unchanged, against one real server.

One client program (`clients/langfuse_python_conformance.py`, the API the three versions
share) runs once per version, each with its own session prefix: typed observations, a
generation with model, usage, cost and chat I/O, `propagate_attributes(as_baggage=True)`
with a downstream trace tied to the session by the W3C baggage header alone, and a
LangChain chain through the SDK's `CallbackHandler`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conformance import session_problems
from tests.e2e.conftest import CLIENTS, ClientRun, Server

pytestmark = pytest.mark.e2e

SCRIPT = CLIENTS / "langfuse_python_conformance.py"
VERSIONS = ("3", "4", "5")


@pytest.fixture(scope="module", params=VERSIONS, ids=[f"langfuse{v}" for v in VERSIONS])
def conformance_run(
    request: pytest.FixtureRequest,
    skein_server: Server,
    langfuse3_python: Path,
    langfuse4_python: Path,
    langfuse5_python: str,
) -> ClientRun:
    interpreters: dict[str, Path | str] = {
        "3": langfuse3_python,
        "4": langfuse4_python,
        "5": langfuse5_python,
    }
    version: str = request.param
    return skein_server.run_client([interpreters[version], SCRIPT, f"lf{version}py"])


def sessions(run: ClientRun) -> dict[str, Any]:
    reported: dict[str, Any] = run.report["sessions"]
    return reported


def test_every_session_holds_its_traces_with_typed_observations(
    skein_server: Server, conformance_run: ClientRun
) -> None:
    with skein_server.read() as view:
        problems = [
            problem
            for session_id, report in sessions(conformance_run).items()
            for problem in session_problems(view, session_id, report)
        ]

    assert problems == []


def test_the_baggage_alone_puts_a_downstream_trace_in_the_session(
    skein_server: Server, conformance_run: ClientRun
) -> None:
    (typed_session,) = [key for key in sessions(conformance_run) if key.endswith("-typed")]
    with skein_server.read() as view:
        traces = {trace.name: trace for trace in view.traces(typed_session)}

    assert "baggage=" not in conformance_run.report["baggage"]
    assert typed_session in conformance_run.report["baggage"]
    downstream = traces["conf-downstream"]
    assert downstream.trace_id != traces["conf-agent"].trace_id
    assert downstream.user_id == traces["conf-agent"].user_id
    assert downstream.session_source == "session.id"


def test_trace_metadata_is_stored_as_sent_whatever_the_version_encoding(
    skein_server: Server, conformance_run: ClientRun
) -> None:
    (typed_session,) = [key for key in sessions(conformance_run) if key.endswith("-typed")]
    sent = sessions(conformance_run)[typed_session]["metadata"]
    with skein_server.read() as view:
        traces = {trace.name: trace for trace in view.traces(typed_session)}

    stored = traces["conf-agent"].metadata
    assert {key: stored.get(key) for key in sent} == sent


def test_the_langchain_session_reaches_the_whole_trace(
    skein_server: Server, conformance_run: ClientRun
) -> None:
    (lc_session,) = [key for key in sessions(conformance_run) if key.endswith("-langchain")]
    (trace_id,) = sessions(conformance_run)[lc_session]["traces"]
    with skein_server.read() as view:
        observations = view.observations(trace_id)
        session = view.checked_session(lc_session)

    # The chain, its prompt template and the model: 3.x tags only the chain root.
    assert (session.trace_count, session.observation_count) == (1, 3)
    assert sorted(o.type for o in observations) == ["CHAIN", "CHAIN", "GENERATION"]
