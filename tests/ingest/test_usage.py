from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skein.ingest.usage import (
    detail_map,
    is_vercel_agent,
    is_vercel_aggregate,
    number,
    read_cost,
    read_model,
    read_model_parameters,
    read_usage,
    token_counts,
    total_cost,
)

MODEL_ORDER = [
    "langfuse.observation.model.name",
    "gen_ai.response.model",
    "ai.model.id",
    "gen_ai.request.model",
    "llm.response.model",
    "llm.model_name",
    "model",
]


def test_model_keys_take_precedence_in_order() -> None:
    attributes: dict[str, Any] = {key: f"m-{key}" for key in reversed(MODEL_ORDER)}
    for key in MODEL_ORDER:
        assert read_model(attributes) == f"m-{key}"
        del attributes[key]
    assert read_model(attributes) is None


@pytest.mark.parametrize("bad", [["gpt"], {"name": "gpt"}, True, "", "   ", None, math.nan, b"x"])
def test_a_model_value_of_the_wrong_kind_is_passed_over(bad: Any) -> None:
    attributes = {"langfuse.observation.model.name": bad, "gen_ai.request.model": "fallback"}
    assert read_model(attributes) == "fallback"


def test_a_numeric_model_name_is_stringified() -> None:
    assert read_model({"model": 4}) == "4"


def test_genkit_model_spans_name_their_model() -> None:
    attributes = {"genkit:metadata:subtype": "model", "genkit:name": "gemini"}
    assert read_model(attributes) == "gemini"
    assert read_model({"genkit:name": "a-flow"}) is None


def test_vercel_agent_spans_are_recognised_only_in_the_ai_scope() -> None:
    attributes = {"gen_ai.operation.name": "invoke_agent"}
    assert is_vercel_agent(attributes, "ai")
    assert not is_vercel_agent(attributes, "openinference")
    assert not is_vercel_agent({"gen_ai.operation.name": "chat"}, "ai")


@pytest.mark.parametrize(
    ("attributes", "scope", "aggregate"),
    [
        ({"gen_ai.operation.name": "invoke_agent"}, "ai", True),
        ({"ai.operationId": "ai.generateText"}, "ai", True),
        ({"ai.operationId": "ai.streamObject"}, "ai", True),
        ({"ai.operationId": "ai.embedMany"}, "ai", True),
        ({"ai.operationId": "ai.generateText.doGenerate"}, "ai", False),
        ({"ai.operationId": "ai.toolCall"}, "ai", False),
        ({"ai.operationId": "ai.generateText"}, "my-scope", False),
        ({"ai.operationId": ["ai.generateText"]}, "ai", False),
    ],
)
def test_vercel_aggregate_spans(attributes: dict[str, Any], scope: str, aggregate: bool) -> None:
    assert is_vercel_aggregate(attributes, scope) is aggregate


def test_vercel_ai6_token_details_are_split_out_not_added() -> None:
    attributes = {
        "ai.usage.inputTokens": 21,
        "ai.usage.inputTokenDetails.noCacheTokens": 15,
        "ai.usage.inputTokenDetails.cacheReadTokens": 6,
        "ai.usage.inputTokenDetails.cacheWriteTokens": 2,
        "ai.usage.outputTokens": 7,
        "ai.usage.outputTokenDetails.textTokens": 4,
        "ai.usage.outputTokenDetails.reasoningTokens": 3,
        "ai.usage.totalTokens": 28,
    }
    usage = read_usage(attributes)
    assert usage == {
        "input": 13,
        "input_cached_tokens": 6,
        "input_cache_creation": 2,
        "output": 4,
        "output_reasoning_tokens": 3,
        "total": 28,
    }
    assert token_counts(usage) == (21, 7, 28)


