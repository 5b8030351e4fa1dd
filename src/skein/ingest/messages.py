"""An observation's input and output, read from whichever convention the span follows.

Each side is read on its own: the first rule that yields a value wins (langfuse-server.md
§1.5, "Input/output extraction"). In order:

    Langfuse      langfuse.observation.input / .output
    Vercel AI     ai.prompt.messages, ai.prompt, ai.toolCall.args / ai.response.text (+toolCalls), …
    GenAI events  gen_ai.{system,user,assistant,tool}.message / gen_ai.choice, then the
                  gen_ai.client.inference.operation.details event's message attributes
    MLflow        mlflow.spanInputs / mlflow.spanOutputs
    Traceloop     traceloop.entity.input / .output
    OpenInference input.value / output.value
    indexed       gen_ai.prompt.N.* / gen_ai.completion.N.*,
                  llm.input_messages.N.message.* / llm.output_messages.N.message.*
    GenAI attrs   gen_ai.input.messages (+ gen_ai.system_instructions) / gen_ai.output.messages,
                  gen_ai.tool.call.arguments / .result

A rule reports the attribute keys it used, so the mapper can leave them out of the catch-all
`attributes` metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from skein.ingest.conventions import loads_or_same
from skein.records import Span

MAX_SLOTS = 10_000  # highest message index (and nested list index) rebuilt + 1
MAX_PATH_DEPTH = 8  # deeper dotted remainders stay one dotted key
ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
# The current GenAI conventions' one event with a call's messages, as GenAI attributes.
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
VERCEL_INPUT_KEYS = ("ai.prompt.messages", "ai.prompt", "ai.toolCall.args")
VERCEL_OUTPUT_KEYS = (
    "ai.result.text",
    "ai.toolCall.result",
    "ai.response.object",
    "ai.result.object",
    "ai.response.toolCalls",
    "ai.result.toolCalls",
)
INPUT_INDEXED_PREFIXES = ("gen_ai.prompt.", "llm.input_messages.")
OUTPUT_INDEXED_PREFIXES = ("gen_ai.completion.", "llm.output_messages.")
# Every attribute key the input (output) rules read, besides the indexed prefixes above and
# the span's events: a span without any of them has no input (output) to find.
INPUT_KEYS = frozenset(
    {
        "langfuse.observation.input",
        *VERCEL_INPUT_KEYS,
        "mlflow.spanInputs",
        "traceloop.entity.input",
        "input.value",
        "gen_ai.input.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
    }
)
OUTPUT_KEYS = frozenset(
    {
        "langfuse.observation.output",
        "ai.response.text",
        "ai.response.toolCalls",
        *VERCEL_OUTPUT_KEYS,
        "mlflow.spanOutputs",
        "traceloop.entity.output",
        "output.value",
        "gen_ai.output.messages",
        "gen_ai.tool.call.result",
    }
)


@dataclass(frozen=True, slots=True)
class Found:
    """A value found for one side, and the attribute keys it was read from."""

    value: Any
    keys: tuple[str, ...] = ()


Rule = Callable[[Span], Found | None]


def extract_input(span: Span) -> Found | None:
    return _first_found(span, INPUT_RULES)


def extract_output(span: Span) -> Found | None:
    return _first_found(span, OUTPUT_RULES)


def _first_found(span: Span, rules: tuple[Rule, ...]) -> Found | None:
    for rule in rules:
        found = rule(span)
        if found is not None:
            return found
    return None


def first_key(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> Found | None:
    """The first of `keys` with a value."""
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            return Found(value, (key,))
    return None


def _keyed(*keys: str) -> Rule:
    return lambda span: first_key(span.attributes, keys)


def _vercel_output(span: Span) -> Found | None:
    attributes = span.attributes
    text = attributes.get("ai.response.text")
    calls = attributes.get("ai.response.toolCalls")
    if text is not None and calls is not None:
        message = {"role": "assistant", "content": text, "tool_calls": loads_or_same(calls)}
        return Found(message, ("ai.response.text", "ai.response.toolCalls"))
    if text is not None:
        return Found(text, ("ai.response.text",))
    return first_key(attributes, VERCEL_OUTPUT_KEYS)


def _event_input(span: Span) -> Found | None:
    messages = [
        {"role": ROLE_EVENTS[event.name], **event.attributes}
        for event in span.events
        if event.name in ROLE_EVENTS
    ]
    return Found(messages) if messages else None


def _event_output(span: Span) -> Found | None:
    choices = [_choice(event.attributes) for event in span.events if event.name == CHOICE_EVENT]
    if not choices:
        return None
    return Found(choices[0] if len(choices) == 1 else choices)


def _choice(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A choice event's attributes; a `message` sent as JSON text is decoded."""
    choice = dict(attributes)
    if "message" in choice:
        choice["message"] = loads_or_same(choice["message"])
    return choice


