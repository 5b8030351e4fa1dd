"""The model price table, price matching, cost inference and the per-project cache."""

from __future__ import annotations

import re
from typing import Any

import pytest

from skein.prices import (
    ModelPrice,
    PriceBook,
    PriceCache,
    PriceError,
    builtin_prices,
    cost_of,
    price_from_body,
    price_observation,
    priced_batch,
)
from skein.records import MappedBatch
from tests.store.factories import make_observation

BUILTIN = builtin_prices()
BOOK = PriceBook(BUILTIN)
PER_MILLION = 1e-6


def builtin(price_id: str) -> ModelPrice:
    return next(price for price in BUILTIN if price.id == price_id)


def project_price(**overrides: Any) -> ModelPrice:
    fields: dict[str, Any] = {
        "id": "mine",
        "model_name": "gpt-4o",
        "match_pattern": "(?i)^gpt-4o$",
        "prices": {"input": 1.0, "output": 2.0},
        "project_id": "project-a",
    }
    fields.update(overrides)
    return ModelPrice(**fields)


# -- The shipped table -----------------------------------------------------------------------


def test_every_shipped_price_is_anchored_sourced_and_positive() -> None:
    assert len({price.id for price in BUILTIN}) == len(BUILTIN) >= 40
    for price in BUILTIN:
        assert price.match_pattern.startswith("(?i)^") and price.match_pattern.endswith("$")
        assert price.source and price.project_id is None and price.unit == "TOKENS"
        assert price.prices and all(0 < value < 1e-3 for value in price.prices.values())


@pytest.mark.parametrize(
    "provider", ["openai", "anthropic", "google", "mistral", "qwen", "deepseek"]
)
def test_the_table_covers_each_provider(provider: str) -> None:
    assert any(price.id.startswith(provider) for price in BUILTIN)


def test_a_spot_check_of_published_prices() -> None:
    mini = builtin("openai-gpt-4o-mini").prices
    assert mini["input"] == pytest.approx(0.15 * PER_MILLION)
    assert mini["output"] == pytest.approx(0.60 * PER_MILLION)
    sonnet = builtin("anthropic-claude-3-5-sonnet").prices
    assert (sonnet["input"], sonnet["output"]) == pytest.approx((3 * PER_MILLION, 15 * PER_MILLION))


@pytest.mark.parametrize(
    ("model", "price_id"),
    [
        ("gpt-4o", "openai-gpt-4o"),
        ("gpt-4o-2024-08-06", "openai-gpt-4o"),
        ("GPT-4O-2024-11-20", "openai-gpt-4o"),
        ("openai/gpt-4o", "openai-gpt-4o"),
        ("gpt-4o-2024-05-13", "openai-gpt-4o-2024-05-13"),
        ("gpt-4o-mini-2024-07-18", "openai-gpt-4o-mini"),
        ("gpt-4.1-nano-2025-04-14", "openai-gpt-4.1-nano"),
        ("o3-mini", "openai-o3-mini"),
        ("claude-3-5-sonnet-20241022", "anthropic-claude-3-5-sonnet"),
        ("claude-3-5-sonnet-latest", "anthropic-claude-3-5-sonnet"),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic-claude-3-5-haiku"),
        ("claude-sonnet-4-5-20250929", "anthropic-claude-sonnet-4-5"),
        ("claude-opus-4-1-20250805", "anthropic-claude-opus-4-1"),
        ("claude-opus-4-20250514", "anthropic-claude-opus-4"),
        ("gemini-2.5-flash", "google-gemini-2.5-flash"),
        ("gemini-2.5-flash-lite", "google-gemini-2.5-flash-lite"),
        ("models/gemini-2.0-flash-001", "google-gemini-2.0-flash"),
        ("gemini-2.5-pro-preview-05-06", "google-gemini-2.5-pro"),
        ("mistral-large-2411", "mistral-large"),
        ("mistral-small-latest", "mistral-small"),
        ("qwen-max-latest", "qwen-max"),
        ("deepseek-chat", "deepseek-chat"),
        ("deepseek/deepseek-reasoner", "deepseek-reasoner"),
    ],
)
def test_models_match_their_price_with_dated_and_prefixed_names(model: str, price_id: str) -> None:
    found = BOOK.find(model)

    assert found is not None and found.id == price_id


@pytest.mark.parametrize("model", ["my-fine-tune", "gpt-4o-mini-transcribe", "gpt-4oo", ""])
def test_unknown_models_have_no_price(model: str) -> None:
    assert BOOK.find(model) is None


def test_project_prices_come_first() -> None:
    book = PriceBook((project_price(), *BUILTIN))

    found = book.find("gpt-4o")
    assert found is not None and found.id == "mine"
    assert found.label == "project-price:mine"
    assert builtin("openai-gpt-4o").label == "price:openai-gpt-4o"


# -- Cost ------------------------------------------------------------------------------------


def test_cost_charges_each_usage_key_at_its_price_or_its_familys() -> None:
    prices = {"input": 2.0, "output": 10.0, "input_cached_tokens": 0.5}
    usage = {"input": 100, "input_cached_tokens": 40, "output": 20, "output_reasoning_tokens": 5,
             "total": 165}  # fmt: skip

    cost = cost_of(usage, prices)

    assert cost == {
        "input": 200.0,
        "input_cached_tokens": 20.0,
        "output": 200.0,
        "output_reasoning_tokens": 50.0,
        "total": 470.0,
    }


