"""Scores from the real Langfuse SDKs against a real server: 5.x posts them to
/api/public/scores (an array), 3.x sends score-create events to /api/public/ingestion. Both
land on their trace, observation or session, and the session rollup aggregates them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skein.fold import ScoreAggregate
from skein.records import Score
from skein.scores import ScoreQuery
from tests.e2e.conftest import CLIENTS, ClientRun, Server

pytestmark = pytest.mark.e2e

LF5_SESSION = "scores-lf5"
LF3_SESSION = "scores-lf3"
ALL = 1000


@pytest.fixture(scope="module")
def lf5_scores(skein_server: Server, langfuse5_python: str) -> ClientRun:
    return skein_server.run_client([langfuse5_python, CLIENTS / "langfuse5_scores.py", LF5_SESSION])


@pytest.fixture(scope="module")
def lf3_scores(skein_server: Server, langfuse3_python: Path) -> ClientRun:
    return skein_server.run_client([langfuse3_python, CLIENTS / "langfuse3_scores.py", LF3_SESSION])


def stored_scores(server: Server, trace_id: str, session_id: str) -> list[Score]:
    with server.read() as view:
        on_trace = ScoreQuery(trace_ids=(trace_id,), limit=ALL)
        on_session = ScoreQuery(session_ids=(session_id,), limit=ALL)
        return [
            *view.store.query_scores(view.project_id, on_trace).items,
            *view.store.query_scores(view.project_id, on_session).items,
        ]


def as_sent(score: Score) -> tuple[str, Any, str]:
    """A stored score in the client's [name, value, target] terms."""
    value: Any = {"NUMERIC": score.value, "CATEGORICAL": score.string_value}.get(
        score.data_type, score.value == 1.0
    )
    target = "session" if score.session_id else "observation" if score.observation_id else "trace"
    return score.name, value, target


def expected(report: dict[str, Any]) -> list[tuple[str, Any, str]]:
    return sorted((name, value, target) for name, value, target in report["scores"])


def test_lf5_scores_land_on_their_targets(skein_server: Server, lf5_scores: ClientRun) -> None:
    report = lf5_scores.report
    scores = stored_scores(skein_server, report["trace_id"], LF5_SESSION)

    assert sorted(as_sent(score) for score in scores) == expected(report)
    [on_observation] = [s for s in scores if s.observation_id]
    assert on_observation.observation_id == report["observation_id"]


def test_lf5_session_rollup_aggregates_the_scores(
    skein_server: Server, lf5_scores: ClientRun
) -> None:
    with skein_server.read() as view:
        session = view.checked_session(LF5_SESSION)

    numbers = [v for name, v, _ in lf5_scores.report["scores"] if name == "helpfulness"]
    helpfulness = session.scores["helpfulness"]
    assert (helpfulness.count, helpfulness.minimum, helpfulness.maximum) == (
        len(numbers),
        min(numbers),
        max(numbers),
    )
    assert helpfulness.average == pytest.approx(sum(numbers) / len(numbers))
    assert session.scores["tone"] == ScoreAggregate("CATEGORICAL", 1, values={"friendly": 1})
    assert session.scores["resolved"] == ScoreAggregate("BOOLEAN", 1, values={"True": 1})


def test_lf5_generation_without_cost_is_priced(skein_server: Server, lf5_scores: ClientRun) -> None:
    with skein_server.read() as view:
        observations = view.observations(lf5_scores.report["trace_id"])

    [generation] = [o for o in observations if o.type == "GENERATION"]
    assert generation.cost_source == "price:openai-gpt-4o-mini"
    assert generation.total_cost is not None and generation.total_cost > 0


def test_lf3_scores_arrive_through_batch_ingestion(
    skein_server: Server, lf3_scores: ClientRun
) -> None:
    report = lf3_scores.report
    scores = stored_scores(skein_server, report["trace_id"], LF3_SESSION)
    with skein_server.read() as view:
        session = view.checked_session(LF3_SESSION)

    assert sorted(as_sent(score) for score in scores) == expected(report)
    assert session.scores["resolved"] == ScoreAggregate("BOOLEAN", 1, values={"False": 1})
    assert session.scores["tone"] == ScoreAggregate("CATEGORICAL", 1, values={"calm": 1})