def test_model_parameters_precedence() -> None:
    attributes: dict[str, Any] = {
        "gen_ai.request.temperature": 0.1,
        "gen_ai.request.model": "not a parameter",
        "llm.invocation_parameters": '{"temperature": 0.5}',
        "langfuse.observation.model.parameters": '{"temperature": 0.2}',
    }
    assert read_model_parameters(attributes) == '{"temperature": 0.2}'
    del attributes["langfuse.observation.model.parameters"]
    assert read_model_parameters(attributes) == '{"temperature": 0.5}'
    del attributes["llm.invocation_parameters"]
    assert json.loads(read_model_parameters(attributes) or "") == {"temperature": 0.1}
    assert read_model_parameters({"gen_ai.request.model": "m"}) is None


def test_explicit_model_parameters_object_is_encoded() -> None:
    value = read_model_parameters({"langfuse.observation.model.parameters": {"top_p": 1}})
    assert value == '{"top_p":1}'


def test_explicit_usage_details_win() -> None:
    attributes = {
        "langfuse.observation.usage_details": '{"input": 10, "output": 20, "total": 30}',
        "gen_ai.usage.input_tokens": 99,
    }
    assert read_usage(attributes) == {"input": 10, "output": 20, "total": 30}


@pytest.mark.parametrize("empty", ["{}", "[]", 5, "not json", '{"input": "many"}', None])
def test_empty_or_broken_usage_details_fall_back_to_generic_counters(empty: Any) -> None:
    attributes = {"langfuse.observation.usage_details": empty, "gen_ai.usage.input_tokens": 4}
    assert read_usage(attributes) == {"input": 4}


def test_openai_shaped_usage_details_are_normalised() -> None:
    value = json.dumps({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
    assert read_usage({"langfuse.observation.usage_details": value}) == {
        "input": 10,
        "output": 5,
        "total": 15,
    }


def test_genai_usage_with_cache_and_reasoning_splits() -> None:
    attributes = {
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 50,
        "gen_ai.usage.cache_read.input_tokens": 30,
        "gen_ai.usage.cache_creation.input_tokens": 10,
        "gen_ai.usage.reasoning.output_tokens": 20,
        "gen_ai.usage.cost": 0.5,
        "gen_ai.usage.details.custom_units": 3,
    }
    usage = read_usage(attributes)
    assert usage == {
        "input": 60,
        "output": 30,
        "input_cached_tokens": 30,
        "input_cache_creation": 10,
        "output_reasoning_tokens": 20,
        "custom_units": 3,
    }
    assert token_counts(usage) == (100, 50, 150)


def test_old_genai_names_and_first_spelling_wins() -> None:
    attributes = {
        "gen_ai.usage.prompt_tokens": 7,
        "gen_ai.usage.input_tokens": 7,
        "gen_ai.usage.completion_tokens": "3",
    }
    assert read_usage(attributes) == {"input": 7, "output": 3}


def test_openinference_token_counts() -> None:
    attributes = {
        "llm.token_count.prompt": 12,
        "llm.token_count.completion": 8,
        "llm.token_count.total": 20,
        "llm.token_count.prompt_details.cache_read": 2,
        "llm.token_count.completion_details.reasoning": 3,
        "llm.token_count.completion_details.audio": 1,
    }
    usage = read_usage(attributes)
    assert usage == {
        "input": 10,
        "output": 4,
        "total": 20,
        "input_cached_tokens": 2,
        "output_reasoning_tokens": 3,
        "output_audio_tokens": 1,
    }
    assert token_counts(usage) == (12, 8, 20)


def test_vercel_usage_counters() -> None:
    attributes = {
        "ai.usage.promptTokens": 9,
        "ai.usage.completionTokens": 4,
        "ai.usage.cachedInputTokens": 5,
        "ai.usage.reasoningTokens": 1,
    }
    assert read_usage(attributes) == {
        "input": 4,
        "output": 3,
        "input_cached_tokens": 5,
        "output_reasoning_tokens": 1,
    }


def test_split_never_goes_below_zero() -> None:
    usage = read_usage({"gen_ai.usage.input_tokens": 1, "gen_ai.usage.cache_read_input_tokens": 5})
    assert usage["input"] == 0


@pytest.mark.parametrize("bad", [True, "lots", math.inf, math.nan, [1], {"a": 1}, 10**30, None])
def test_counters_that_are_not_numbers_are_ignored(bad: Any) -> None:
    assert read_usage({"gen_ai.usage.input_tokens": bad, "gen_ai.usage.output_tokens": 2}) == {
        "output": 2
    }


def test_cost_precedence() -> None:
    attributes: dict[str, Any] = {
        "langfuse.observation.cost_details": '{"input": 0.1, "output": 0.2}',
        "gen_ai.usage.cost": 0.7,
        "llm.cost.total": "0.9",
    }
    assert read_cost(attributes) == {"input": 0.1, "output": 0.2}
    del attributes["langfuse.observation.cost_details"]
    assert read_cost(attributes) == {"total": 0.7}
    del attributes["gen_ai.usage.cost"]
    assert read_cost(attributes) == {"total": 0.9}
    assert read_cost({"langfuse.observation.cost_details": 3}) == {}


@pytest.mark.parametrize(
    ("cost", "total"),
    [
        ({"input": 0.25, "output": 0.5}, 0.75),
        ({"input": 0.25, "total": 1.0}, 1.0),
        ({}, None),
    ],
)
def test_total_cost(cost: dict[str, float], total: float | None) -> None:
    assert total_cost(cost) == total


@pytest.mark.parametrize(
    ("usage", "counts"),
    [
        ({"input": 3, "output": 4}, (3, 4, 7)),
        ({"input": 3, "output": 4, "total": 10}, (3, 4, 10)),
        ({"input": 2.6, "input_audio_tokens": 1}, (4, 0, 4)),
        ({"other": 5}, (0, 0, 0)),
        ({}, (0, 0, 0)),
    ],
)
def test_token_counts(usage: dict[str, float], counts: tuple[int, int, int]) -> None:
    assert token_counts(usage) == counts


def test_detail_map_keeps_only_numbers() -> None:
    text = '{"a": 1, "b": "2.5", "c": true, "d": null, "e": [1], "f": 1e400}'
    assert detail_map(text) == {"a": 1, "b": 2.5}
    assert detail_map({"x": 1}) == {"x": 1}
    assert detail_map("[1]") == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (2.5, 2.5), ("4", 4), (" 1.5 ", 1.5), ("x", None), (False, None), ("9" * 50, None)],
)
def test_number(value: Any, expected: float | None) -> None:
    assert number(value) == expected


