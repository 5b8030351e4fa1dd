"""Model, model parameters, token usage and cost, normalised across conventions.

Usage and cost end up as detail maps (`{"input": 10, "output": 20, "total": 30}`), the
Langfuse shape. The explicit Langfuse attributes win; otherwise the generic GenAI,
OpenInference and Vercel counters are renamed (langfuse-server.md §1.5) and `input` /
`output` lose the cache, reasoning and audio counts they include, so that the buckets add
up: the sum of the `input*` keys is the number of input tokens sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from skein.ingest.conventions import as_text, clean_text, first_text, parse_json, text_of

MODEL_KEYS = (
    "langfuse.observation.model.name",
    "gen_ai.response.model",
    "ai.model.id",
    "gen_ai.request.model",
    "llm.response.model",
    "llm.model_name",
    "model",
)
GENKIT_SUBTYPE_KEY = "genkit:metadata:subtype"  # "model" makes `genkit:name` the model
PARAMETER_KEYS = ("langfuse.observation.model.parameters", "llm.invocation_parameters")
PARAMETER_PREFIXES = ("gen_ai.request.", "llm.invocation_parameters.")
USAGE_KEY = "langfuse.observation.usage_details"
USAGE_PREFIXES = ("gen_ai.usage.", "llm.token_count.", "ai.usage.")
COST_KEY = "langfuse.observation.cost_details"
COST_TOTAL_KEYS = ("gen_ai.usage.cost", "llm.cost.total")
# Not token counts, or (Vercel AI 6.x) complements of counts already read: the uncached
# input and text output tokens are `input` / `output` minus their other parts.
NOT_USAGE = frozenset(
    {
        "gen_ai.usage.cost",
        "ai.usage.inputTokenDetails.noCacheTokens",
        "ai.usage.outputTokenDetails.textTokens",
    }
)
USAGE_NAMES: Mapping[str, str] = {
    "prompt_tokens": "input",
    "input_tokens": "input",
    "prompt": "input",
    "promptTokens": "input",
    "inputTokens": "input",
    "completion_tokens": "output",
    "output_tokens": "output",
    "completion": "output",
    "completionTokens": "output",
    "outputTokens": "output",
    "total_tokens": "total",
    "total": "total",
    "totalTokens": "total",
    "tokens": "total",
    "cache_read.input_tokens": "input_cached_tokens",
    "cache_read_input_tokens": "input_cached_tokens",
    "prompt_details.cache_read": "input_cached_tokens",
    "prompt_tokens_details.cached_tokens": "input_cached_tokens",
    "cachedInputTokens": "input_cached_tokens",
    "inputTokenDetails.cacheReadTokens": "input_cached_tokens",
    "inputTokenDetails.cacheWriteTokens": "input_cache_creation",
    "cache_creation.input_tokens": "input_cache_creation",
    "cache_creation_input_tokens": "input_cache_creation",
    "prompt_details.cache_write": "input_cache_creation",
    "prompt_details.audio": "input_audio_tokens",
    "reasoning.output_tokens": "output_reasoning_tokens",
    "reasoning_tokens": "output_reasoning_tokens",
    "completion_details.reasoning": "output_reasoning_tokens",
    "completion_tokens_details.reasoning_tokens": "output_reasoning_tokens",
    "reasoningTokens": "output_reasoning_tokens",
    "outputTokenDetails.reasoningTokens": "output_reasoning_tokens",
    "completion_details.audio": "output_audio_tokens",
}
# Counts that the plain `input` / `output` counters include and that get their own bucket.
INPUT_PARTS = ("input_cached_tokens", "input_cache_creation", "input_audio_tokens")
OUTPUT_PARTS = ("output_reasoning_tokens", "output_audio_tokens")
# Explicit usage maps with these keys are OpenAI-shaped and normalised like the generic keys.
OPENAI_USAGE_KEYS = frozenset({"prompt_tokens", "completion_tokens", "input_tokens"})
MAX_AMOUNT = 1e15
MAX_TOKENS = 2**62
VERCEL_AGENT_OPERATIONS = frozenset({"invoke_agent", "agent_step"})
# Vercel AI calls whose span wraps the per-step `do*` spans and repeats their totals.
VERCEL_CALL_OPERATIONS = frozenset(
    {
        "ai.generateText",
        "ai.streamText",
        "ai.generateObject",
        "ai.streamObject",
        "ai.embed",
        "ai.embedMany",
    }
)


def read_model(attributes: Mapping[str, Any]) -> str | None:
    """The model name: the first model key with a text value (Genkit model spans last)."""
    model = first_text(attributes, MODEL_KEYS)
    if model is not None:
        return model
    if attributes.get(GENKIT_SUBTYPE_KEY) == "model":
        return text_of(attributes.get("genkit:name"))
    return None


def is_vercel_agent(attributes: Mapping[str, Any], scope_name: str) -> bool:
    """Vercel AI agent spans carry their steps' aggregate usage: not counted again."""
    operation = attributes.get("gen_ai.operation.name")
    return (
        scope_name == "ai" and isinstance(operation, str) and operation in VERCEL_AGENT_OPERATIONS
    )


