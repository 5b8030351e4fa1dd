"""The seed's langfuse 3.x snippets, run unchanged against a real server.

The snippets' session ids are the seed page's literals; this module's server is its own,
so every trace stored here came from the client run below.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import CLIENTS, ClientRun, Server, name_counts, sorted_names

pytestmark = pytest.mark.e2e

NESTED_SESSION = "lf3-nested-update-current-trace"
# The seed page's own session ids, and the traces its snippets make under them.
SEED_SESSIONS = {
    "your-session-id": Counter({("process_request",): 1, ("another-operation",): 1}),
    "chat-session-123": Counter({("generate-response", "process-chat-message"): 1}),
}


@pytest.fixture(scope="module")
def seed_snippets(skein_server: Server, langfuse3_python: Path) -> ClientRun:
    script = CLIENTS / "langfuse3_seed_snippets.py"
    return skein_server.run_client([langfuse3_python, script, NESTED_SESSION])


def test_auth_check_returns_true(seed_snippets: ClientRun) -> None:
    assert seed_snippets.report["auth_check"] is True


@pytest.mark.parametrize("session_id", sorted(SEED_SESSIONS))
def test_seed_snippet_traces_are_grouped_in_their_session(
    skein_server: Server, seed_snippets: ClientRun, session_id: str
) -> None:
    with skein_server.read() as view:
        contents = view.session_contents(session_id)
        view.checked_session(session_id)

    assert name_counts(contents) == SEED_SESSIONS[session_id]


def test_update_current_trace_in_a_nested_function_moves_the_whole_trace(
    skein_server: Server, seed_snippets: ClientRun
) -> None:
    with skein_server.read() as view:
        contents = view.session_contents(NESTED_SESSION)
        view.checked_session(NESTED_SESSION)

    assert contents == sorted_names(seed_snippets.report["traces"])


def test_every_trace_the_snippets_made_is_in_a_session(
    skein_server: Server, seed_snippets: ClientRun
) -> None:
    with skein_server.read() as view:
        traces = view.traces()

    expected_sessions = [*SEED_SESSIONS, NESTED_SESSION]
    expected_count = sum(sum(counts.values()) for counts in SEED_SESSIONS.values()) + 1
    assert len(traces) == expected_count
    assert {trace.session_id for trace in traces} == set(expected_sessions)
