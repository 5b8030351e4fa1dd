"""Reading Langfuse score bodies: types, values, targets and defaults."""

from __future__ import annotations

import re
from typing import Any

import pytest

from skein.records import Score
from skein.scores import ScoreError, parse_score

NOW = 1_700_000_000_000_000_000


def parse(**body: Any) -> Score:
    fields: dict[str, Any] = {"name": "quality", "traceId": "t1"}
    fields.update(body)
    return parse_score({k: v for k, v in fields.items() if v is not ...}, default_id="generated",
                       received_ns=NOW)  # fmt: skip


@pytest.mark.parametrize(
    ("value", "data_type", "number", "text"),
    [
        (0.75, "NUMERIC", 0.75, None),
        (3, "NUMERIC", 3.0, None),
        ("good", "CATEGORICAL", None, "good"),
        (True, "BOOLEAN", 1.0, "True"),
        (False, "BOOLEAN", 0.0, "False"),
    ],
)
def test_the_type_is_inferred_from_the_value(
    value: Any, data_type: str, number: float | None, text: str | None
) -> None:
    score = parse(value=value)

    assert (score.data_type, score.value, score.string_value) == (data_type, number, text)


@pytest.mark.parametrize(
    ("value", "number"), [(1, 1.0), (0, 0.0), (1.0, 1.0), ("true", 1.0), ("False", 0.0)]
)
def test_boolean_values_are_zero_one_true_or_false(value: Any, number: float) -> None:
    score = parse(value=value, dataType="boolean")

    assert (score.data_type, score.value) == ("BOOLEAN", number)
    assert score.string_value == ("True" if number else "False")


def test_a_numeric_categorical_keeps_its_number_and_text() -> None:
    score = parse(value=2, dataType="CATEGORICAL")

    assert (score.value, score.string_value) == (2.0, "2")


def test_defaults_fill_what_is_not_sent() -> None:
    score = parse(value=1)

    assert (score.id, score.source, score.environment) == ("generated", "API", "default")
    assert score.timestamp_ns == score.created_ns == score.updated_ns == NOW
    assert (score.comment, score.config_id, dict(score.metadata)) == (None, None, {})


def test_every_field_is_read() -> None:
    score = parse(id="s-1", value=0.5, observationId="o1", comment="ok", source="eval",
                  configId="c1", environment="Production", metadata={"by": "judge"},
                  timestamp="2024-05-01T12:00:00.5Z")  # fmt: skip

    assert (score.id, score.trace_id, score.observation_id) == ("s-1", "t1", "o1")
    assert (score.source, score.comment, score.config_id) == ("EVAL", "ok", "c1")
    assert score.environment == "production" and score.metadata == {"by": "judge"}
    assert score.timestamp_ns == 1_714_564_800_500_000_000


def test_a_session_score_has_no_trace() -> None:
    score = parse(traceId=..., sessionId="s1", value=1)

    assert (score.session_id, score.trace_id) == ("s1", None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"value": None}, "value is required"),
        ({"value": "x", "dataType": "NUMERIC"}, "finite number"),
        ({"value": float("nan")}, "finite number"),
        ({"value": True, "dataType": "NUMERIC"}, "finite number"),
        ({"value": 2, "dataType": "BOOLEAN"}, "0, 1, true or false"),
        ({"value": 1, "dataType": "TEXT"}, "dataType must be one of"),
        ({"value": "", "dataType": "CATEGORICAL"}, "1..2000 characters"),
        ({"value": 1, "name": ""}, "name is required"),
        ({"value": 1, "name": 5}, "name is required"),
        ({"value": 1, "traceId": ...}, "exactly one target"),
        ({"value": 1, "sessionId": "s1"}, "exactly one target"),
        ({"value": 1, "traceId": ..., "observationId": "o1"}, "needs the traceId"),
        ({"value": 1, "traceId": ..., "sessionId": "x" * 201}, "sessionId must be"),
        ({"value": 1, "traceId": 7}, "traceId must be"),
        ({"value": 1, "datasetRunId": "r"}, "not supported"),
        ({"value": 1, "source": "HUMAN"}, "source must be"),
        ({"value": 1, "comment": 5}, "comment must be a string"),
        ({"value": 1, "timestamp": "yesterday"}, "timestamp must be"),
        ({"value": 1, "environment": 3}, "environment must be"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)):
        parse(**body)


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ScoreError, match="JSON object"):
        parse_score([1], default_id="x", received_ns=NOW)