def _details_attributes(span: Span) -> Mapping[str, Any] | None:
    return next((event.attributes for event in span.events if event.name == DETAILS_EVENT), None)


def _details_input(span: Span) -> Found | None:
    attributes = _details_attributes(span)
    found = genai_input(attributes) if attributes is not None else None
    return Found(found.value) if found is not None else None


def _details_output(span: Span) -> Found | None:
    attributes = _details_attributes(span)
    found = first_key(attributes, ("gen_ai.output.messages",)) if attributes is not None else None
    return Found(found.value) if found is not None else None


def _indexed(prefix: str, unwrap: str = "") -> Rule:
    return lambda span: rebuild_indexed(span.attributes, prefix, unwrap)


def rebuild_indexed(attributes: Mapping[str, Any], prefix: str, unwrap: str = "") -> Found | None:
    """`prefix.N.path` keys rebuilt into a list of objects, in index order.

    `unwrap` is a leading path segment dropped from every entry (OpenInference's "message").
    Indexes at or over MAX_SLOTS, and paths that clash with a value already set, are ignored.
    """
    entries: dict[int, _Branch] = {}
    keys: list[str] = []
    # Only keys under the prefix can have a path; most spans have none.
    indexed = [(key, value) for key, value in attributes.items() if key.startswith(prefix)]
    for key, value in indexed:
        path = _indexed_path(key, prefix, unwrap)
        if path is not None and _set_path(entries.setdefault(path[0], _Branch()), path[1], value):
            keys.append(key)
    if not keys:
        return None
    rebuilt = [_listified(entries[index]) for index in sorted(entries) if entries[index]]
    return Found(rebuilt, tuple(keys))


def _indexed_path(key: str, prefix: str, unwrap: str) -> tuple[int, list[str]] | None:
    if not key.startswith(prefix):
        return None
    index_text, _, rest = key[len(prefix) :].partition(".")
    index = slot_index(index_text)
    if index is None or not rest:
        return None
    if unwrap and rest.startswith(unwrap + "."):
        rest = rest[len(unwrap) + 1 :]
    return index, rest.split(".", MAX_PATH_DEPTH)


def slot_index(text: str) -> int | None:
    """A list index below MAX_SLOTS written in ASCII digits, else None."""
    if not text or len(text) > 5 or not (text.isascii() and text.isdigit()):
        return None
    index = int(text)
    return index if index < MAX_SLOTS else None


class _Branch(dict[str, Any]):
    """An object made while rebuilding indexed keys (only these may turn into lists)."""


def _set_path(target: _Branch, path: list[str], value: Any) -> bool:
    """Set `value` at `path` under `target`, making objects on the way; False on a clash."""
    node = target
    for segment in path[:-1]:
        child = node.setdefault(segment, _Branch())
        if not isinstance(child, _Branch):
            return False
        node = child
    if path[-1] in node:
        return False
    node[path[-1]] = value
    return True


def _listified(node: Any) -> Any:
    """Rebuilt objects whose keys are all list indexes become lists, in index order."""
    if not isinstance(node, _Branch):
        return node
    items = {key: _listified(value) for key, value in node.items()}
    indexes = [slot_index(key) for key in items]
    if items and all(index is not None for index in indexes):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _genai_input(span: Span) -> Found | None:
    return genai_input(span.attributes)


def genai_input(attributes: Mapping[str, Any]) -> Found | None:
    """`gen_ai.input.messages` with `gen_ai.system_instructions` first, or the tool arguments."""
    messages = attributes.get("gen_ai.input.messages")
    system = attributes.get("gen_ai.system_instructions")
    if system is None:
        return first_key(attributes, ("gen_ai.input.messages", "gen_ai.tool.call.arguments"))
    instruction = {"role": "system", "content": loads_or_same(system)}
    keys = ("gen_ai.system_instructions", "gen_ai.input.messages")
    if messages is None:
        return Found([instruction], keys[:1])
    parsed = loads_or_same(messages)
    if isinstance(parsed, list):
        return Found([instruction, *parsed], keys)
    return Found(messages, keys[1:])


INPUT_RULES: tuple[Rule, ...] = (
    _keyed("langfuse.observation.input"),
    _keyed(*VERCEL_INPUT_KEYS),
    _event_input,
    _details_input,
    _keyed("mlflow.spanInputs"),
    _keyed("traceloop.entity.input"),
    _keyed("input.value"),
    _indexed("gen_ai.prompt."),
    _indexed("llm.input_messages.", "message"),
    _genai_input,
)
OUTPUT_RULES: tuple[Rule, ...] = (
    _keyed("langfuse.observation.output"),
    _vercel_output,
    _event_output,
    _details_output,
    _keyed("mlflow.spanOutputs"),
    _keyed("traceloop.entity.output"),
    _keyed("output.value"),
    _indexed("gen_ai.completion."),
    _indexed("llm.output_messages.", "message"),
    _keyed("gen_ai.output.messages", "gen_ai.tool.call.result"),
)
