"""Model prices: Skein's table, a project's own prices, and cost inferred from usage.

A generation that reports usage but no cost gets its cost from the first price whose
`match_pattern` matches its model name: the project's prices first (newest first), then the
table shipped in `skein/data/prices.json`, in file order. Patterns are regular expressions
searched in the model name, as Langfuse's `matchPattern` is; the shipped ones are anchored
and case-insensitive.

    price_observation(observation, book)   # → the observation with cost and cost_source

A price maps usage keys to USD per unit (token). A usage key without its own price uses the
price of its family: `input_cached_tokens` falls back to `input`, `output_reasoning_tokens`
to `output`. Which price was used is recorded in `Observation.cost_source`: "sdk" when the
sender gave the cost, "price:<id>" for Skein's table, "project-price:<id>" for the project's.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Protocol

from skein.ingest.usage import total_cost
from skein.records import MappedBatch, Observation

logger = logging.getLogger(__name__)

PRICE_FILE = "prices.json"
UNITS = ("TOKENS", "CHARACTERS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS")
MAX_PATTERN_LENGTH = 500
CACHE_SECONDS = 30.0
MAX_REMEMBERED_MODELS = 10_000
SDK_SOURCE = "sdk"
LANGFUSE_PRICE_KEYS = (("inputPrice", "input"), ("outputPrice", "output"), ("totalPrice", "total"))


class PriceError(ValueError):
    """A price definition that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per unit for each usage key, for the models `match_pattern` matches.

    `project_id` is None for Skein's own table.
    """

    id: str
    model_name: str
    match_pattern: str
    prices: Mapping[str, float]
    unit: str = "TOKENS"
    source: str = ""
    project_id: str | None = None
    created_ns: int = 0

    @property
    def label(self) -> str:
        """How `cost_source` names this price."""
        return f"{'project-price' if self.project_id else 'price'}:{self.id}"


@dataclass(frozen=True, slots=True)
class PriceBook:
    """The prices that apply to one project, in match order."""

    prices: tuple[ModelPrice, ...]
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    # Model name → its price, remembered (a book serves many spans of few models).
    _found: dict[str, ModelPrice | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(compile_pattern(p) for p in self.prices))
        object.__setattr__(self, "_found", {})

    def find(self, model: str) -> ModelPrice | None:
        """The first price whose pattern matches `model`, if any."""
        if model in self._found:
            return self._found[model]
        found = next(
            (
                p
                for pattern, p in zip(self._patterns, self.prices, strict=True)
                if pattern.search(model)
            ),
            None,
        )
        if len(self._found) >= MAX_REMEMBERED_MODELS:
            self._found.clear()
        self._found[model] = found
        return found


def compile_pattern(price: ModelPrice) -> re.Pattern[str]:
    try:
        return re.compile(price.match_pattern)
    except re.error as error:
        raise PriceError(f"matchPattern {price.match_pattern!r} is not a regex: {error}") from None


# ── Cost ──────────────────────────────────────────────────────────────────────────────


def price_observation(observation: Observation, book: PriceBook) -> Observation:
    """The observation with its cost: the SDK's if sent, else from its model's price."""
    if observation.cost:
        if observation.cost_source is None:
            return replace(observation, cost_source=SDK_SOURCE)
        return observation
    if not observation.usage or not observation.model:
        return observation
    price = book.find(observation.model)
    if price is None:
        return observation
    cost = cost_of(observation.usage, price.prices)
    if not cost:
        return observation
    return replace(observation, cost=cost, total_cost=total_cost(cost), cost_source=price.label)


def cost_of(usage: Mapping[str, float], prices: Mapping[str, float]) -> dict[str, float]:
    """Cost per usage key, and its `total`; {} when no key has a price."""
    cost: dict[str, float] = {}
    for key, amount in usage.items():
        rate = rate_for(key, prices)
        if key != "total" and rate is not None:
            cost[key] = amount * rate
    if not cost and "total" in usage and "total" in prices:
        cost["total"] = usage["total"] * prices["total"]
    elif cost:
        cost["total"] = sum(cost.values())
    return cost


def rate_for(key: str, prices: Mapping[str, float]) -> float | None:
    """The price of one usage key, or of its family (`input…` → input, `output…` → output)."""
    if key in prices:
        return prices[key]
    for family in ("input", "output"):
        if key.startswith(family):
            return prices.get(family)
    return None


def pricing_for(book: PriceBook) -> Callable[[Observation], Observation]:
    """`price_observation` bound to one book (what a MappedBatch carries)."""
    return lambda observation: price_observation(observation, book)


def priced_batch(batch: MappedBatch, book: PriceBook) -> MappedBatch:
    """A mapped batch whose observations have their cost and its source."""
    if not batch.observations:
        return batch
    priced = tuple(price_observation(o, book) for o in batch.observations)
    return replace(batch, observations=priced)


# ── Reading definitions ───────────────────────────────────────────────────────────────


def builtin_prices() -> tuple[ModelPrice, ...]:
    """Skein's price table, from the package data."""
    text = (resources.files("skein") / "data" / PRICE_FILE).read_text(encoding="utf-8")
    document = json.loads(text)
    return tuple(_builtin(entry) for entry in document["models"])


