"""The Langfuse JS SDK 4.x (the seed page's JS API) and its LangChain handler, unchanged.

`clients/js4/langfuse4_conformance.mjs` runs once against this module's server: the seed
page's three TypeScript snippets as written (`updateActiveTrace({sessionId})` in
`startActiveObservation` and in an `observe`-wrapped function, `span.updateTrace`), a
typed trace with a generation, and the LangChain scenarios shared with the 5.x client.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conformance import langchain_problems, session_problems
from tests.e2e.conftest import JS4_CLIENTS, REPO_ROOT, ClientRun, Server, name_counts

pytestmark = pytest.mark.e2e

SEED_PAGE = REPO_ROOT.parent / "shared" / "seeds" / "004_3f1d73d3a1fc1959.txt"
SEED_SESSION = "session-123"
SEED_SNIPPETS = sorted((JS4_CLIENTS / "seed").glob("*.ts"))
# Each snippet file starts with two comment lines of ours; the rest is the page's code.
SNIPPET_HEADER_LINES = 2


@pytest.fixture(scope="module")
def js4_run(skein_server: Server, node4: str) -> ClientRun:
    return skein_server.run_client([node4, JS4_CLIENTS / "langfuse4_conformance.mjs", "js4"])


def test_the_seed_snippets_put_their_traces_in_the_seed_session(
    skein_server: Server, js4_run: ClientRun
) -> None:
    with skein_server.read() as view:
        contents = view.session_contents(SEED_SESSION)
        view.checked_session(SEED_SESSION)

    expected = {"context-manager": ["context-manager"], "observe-wrapper": ["observe-wrapper"]}
    expected["manual-observation"] = ["manual-observation"]
    assert name_counts(contents) == name_counts(expected)


def test_the_seed_snippet_files_are_the_pages_code_unchanged() -> None:
    if not SEED_PAGE.exists():
        pytest.skip(f"{SEED_PAGE} is not beside the repository")
    page = SEED_PAGE.read_text(encoding="utf-8")
    assert len(SEED_SNIPPETS) == page.count("```typescript")
    for snippet in SEED_SNIPPETS:
        code = snippet.read_text(encoding="utf-8").split("\n", SNIPPET_HEADER_LINES)[-1]
        assert f"```typescript\n{code}```" in page, snippet.name


def test_the_typed_trace_is_stored_as_sent(skein_server: Server, js4_run: ClientRun) -> None:
    typed: dict[str, Any] = js4_run.report["typed"]
    report = {"user_id": typed["userId"], "traces": {typed["traceId"]: typed["observations"]}}
    with skein_server.read() as view:
        problems = session_problems(view, typed["sessionId"], report)

    assert problems == []


@pytest.mark.parametrize(
    "scenario",
    ["chain-camel", "chain-constructor", "chain-snake", "direct-snake", "direct-constructor"],
)
def test_langchain_runs_are_stored_in_their_sessions(
    skein_server: Server, js4_run: ClientRun, scenario: str
) -> None:
    with skein_server.read() as view:
        problems = langchain_problems(view, js4_run.report["langchain"][scenario])

    assert problems == []