def is_vercel_aggregate(attributes: Mapping[str, Any], scope_name: str) -> bool:
    """A Vercel AI span that repeats its steps' model, usage and cost: counted once, there.

    The agent spans, and the call spans (`ai.generateText`, …) around the `do*` step spans.
    """
    if scope_name != "ai":
        return False  # both kinds are Vercel AI's
    if is_vercel_agent(attributes, scope_name):
        return True
    operation = attributes.get("ai.operationId")
    return scope_name == "ai" and isinstance(operation, str) and operation in VERCEL_CALL_OPERATIONS


def read_model_parameters(attributes: Mapping[str, Any]) -> str | None:
    """Explicit parameters, else OpenInference's, else the `gen_ai.request.*` settings."""
    for key in PARAMETER_KEYS:
        if attributes.get(key) is not None:
            return as_text(attributes[key])
    settings = dict(_suffixed(attributes, PARAMETER_PREFIXES))
    settings.pop("model", None)
    return as_text(settings) if settings else None


def read_usage(attributes: Mapping[str, Any]) -> dict[str, float]:
    """Explicit `usage_details` if it has any counts, else the normalised generic counters."""
    explicit = detail_map(attributes.get(USAGE_KEY))
    if explicit:
        if OPENAI_USAGE_KEYS.isdisjoint(explicit):
            return explicit
        return normalised_usage(explicit.items())
    counters = list(_usage_counters(attributes))
    return normalised_usage(counters) if counters else {}


def _usage_counters(attributes: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    for prefix, key, value in _prefixed(attributes, USAGE_PREFIXES):
        if key not in NOT_USAGE:
            amount = number(value)
            if amount is not None:
                yield clean_text(key[len(prefix) :]), amount


def normalised_usage(counters: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Counters renamed to Langfuse's usage keys; the first spelling of a key wins."""
    usage: dict[str, float] = {}
    for name, amount in counters:
        usage.setdefault(USAGE_NAMES.get(name) or name.removeprefix("details."), amount)
    _split_out(usage, "input", INPUT_PARTS)
    _split_out(usage, "output", OUTPUT_PARTS)
    return usage


def _split_out(usage: dict[str, float], whole: str, parts: tuple[str, ...]) -> None:
    if whole in usage:
        usage[whole] = max(0, usage[whole] - sum(usage.get(part, 0) for part in parts))


def read_cost(attributes: Mapping[str, Any]) -> dict[str, float]:
    """Explicit `cost_details`, else `gen_ai.usage.cost`, else OpenInference `llm.cost.total`."""
    explicit = detail_map(attributes.get(COST_KEY))
    if explicit:
        return explicit
    for key in COST_TOTAL_KEYS:
        amount = number(attributes.get(key))
        if amount is not None:
            return {"total": amount}
    return {}


def detail_map(value: Any) -> dict[str, float]:
    """The numeric entries of a JSON object (string) or mapping; {} for anything else."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = parse_json(value)[1]
    if not isinstance(value, Mapping):
        return {}
    details: dict[str, float] = {}
    for key, item in value.items():
        amount = number(item)
        if amount is not None:
            details[clean_text(str(key))] = amount
    return details


def number(value: Any) -> float | None:
    """A finite, bounded number from a number or numeric string; None for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = _parsed_number(value)
    if isinstance(value, int):
        return value if -MAX_AMOUNT <= value <= MAX_AMOUNT else None
    if isinstance(value, float) and math.isfinite(value) and abs(value) <= MAX_AMOUNT:
        return value
    return None


def _parsed_number(text: str) -> int | float | None:
    text = text.strip()
    if not text or len(text) > 40:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def token_counts(usage: Mapping[str, float]) -> tuple[int, int, int]:
    """(input, output, total) tokens: sums of the `input*` and `output*` keys, and `total`."""
    if not usage:
        return 0, 0, 0
    input_sum: float = 0
    output_sum: float = 0
    for key, amount in usage.items():  # one pass, no generators: this runs for every span
        if key.startswith("input"):
            input_sum += amount
        elif key.startswith("output"):
            output_sum += amount
    input_tokens, output_tokens = _tokens(input_sum), _tokens(output_sum)
    total = usage.get("total")
    total_tokens = _tokens(total) if total is not None else input_tokens + output_tokens
    return input_tokens, output_tokens, total_tokens


def _tokens(amount: float) -> int:
    return max(0, min(MAX_TOKENS, round(amount)))


def total_cost(cost: Mapping[str, float]) -> float | None:
    """The `total` entry if present, else the sum of the entries; None without any cost."""
    if not cost:
        return None
    total = cost.get("total")
    return float(total) if total is not None else float(sum(cost.values()))


def _suffixed(
    attributes: Mapping[str, Any], prefixes: tuple[str, ...]
) -> Iterator[tuple[str, Any]]:
    """(remainder, value) for every key under one of `prefixes`, prefix by prefix."""
    for prefix, key, value in _prefixed(attributes, prefixes):
        yield key[len(prefix) :], value


def _prefixed(
    attributes: Mapping[str, Any], prefixes: tuple[str, ...]
) -> Iterator[tuple[str, str, Any]]:
    """(prefix, key, value) for every key longer than one of `prefixes`, prefix by prefix.

    One pass finds the (usually no) keys under any prefix; only those are gone over again."""
    matching = [(key, value) for key, value in attributes.items() if key.startswith(prefixes)]
    for prefix in prefixes if matching else ():
        for key, value in matching:
            if key.startswith(prefix) and len(key) > len(prefix):
                yield prefix, key, value