def _builtin(entry: Mapping[str, Any]) -> ModelPrice:
    price = ModelPrice(
        id=entry["id"],
        model_name=entry["modelName"],
        match_pattern=entry["matchPattern"],
        prices={key: float(value) for key, value in entry["prices"].items()},
        unit=entry.get("unit", "TOKENS"),
        source=entry["source"],
    )
    compile_pattern(price)
    return price


def price_from_body(body: Any, *, project_id: str, price_id: str, now_ns: int) -> ModelPrice:
    """A project price from a Langfuse-style model definition; PriceError when invalid.

    `{modelName, matchPattern, inputPrice?, outputPrice?, totalPrice?, prices?, unit?}`,
    where `prices` is `{usage key: price}` or `{usage key: {"price": price}}`; or, instead of
    flat prices, `pricingTiers` whose default tier's `prices` are used.
    """
    if not isinstance(body, Mapping):
        raise PriceError("the body must be a JSON object")
    price = ModelPrice(
        id=price_id,
        model_name=_required_text(body, "modelName"),
        match_pattern=_pattern(body),
        prices=_price_map(body),
        unit=_unit(body.get("unit")),
        project_id=project_id,
        created_ns=now_ns,
    )
    compile_pattern(price)
    return price


def _required_text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PriceError(f"{key} must be a non-empty string")
    return value


def _pattern(body: Mapping[str, Any]) -> str:
    pattern = _required_text(body, "matchPattern")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PriceError(f"matchPattern is longer than {MAX_PATTERN_LENGTH} characters")
    return pattern


def _unit(value: Any) -> str:
    if value is None:
        return "TOKENS"
    if not isinstance(value, str) or value.upper() not in UNITS:
        raise PriceError(f"unit must be one of {', '.join(UNITS)}")
    return value.upper()


def _price_map(body: Mapping[str, Any]) -> dict[str, float]:
    prices: dict[str, float] = {}
    for key, usage_key in LANGFUSE_PRICE_KEYS:
        if body.get(key) is not None:
            prices[usage_key] = _amount(body[key], key)
    detailed = body.get("prices")
    if detailed is None and not prices:
        detailed = _default_tier_prices(body.get("pricingTiers"))
    if detailed is not None:
        if not isinstance(detailed, Mapping):
            raise PriceError("prices must be an object of usage key to price")
        for key, value in detailed.items():
            amount = value.get("price") if isinstance(value, Mapping) else value
            prices[str(key)] = _amount(amount, f"prices.{key}")
    if not prices:
        raise PriceError("give at least one of inputPrice, outputPrice, totalPrice or prices")
    return prices


def _default_tier_prices(tiers: Any) -> Any:
    """The prices of the default one of Langfuse's `pricingTiers` (other tiers are not used)."""
    if tiers is None:
        return None
    if not isinstance(tiers, list) or not all(isinstance(t, Mapping) for t in tiers):
        raise PriceError("pricingTiers must be an array of tier objects")
    default = next((t for t in tiers if t.get("isDefault")), tiers[0] if tiers else None)
    return default.get("prices") if default is not None else None


def _amount(value: Any, key: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
        raise PriceError(f"{key} must be a non-negative number (USD per unit)")
    return float(value)


# ── The per-project cache ─────────────────────────────────────────────────────────────


class PriceSource(Protocol):
    def list_model_prices(self, project_id: str) -> list[ModelPrice]: ...


class PriceCache:
    """Each project's PriceBook, kept for CACHE_SECONDS or until `invalidate`.

    The time bound covers changes made by another server process on the same database.
    """

    def __init__(
        self,
        source: PriceSource,
        builtin: Sequence[ModelPrice],
        *,
        seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._builtin = tuple(builtin)
        self._seconds = seconds
        self._clock = clock
        self._books: dict[str, tuple[float, PriceBook]] = {}
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def builtin(self) -> tuple[ModelPrice, ...]:
        return self._builtin

    def book(self, project_id: str) -> PriceBook:
        """The project's prices, then Skein's (reads the store at most once per period)."""
        now = self._clock()
        with self._lock:
            cached = self._books.get(project_id)
            generation = self._generations.get(project_id, 0)
        if cached is not None and now - cached[0] < self._seconds:
            return cached[1]
        book = PriceBook((*self._project_prices(project_id), *self._builtin))
        with self._lock:
            # A price changed while this one loaded: use it, but do not keep it.
            if self._generations.get(project_id, 0) == generation:
                self._books[project_id] = (now, book)
        return book

    def invalidate(self, project_id: str) -> None:
        with self._lock:
            self._books.pop(project_id, None)
            self._generations[project_id] = self._generations.get(project_id, 0) + 1

    def _project_prices(self, project_id: str) -> list[ModelPrice]:
        usable = []
        for price in self._source.list_model_prices(project_id):
            try:
                compile_pattern(price)
            except PriceError:
                logger.warning("project %s: price %s has a bad pattern", project_id, price.id)
                continue
            usable.append(price)
        return usable
