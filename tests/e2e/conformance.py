"""Checks shared by the conformance tests: what a client says it sent against what was stored.

A client reports, per observation name, what it sent:

    {"type": "GENERATION", "model": "gpt-4o-mini", "usage": {"input": 14, ...},
     "cost": 0.0041, "input": "capital of France", "output": "Paris"}

Every key but "type" is optional. "usage" entries must each equal the stored usage entry,
"cost" the stored total cost, and "input"/"output" are texts that the stored input/output
must contain (the stored values are the JSON the client's SDK wrote, whose spacing varies).
"priced": true says the client sent no cost, so Skein's price table must have given one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from skein.records import Observation
from tests.e2e.conftest import StoreView


def observation_problems(observation: Observation, spec: Mapping[str, Any]) -> list[str]:
    """How OBSERVATION differs from what the client says it sent; [] when it matches."""
    name = observation.name
    problems: list[str] = []
    if observation.type != spec["type"]:
        problems.append(f"{name}: type {observation.type!r}, sent {spec['type']!r}")
    if "model" in spec and observation.model != spec["model"]:
        problems.append(f"{name}: model {observation.model!r}, sent {spec['model']!r}")
    if "usage" in spec:
        stored = {key: observation.usage.get(key) for key in spec["usage"]}
        if stored != spec["usage"]:
            problems.append(f"{name}: usage {dict(observation.usage)}, sent {spec['usage']}")
    if "cost" in spec and observation.total_cost != pytest.approx(spec["cost"]):
        problems.append(f"{name}: total cost {observation.total_cost}, sent {spec['cost']}")
    if spec.get("priced") and not (observation.total_cost and _priced(observation)):
        problems.append(f"{name}: cost {observation.total_cost} from {observation.cost_source}")
    for side in ("input", "output"):
        stored_text = getattr(observation, side) or ""
        if side in spec and spec[side] not in stored_text:
            problems.append(f"{name}: {side} {stored_text[:200]!r} lacks {spec[side]!r}")
    return problems


def _priced(observation: Observation) -> bool:
    return (observation.cost_source or "").startswith("price:")


def trace_problems(view: StoreView, trace_id: str, expected: Mapping[str, Any]) -> list[str]:
    """Every difference between the stored observations of a trace and EXPECTED (by name)."""
    stored = {o.name: o for o in view.observations(trace_id)}
    problems = [f"{name}: not stored" for name in expected if name not in stored]
    for name, spec in expected.items():
        if name in stored:
            problems.extend(observation_problems(stored[name], spec))
    return problems


def session_problems(view: StoreView, session_id: str, report: Mapping[str, Any]) -> list[str]:
    """A session against a client's {"user_id"?, "traces": {trace_id: {name: spec}}} report.

    The session must hold exactly the reported traces, each with the user (when one was
    sent) and observations that match; its totals are checked against its observations.
    """
    view.checked_session(session_id)
    traces = {trace.trace_id: trace for trace in view.traces(session_id)}
    problems = []
    if set(traces) != set(report["traces"]):
        problems.append(f"{session_id}: traces {sorted(traces)}, sent {sorted(report['traces'])}")
    for trace_id, expected in report["traces"].items():
        trace = traces.get(trace_id)
        if trace is not None and "user_id" in report and trace.user_id != report["user_id"]:
            problems.append(f"{trace_id}: user {trace.user_id!r}, sent {report['user_id']!r}")
        problems.extend(trace_problems(view, trace_id, expected))
    return problems


def langchain_problems(view: StoreView, run: Mapping[str, Any]) -> list[str]:
    """One JS LangChain scenario run (`clients/js_shared/langchain_scenarios.mjs`) as stored.

    The run's trace must be the only one of its session, with the run's user, and its
    generation must match; a run marked `lost` (the SDK sent no session id) must be stored
    without a session.
    """
    session_id, trace_id = run["sessionId"], run["traceId"]
    generations = [o for o in view.observations(trace_id) if o.type == "GENERATION"]
    problems = [] if len(generations) == 1 else [f"{trace_id}: generations {generations}"]
    for generation in generations:
        problems.extend(
            observation_problems(generation, {"type": "GENERATION", **run["generation"]})
        )
    (trace,) = [trace for trace in view.traces() if trace.trace_id == trace_id]
    if run["lost"]:
        if trace.session_id is not None:
            problems.append(f"{trace_id}: session {trace.session_id!r} from nowhere")
        return problems
    view.checked_session(session_id)
    if [t.trace_id for t in view.traces(session_id)] != [trace_id]:
        problems.append(f"{session_id}: traces {view.session_contents(session_id)}")
    if trace.user_id != run["userId"]:
        problems.append(f"{trace_id}: user {trace.user_id!r}, sent {run['userId']!r}")
    return problems