def test_counters_are_taken_prefix_by_prefix_whatever_the_attribute_order() -> None:
    """`gen_ai.usage.` comes before `llm.token_count.` and `ai.usage.`: its spelling wins."""
    attributes = {
        "ai.usage.inputTokens": 1,
        "llm.token_count.prompt": 2,
        "gen_ai.usage.input_tokens": 3,
        "unrelated.input_tokens": 4,
    }
    assert read_usage(attributes) == {"input": 3}
    del attributes["gen_ai.usage.input_tokens"]
    assert read_usage(attributes) == {"input": 2}


def test_a_bare_prefix_is_not_a_counter_or_a_setting() -> None:
    attributes = {"gen_ai.usage.": 5, "gen_ai.request.": 0.1, "gen_ai.request.top_p": 0.9}
    assert read_usage(attributes) == {}
    assert read_model_parameters(attributes) == '{"top_p":0.9}'


usage_keys = st.sampled_from(
    ["input", "input_cached_tokens", "output", "output_audio_tokens", "total", "other"]
)
amounts = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(min_value=-1e15, max_value=1e15, allow_nan=False),
)


@given(st.dictionaries(usage_keys, amounts, max_size=6))
def test_token_counts_are_rounded_clamped_sums_of_the_input_and_output_keys(
    usage: dict[str, float],
) -> None:
    def tokens(amount: float) -> int:
        return max(0, min(2**62, round(amount)))

    input_tokens = tokens(sum(v for k, v in usage.items() if k.startswith("input")))
    output_tokens = tokens(sum(v for k, v in usage.items() if k.startswith("output")))
    total = tokens(usage["total"]) if "total" in usage else input_tokens + output_tokens
    assert token_counts(usage) == (input_tokens, output_tokens, total)
