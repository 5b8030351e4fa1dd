"""The Langfuse Python SDK 5.x against a real server: late propagation, threads, LangChain."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import CLIENTS, ClientRun, Server, sorted_names

pytestmark = pytest.mark.e2e

LATE_SESSION = "lf5-late-propagate"
LATE_USER = "lf5-user-7"
THREADS_SESSION = "lf5-threads"
LANGCHAIN_PREFIX = "lf5-langchain"
LANGCHAIN_RUNS = [
    f"{LANGCHAIN_PREFIX}-{shape}-{style}"
    for shape in ("chain", "direct")
    for style in ("snake", "camel")
]


@pytest.fixture(scope="module")
def late_propagate(skein_server: Server, langfuse5_python: str) -> ClientRun:
    script = CLIENTS / "langfuse5_late_propagate.py"
    return skein_server.run_client([langfuse5_python, script, LATE_SESSION, LATE_USER])


@pytest.fixture(scope="module")
def langchain_runs(skein_server: Server, langfuse5_python: str) -> dict[str, Any]:
    script = CLIENTS / "langfuse5_langchain.py"
    runs: dict[str, Any] = skein_server.run_client(
        [langfuse5_python, script, LANGCHAIN_PREFIX]
    ).report["runs"]
    return runs


def test_late_propagation_puts_every_span_of_each_trace_in_the_session(
    skein_server: Server, late_propagate: ClientRun
) -> None:
    with skein_server.read() as view:
        contents = view.session_contents(LATE_SESSION)
        traces = view.traces(LATE_SESSION)

    assert contents == sorted_names(late_propagate.report["traces"])
    assert {trace.user_id for trace in traces} == {LATE_USER}


def test_late_propagation_session_totals_cover_generations_outside_the_context(
    skein_server: Server, late_propagate: ClientRun
) -> None:
    with skein_server.read() as view:
        session = view.checked_session(LATE_SESSION)

    usage = late_propagate.report["usage"]
    assert (session.input_tokens, session.output_tokens) == (usage["input"], usage["output"])
    assert session.total_tokens == usage["total"]
    assert session.total_cost == pytest.approx(late_propagate.report["cost"])
    assert session.user_ids == (LATE_USER,)


def test_threads_with_a_copied_context_make_one_trace_in_the_session(
    skein_server: Server, langfuse5_python: str
) -> None:
    script = CLIENTS / "langfuse5_threads.py"
    run = skein_server.run_client([langfuse5_python, script, THREADS_SESSION])

    with skein_server.read() as view:
        contents = view.session_contents(THREADS_SESSION)
        session = view.checked_session(THREADS_SESSION)

    assert contents == sorted_names(run.report["traces"])
    usage = run.report["usage"]
    assert (session.input_tokens, session.total_tokens) == (usage["input"], usage["total"])


@pytest.mark.parametrize("session_id", LANGCHAIN_RUNS)
def test_langchain_run_lands_in_the_session_its_metadata_names(
    skein_server: Server, langchain_runs: dict[str, Any], session_id: str
) -> None:
    run = langchain_runs[session_id]

    with skein_server.read() as view:
        traces = view.traces(session_id)
        session = view.checked_session(session_id)

    assert [trace.trace_id for trace in traces] == [run["trace_id"]]
    usage = run["usage"]
    assert (session.input_tokens, session.output_tokens) == (usage["input"], usage["output"])
    assert session.total_tokens == usage["total"]
