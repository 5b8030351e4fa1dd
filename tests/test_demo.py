"""`skein.demo` through the SDK into memory: every scenario, deterministic content."""

from __future__ import annotations

from collections import Counter
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from skein import Skein
from skein.demo import SCENARIOS, DemoOptions, run_demo
from tests.e2e.conftest import free_port

FAST = DemoOptions(speed=10_000.0, long_turns=5)


def demo_spans(options: DemoOptions) -> tuple[Any, list[Any]]:
    exporter = InMemorySpanExporter()
    # Scores go to a port where nothing listens: the SDK logs that once and carries on.
    client = Skein(
        public_key="pk-demo",
        secret_key="sk-demo",
        base_url=f"http://127.0.0.1:{free_port()}",
        span_exporter=exporter,
    )
    try:
        report = run_demo(client, options)
        client.flush()
        return report, list(exporter.get_finished_spans())
    finally:
        client.shutdown()


def test_every_scenario_sends_a_session_of_traces() -> None:
    report, spans = demo_spans(FAST)
    assert len(report.sessions) == len(SCENARIOS) == len(set(report.sessions))
    sessions = Counter(
        (span.attributes or {}).get("session.id") for span in spans if span.parent is None
    )
    assert set(sessions) == {*report.sessions, None}
    assert sessions[None] == 1  # the batch job, sent without a session on purpose
    tutor = next(s for s in report.sessions if "-tutor-" in s)
    assert sessions[tutor] == FAST.long_turns
    assert report.traces == sum(sessions.values())
    types = Counter((span.attributes or {}).get("langfuse.observation.type") for span in spans)
    assert types["tool"] >= 3 and types["retriever"] >= 4 and types["generation"] > 10
    levels = [(span.attributes or {}).get("langfuse.observation.level") for span in spans]
    assert "ERROR" in levels


def test_the_same_seed_sends_the_same_sessions() -> None:
    first, _ = demo_spans(FAST)
    second, _ = demo_spans(FAST)
    other, _ = demo_spans(DemoOptions(seed=8, speed=10_000.0, long_turns=5))
    assert first.sessions == second.sessions != other.sessions
