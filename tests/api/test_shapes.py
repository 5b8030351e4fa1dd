"""JSON shaping helpers: times, stored text, usage, model parameters, v2 field groups."""

from __future__ import annotations

from skein.api.shapes import (
    OBSERVATION_FIELD_GROUPS,
    cost_details,
    iso,
    json_value,
    model_parameters,
    observation_json,
    observation_v2_json,
    usage_details,
)
from tests.store.factories import START_NS, make_full_observation


def test_iso_has_milliseconds_and_z() -> None:
    assert iso(START_NS) == "2023-11-14T22:13:20.000Z"
    assert iso(START_NS + 123_456_789) == "2023-11-14T22:13:20.123Z"
    assert iso(0) == "1970-01-01T00:00:00.000Z"
    assert iso(None) is None


def test_stored_text_is_decoded_when_it_is_json() -> None:
    assert json_value('{"a": [1, 2]}') == {"a": [1, 2]}
    assert json_value("plain words") == "plain words"
    assert json_value('"quoted"') == "quoted"
    assert json_value(None) is None


def test_usage_counts_become_integers_with_a_total() -> None:
    assert usage_details({"input": 10.0, "total": 12.6}) == {"input": 10, "total": 13}
    assert usage_details({"input": 10.0, "output": 2.6}) == {"input": 10, "output": 3, "total": 13}
    assert usage_details({}) == {}


def test_cost_total_is_the_sum_when_not_sent() -> None:
    assert cost_details({"input": 0.5, "output": 0.25}) == {
        "input": 0.5,
        "output": 0.25,
        "total": 0.75,
    }
    assert cost_details({"total": 1}) == {"total": 1.0}


def test_model_parameters_are_always_an_object() -> None:
    assert model_parameters('{"temperature": 0.2}') == {"temperature": 0.2}
    assert model_parameters("0.2") == {"value": 0.2}
    assert model_parameters(None) == {}


def test_v1_observation_has_usage_cost_and_timing() -> None:
    observation = make_full_observation()

    shaped = observation_json("p", observation)

    assert shaped["usage"] == {
        "input": 10, "output": 20, "total": 30, "unit": "TOKENS",
        "inputCost": 0.001, "outputCost": 0.002, "totalCost": 0.003,
    }  # fmt: skip
    assert shaped["usageDetails"]["cache_read"] == 2
    assert shaped["timeToFirstToken"] == (observation.completion_start_ns - START_NS - 7) / 1e9
    assert shaped["input"] == observation.input  # not JSON: the text as sent
    assert shaped["output"] == {"role": "assistant", "content": "hi"}
    assert shaped["promptName"] == "greeting" and shaped["promptVersion"] == 4


def test_v2_groups_add_only_their_fields() -> None:
    observation = make_full_observation()
    core = observation_v2_json("p", observation, None, ())

    for group in OBSERVATION_FIELD_GROUPS:
        shaped = observation_v2_json("p", observation, None, (group,))
        assert shaped.keys() >= core.keys()
        assert (shaped.keys() == core.keys()) == (group == "core"), group