def test_total_only_usage_needs_a_total_price() -> None:
    assert cost_of({"total": 10}, {"input": 1.0}) == {}
    assert cost_of({"total": 10}, {"total": 0.5}) == {"total": 5.0}
    assert cost_of({"other": 10}, {"input": 1.0}) == {}


def test_usage_without_cost_is_priced_and_the_price_recorded() -> None:
    generation = make_observation(type="GENERATION", model="gpt-4o-mini",
                                  usage={"input": 1000, "output": 200})  # fmt: skip
    rates = builtin("openai-gpt-4o-mini").prices

    priced = price_observation(generation, BOOK)

    expected = 1000 * rates["input"] + 200 * rates["output"]
    assert priced.total_cost == pytest.approx(expected)
    assert priced.cost["input"] == pytest.approx(1000 * rates["input"])
    assert priced.cost_source == "price:openai-gpt-4o-mini"


def test_sent_cost_is_kept_and_marked_as_the_sdks() -> None:
    generation = make_observation(model="gpt-4o", usage={"input": 5}, cost={"total": 9.0},
                                  total_cost=9.0)  # fmt: skip

    priced = price_observation(generation, BOOK)

    assert (priced.cost, priced.total_cost, priced.cost_source) == ({"total": 9.0}, 9.0, "sdk")


@pytest.mark.parametrize(
    "fields",
    [{"model": None, "usage": {"input": 5}}, {"model": "gpt-4o", "usage": {}},
     {"model": "unknown-model", "usage": {"input": 5}}],
)  # fmt: skip
def test_without_model_usage_or_price_nothing_changes(fields: dict[str, Any]) -> None:
    observation = make_observation(**fields)

    assert price_observation(observation, BOOK) == observation


def test_a_batch_is_priced_observation_by_observation() -> None:
    batch = MappedBatch("p", (make_observation(model="gpt-4o", usage={"input": 1}),))

    priced = priced_batch(batch, PriceBook((project_price(),)))

    assert priced.observations[0].cost == {"input": 1.0, "total": 1.0}
    assert priced.observations[0].cost_source == "project-price:mine"


# -- Definitions from the API ----------------------------------------------------------------


def from_body(body: Any) -> ModelPrice:
    return price_from_body(body, project_id="project-a", price_id="p1", now_ns=7)


def test_a_langfuse_model_definition_becomes_a_price() -> None:
    price = from_body({"modelName": "m", "matchPattern": "(?i)^m$", "inputPrice": 1e-6,
                       "outputPrice": "2e-6", "unit": "tokens"})  # fmt: skip

    assert price.prices == {"input": 1e-6, "output": 2e-6}
    assert (price.unit, price.project_id, price.created_ns) == ("TOKENS", "project-a", 7)


def test_detailed_prices_and_the_default_pricing_tier_are_read() -> None:
    detailed = from_body(
        {
            "modelName": "m",
            "matchPattern": "m",
            "prices": {"input": {"price": 1}, "input_cached_tokens": 0.5},
        }
    )
    tiered = from_body({"modelName": "m", "matchPattern": "m", "pricingTiers": [
        {"name": "big", "isDefault": False, "prices": {"input": 9}},
        {"name": "Standard", "isDefault": True, "prices": {"input": 3, "output": 4}}]})  # fmt: skip

    assert detailed.prices == {"input": 1.0, "input_cached_tokens": 0.5}
    assert tiered.prices == {"input": 3.0, "output": 4.0}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"matchPattern": "m", "inputPrice": 1}, "modelName"),
        ({"modelName": "m", "inputPrice": 1}, "matchPattern"),
        ({"modelName": "m", "matchPattern": "(", "inputPrice": 1}, "not a regex"),
        ({"modelName": "m", "matchPattern": "m", "inputPrice": -1}, "non-negative"),
        ({"modelName": "m", "matchPattern": "m", "inputPrice": True}, "non-negative"),
        ({"modelName": "m", "matchPattern": "m"}, "at least one"),
        ({"modelName": "m", "matchPattern": "m", "inputPrice": 1, "unit": "BYTES"}, "unit"),
        ({"modelName": "m", "matchPattern": "m", "prices": [1]}, "prices must be"),
        ({"modelName": "m", "matchPattern": "x" * 501, "inputPrice": 1}, "longer"),
    ],
)
def test_bad_definitions_are_refused_with_a_reason(body: Any, message: str) -> None:
    with pytest.raises(PriceError, match=re.escape(message)):
        from_body(body)


# -- The cache -------------------------------------------------------------------------------


class CountingSource:
    def __init__(self, prices: list[ModelPrice]) -> None:
        self.prices = prices
        self.calls = 0

    def list_model_prices(self, project_id: str) -> list[ModelPrice]:
        self.calls += 1
        return list(self.prices)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_books_are_cached_until_invalidated_or_expired() -> None:
    source, clock = CountingSource([project_price()]), Clock()
    cache = PriceCache(source, BUILTIN, seconds=30, clock=clock)

    first = cache.book("project-a")
    assert cache.book("project-a") is first and source.calls == 1
    source.prices = []
    cache.invalidate("project-a")
    assert cache.book("project-a").find("gpt-4o") == builtin("openai-gpt-4o")
    clock.now += 31
    cache.book("project-a")
    assert source.calls == 3


def test_a_stored_price_with_a_bad_pattern_is_skipped() -> None:
    cache = PriceCache(CountingSource([project_price(match_pattern="(")]), BUILTIN)

    assert cache.book("project-a").find("gpt-4o") == builtin("openai-gpt-4o")
