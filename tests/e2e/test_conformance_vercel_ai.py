"""Vercel AI SDK telemetry (`ai.*` spans), replayed from recorded payloads to a real server.

`tests/vectors/vercel-ai/ai5.json` and `ai6.json` hold the OTLP/JSON bodies that the `ai`
package (5.x with MockLanguageModelV2, 6.x with MockLanguageModelV3) exported through an
OpenTelemetry NodeSDK for two `generateText` calls with `experimental_telemetry` metadata
`{sessionId, userId, tenant}`: a plain answer, and a tool call followed by an answer. Each
file's `expected` says what the recorder fed the mock model. `recorder/record.mjs`
regenerates them (see `tests/vectors/vercel-ai/README.md`).

Each body is posted as it was recorded to `/v1/traces`; the checks read the database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conformance import observation_problems
from tests.e2e.conftest import REPO_ROOT, Server

pytestmark = pytest.mark.e2e

VECTORS = REPO_ROOT / "tests" / "vectors" / "vercel-ai"
VERSIONS = ("ai5", "ai6")
STEP = "ai.generateText.doGenerate"
CALL = "ai.generateText"


def load_vector(version: str) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads((VECTORS / f"{version}.json").read_text())
    return vector


@pytest.fixture(scope="module")
def replayed(skein_server: Server) -> dict[str, dict[str, Any]]:
    """Every recorded request posted to the server; the vectors' `expected`, by version."""
    auth = (skein_server.public_key, skein_server.secret_key)
    expected = {}
    with httpx.Client(base_url=skein_server.base_url, auth=auth, trust_env=False) as client:
        for version in VERSIONS:
            vector = load_vector(version)
            for request in vector["requests"]:
                body = json.dumps(request["json"]).encode()
                answer = client.post("/v1/traces", content=body, headers=request["headers"])
                assert answer.status_code == 200, answer.text
            expected[version] = vector["expected"]
    return expected


def step_usage(step: dict[str, int], sends_cached: bool) -> dict[str, int]:
    """The usage Skein stores for one recorded step: cached input tokens in their bucket."""
    cached = step["cached"] if sends_cached else 0
    usage = {"input": step["input"] - cached, "output": step["output"]}
    return usage | ({"input_cached_tokens": cached} if cached else {})


@pytest.mark.parametrize("version", VERSIONS)
def test_each_call_is_a_trace_of_the_session_with_its_user_and_metadata(
    skein_server: Server, replayed: dict[str, dict[str, Any]], version: str
) -> None:
    expected = replayed[version]
    with skein_server.read() as view:
        traces = view.traces(expected["sessionId"])
        view.checked_session(expected["sessionId"])

    assert sorted(trace.name for trace in traces) == sorted(
        f"{function}:{CALL}" for function in expected["functions"]
    )
    assert {trace.user_id for trace in traces} == {expected["userId"]}
    assert all(trace.metadata["tenant"] == expected["metadata"]["tenant"] for trace in traces)


@pytest.mark.parametrize("version", VERSIONS)
def test_steps_are_priced_generations_and_the_call_span_does_not_count_twice(
    skein_server: Server, replayed: dict[str, dict[str, Any]], version: str
) -> None:
    expected = replayed[version]
    problems: list[str] = []
    with skein_server.read() as view:
        session = view.checked_session(expected["sessionId"])
        for trace in view.traces(expected["sessionId"]):
            function = trace.name.split(":")[0] if trace.name else ""
            problems += call_problems(view.observations(trace.trace_id), expected, function)

    assert problems == []
    steps = [step for spec in expected["functions"].values() for step in spec["steps"]]
    assert session.input_tokens == sum(step["input"] for step in steps)
    assert session.output_tokens == sum(step["output"] for step in steps)


def call_problems(observations: list[Any], expected: dict[str, Any], function: str) -> list[str]:
    """A call's observations against the recording: steps in start order, then the rest."""
    spec = expected["functions"][function]
    by_name: dict[str, list[Any]] = {}
    for observation in sorted(observations, key=lambda o: o.start_ns):
        by_name.setdefault(observation.name, []).append(observation)
    steps = by_name.get(f"{function}:{STEP}", [])
    problems = [] if len(steps) == len(spec["steps"]) else [f"{function}: steps {steps}"]
    for step, sent in zip(steps, spec["steps"], strict=False):
        usage = step_usage(sent, expected["sendsCachedInput"])
        wanted = {"type": "GENERATION", "model": expected["model"], "usage": usage}
        problems += observation_problems(step, wanted)
        if not (step.cost_source or "").startswith("price:"):
            problems.append(f"{function}: step cost from {step.cost_source!r}, not the prices")
    problems += observation_problems(steps[0], {"type": "GENERATION", "input": spec["input"]})
    problems += observation_problems(steps[-1], {"type": "GENERATION", "output": spec["output"]})
    (call,) = by_name[f"{function}:{CALL}"]
    if call.usage or call.total_cost:
        problems.append(f"{function}: the call span counts {dict(call.usage)} again")
    if "tool" in spec:
        (tool,) = by_name[spec["tool"]]
        problems += observation_problems(
            tool, {"type": "TOOL", "input": "Paris", "output": "sunny"}
        )
    return problems


def test_the_vectors_were_recorded_by_the_recorder_in_the_repository() -> None:
    recorder = VECTORS / "recorder"
    package = json.loads((recorder / "package.json").read_text())
    for version in VERSIONS:
        recorded_with = load_vector(version)["recordedWith"]["ai"]
        assert package["dependencies"][version] == f"npm:ai@{recorded_with}"
    assert (recorder / "package-lock.json").is_file()
    assert Path(recorder / "record.mjs").is_file()
