"""Chat messages read out of the many shapes LLM inputs and outputs are recorded in.

`parse_messages` recognises, from a decoded JSON value:

    plain text               "What is the capital of France?"
    OpenAI chat              [{"role": "user", "content": ...}, {"role": "assistant",
                              "tool_calls": [{"id", "function": {"name", "arguments"}}]},
                              {"role": "tool", "tool_call_id", "content"}], request bodies
                             {"messages": [...]}, responses {"choices": [{"message": {...}}]}
    OpenAI Responses         {"output": [{"type": "message" | "function_call" | ...}]}
    Anthropic                content blocks text / tool_use / tool_result / thinking / image,
                             {"system": ..., "messages": [...]}
    LangChain                {"lc": 1, "type": "constructor", "id": [..., "HumanMessage"],
                              "kwargs": {...}}, {"type": "human", "content"|"data": ...},
                             [[messages]] (a batch), {"generations": [[{"message": ...}]]}
    Langfuse / GenAI         [{role, content}], [{role, parts: [{type: text|tool_call|
                              tool_call_response}]}], OpenInference's rebuilt lists
    Vercel AI SDK            parts tool-call / tool-result
    Gemini                   {"role": "model", "parts": [{"text"}|{"functionCall"}]}
    `@observe` arguments     {"args": [x], "kwargs": {}} with one value: that value

and answers None for anything else, which the page shows as JSON.

`new_messages` hides the history that every turn of a chat repeats: when a turn's input
starts with the previous turn's input and output, only what follows is new.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TEXT = "text"
TOOL_CALL = "tool_call"
TOOL_RESULT = "tool_result"
IMAGE = "image"
THINKING = "thinking"
JSON = "json"

ROLES = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "system": "system",
    "developer": "developer",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}
LANGCHAIN_TYPES = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "chat": "",
    "generic": "",
    "developer": "developer",
}
LANGCHAIN_CLASSES = {
    "HumanMessage": "user",
    "AIMessage": "assistant",
    "SystemMessage": "system",
    "ToolMessage": "tool",
    "FunctionMessage": "tool",
    "ChatMessage": "",
}
MESSAGE_BODY_KEYS = ("content", "parts", "contents", "tool_calls", "function_call")
TEXT_BLOCKS = frozenset({"text", "input_text", "output_text"})
IMAGE_BLOCKS = frozenset({"image", "image_url", "input_image", "blob", "uri", "file"})
THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking", "reasoning"})
RESPONSES_ITEMS = frozenset({"message", "function_call", "function_call_output", "reasoning"})


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a message: text, a tool call or result, an image, reasoning, or JSON."""

    kind: str
    text: str
    name: str | None = None
    call_id: str | None = None
    is_error: bool = False

    def fingerprint(self) -> tuple[str, str, str]:
        """What makes two parts the same message content, whatever their formatting."""
        text = _canonical_json(self.text) if self.kind in (TOOL_CALL, JSON) else self.text
        return (self.kind, " ".join(text.split()), self.name or "")


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    parts: tuple[Part, ...]
    name: str | None = None

    def fingerprint(self) -> tuple[object, ...]:
        return (self.role, tuple(part.fingerprint() for part in self.parts))

    @property
    def text(self) -> str:
        """The message's text parts, joined (for previews and transcripts)."""
        return "\n".join(part.text for part in self.parts if part.kind == TEXT)


def decode(text: str | None) -> Any:
    """A stored value: JSON when it parses (twice, for JSON encoded as a JSON string)."""
    if text is None:
        return None
    value = _loads(text)
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return _loads(value)
    return value


def parse_messages(value: Any, side: str = "input") -> tuple[Message, ...] | None:
    """The chat messages a decoded input (or output, side="output") holds, or None."""
    if isinstance(value, str):
        text_role = "user" if side == "input" else "assistant"
        return (Message(text_role, (Part(TEXT, value),)),) if value.strip() else None
    if isinstance(value, list):
        return _from_list(value, side)
    if isinstance(value, Mapping):
        return _from_mapping(value, side)
    return None


def new_messages(
    previous_input: Sequence[Message] | None,
    previous_output: Sequence[Message] | None,
    current_input: Sequence[Message],
) -> int:
    """How many leading messages of `current_input` the previous turn already showed.

    They are the previous turn's input, then as many of its output messages as follow in
    order; nothing when the current input does not start with the whole previous input.
    """
    before = list(previous_input or ())
    if not before or not _starts_with(current_input, before):
        return 0
    skipped = len(before)
    for message in previous_output or ():
        at = current_input[skipped] if skipped < len(current_input) else None
        if at is None or at.fingerprint() != message.fingerprint():
            break
        skipped += 1
    return skipped


def echoed_input(inputs: Sequence[Message], outputs: Sequence[Message]) -> int:
    """How many leading output messages repeat the input (a LangGraph state's `messages`)."""
    if inputs and len(outputs) > len(inputs) and _starts_with(outputs, inputs):
        return len(inputs)
    return 0


# -- Lists and mappings ----------------------------------------------------------------------


def _from_list(items: list[Any], side: str) -> tuple[Message, ...] | None:
    if not items:
        return None
    if len(items) == 1 and isinstance(items[0], list):  # a LangChain batch of one
        return _from_list(items[0], side)
    if all(_is_message(item) for item in items):
        return tuple(_message(item) for item in items)
    if all(isinstance(item, Mapping) and _is_choice(item) for item in items):
        return tuple(_message(item["message"]) for item in items)
    return None


def _from_mapping(value: Mapping[str, Any], side: str) -> tuple[Message, ...] | None:
    if _is_message(value):
        return (_message(value),)
    if _is_choice(value):
        return (_message(value["message"]),)
    for reader in (_request_body, _completion, _generations, _responses_output):
        found = reader(value)
        if found:
            return found
    return _single_value(value, side)


def _request_body(value: Mapping[str, Any]) -> tuple[Message, ...] | None:
    messages = value.get("messages")
    if not isinstance(messages, list):
        return None
    parsed = _from_list(messages, "input")
    if parsed is None:
        return None
    system = value.get("system")
    if system:
        return (Message("system", tuple(_parts(system))), *parsed)
    return parsed


def _completion(value: Mapping[str, Any]) -> tuple[Message, ...] | None:
    choices = value.get("choices")
    if not isinstance(choices, list) or not choices:
        return None
    messages: list[Message] = []
    for choice in choices:
        if isinstance(choice, Mapping) and _is_message(choice.get("message")):
            messages.append(_message(choice["message"]))
        elif isinstance(choice, Mapping) and isinstance(choice.get("text"), str):
            messages.append(Message("assistant", (Part(TEXT, choice["text"]),)))
    return tuple(messages) or None


def _generations(value: Mapping[str, Any]) -> tuple[Message, ...] | None:
    generations = value.get("generations")
    if not isinstance(generations, list):
        return None
    flat = [g for group in generations for g in (group if isinstance(group, list) else [group])]
    messages: list[Message] = []
    for generation in flat:
        if not isinstance(generation, Mapping):
            continue
        if _is_message(generation.get("message")):
            messages.append(_message(generation["message"]))
        elif isinstance(generation.get("text"), str):
            messages.append(Message("assistant", (Part(TEXT, generation["text"]),)))
    return tuple(messages) or None


def _responses_output(value: Mapping[str, Any]) -> tuple[Message, ...] | None:
    """OpenAI Responses API bodies: `input` (a request) or `output` (a response) items."""
    for key in ("output", "input"):
        items = value.get(key)
        if isinstance(items, list) and items and all(_is_message(item) for item in items):
            return tuple(_message(item) for item in items)
    return None


def _single_value(value: Mapping[str, Any], side: str) -> tuple[Message, ...] | None:
    """`@observe` arguments or a one-key object ({"question": "..."}) holding one value."""
    if set(value) == {"args", "kwargs"} and isinstance(value["kwargs"], Mapping):
        args = value["args"] if isinstance(value["args"], list) else [value["args"]]
        values = [*args, *value["kwargs"].values()]
        return parse_messages(values[0], side) if len(values) == 1 else None
    if len(value) == 1:
        only = next(iter(value.values()))
        if isinstance(only, str) or (isinstance(only, list) and _from_list(only, side)):
            return parse_messages(only, side)
    return None


# -- One message -----------------------------------------------------------------------------


def _is_message(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    if _langchain_class(value) is not None:
        return True
    kind = value.get("type")
    if (
        isinstance(kind, str)
        and kind in LANGCHAIN_TYPES
        and ("content" in value or "data" in value)
    ):
        return True
    if kind in RESPONSES_ITEMS:
        return True
    role = value.get("role")
    has_body = any(k in value for k in MESSAGE_BODY_KEYS)
    return isinstance(role, str) and has_body


def _is_choice(value: Mapping[str, Any]) -> bool:
    return "message" in value and _is_message(value["message"]) and "role" not in value


def _langchain_class(value: Mapping[str, Any]) -> str | None:
    if value.get("lc") != 1 or value.get("type") != "constructor":
        return None
    path = value.get("id")
    if not isinstance(path, list) or not path or not isinstance(path[-1], str):
        return None
    name = path[-1].removesuffix("Chunk")
    return name if name in LANGCHAIN_CLASSES else None


def _message(value: Mapping[str, Any]) -> Message:
    cls = _langchain_class(value)
    if cls is not None:
        body = value.get("kwargs")
        body = body if isinstance(body, Mapping) else {}
        return _body_message(body, LANGCHAIN_CLASSES[cls] or _role(body.get("role")))
    kind = value.get("type")
    if kind in RESPONSES_ITEMS:
        return _responses_message(value)
    if isinstance(kind, str) and kind in LANGCHAIN_TYPES and "role" not in value:
        data = value.get("data")
        body = data if isinstance(data, Mapping) else value
        return _body_message(body, LANGCHAIN_TYPES[kind] or _role(body.get("role")))
    return _body_message(value, _role(value.get("role")))


def _role(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return "user"
    return ROLES.get(value.lower(), value.lower())


def _body_message(body: Mapping[str, Any], role: str) -> Message:
    """A message from an OpenAI / LangChain / GenAI / Gemini style body with a known role."""
    content = body.get("content", body.get("parts", body.get("contents")))
    parts = _parts(content)
    if not parts and isinstance(body.get("refusal"), str):
        parts = [Part(TEXT, body["refusal"])]
    parts.extend(_tool_calls(body))
    name = body.get("name") if isinstance(body.get("name"), str) else None
    if role == "tool":
        call_id = _text_or_none(body.get("tool_call_id"))
        parts = [_as_tool_result(parts, name, call_id, body.get("status") == "error")]
    elif parts and all(part.kind == TOOL_RESULT for part in parts):
        role = "tool"  # Anthropic sends tool results as a user message
    return Message(role, tuple(parts), name)


def _responses_message(value: Mapping[str, Any]) -> Message:
    kind = value["type"]
    call_id = _text_or_none(value.get("call_id"))
    if kind == "function_call":
        name = _text_or_none(value.get("name"))
        call = Part(TOOL_CALL, _json_text(value.get("arguments")), name, call_id)
        return Message("assistant", (call,))
    if kind == "function_call_output":
        result = Part(TOOL_RESULT, _plain_text(value.get("output")), None, call_id)
        return Message("tool", (result,))
    if kind == "reasoning":
        summary = _plain_text(value.get("summary") or value.get("content") or "")
        return Message("assistant", (Part(THINKING, summary or "(reasoning)"),))
    return Message(_role(value.get("role")), tuple(_parts(value.get("content"))))


def _as_tool_result(parts: list[Part], name: str | None, call_id: str | None, error: bool) -> Part:
    text = "\n".join(p.text for p in parts)
    return Part(TOOL_RESULT, text, name, call_id, error)


def _tool_calls(body: Mapping[str, Any]) -> list[Part]:
    calls = body.get("tool_calls")
    extra = body.get("additional_kwargs")
    if not calls and isinstance(extra, Mapping):
        calls = extra.get("tool_calls")
    found = [_tool_call(call) for call in calls] if isinstance(calls, list) else []
    legacy = body.get("function_call")
    if isinstance(legacy, Mapping):
        found.append(_tool_call({"function": legacy}))
    return [part for part in found if part is not None]


def _tool_call(call: Any) -> Part | None:
    if not isinstance(call, Mapping):
        return None
    if isinstance(call.get("tool_call"), Mapping):  # OpenInference
        call = call["tool_call"]
    function = call.get("function")
    source = function if isinstance(function, Mapping) else call
    arguments = source.get("arguments", source.get("args", source.get("input")))
    name = _text_or_none(source.get("name"))
    return Part(TOOL_CALL, _json_text(arguments), name, _text_or_none(call.get("id")))


# -- Content blocks --------------------------------------------------------------------------


def _parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [Part(TEXT, content)] if content else []
    if isinstance(content, list):
        return [part for block in content for part in _block(block)]
    if isinstance(content, Mapping):
        return _block(content)
    return [Part(TEXT, str(content))]


def _block(block: Any) -> list[Part]:
    if isinstance(block, str):
        return [Part(TEXT, block)] if block else []
    if not isinstance(block, Mapping):
        return [Part(JSON, _json_text(block))]
    if isinstance(block.get("message_content"), Mapping):  # OpenInference contents
        return _block(block["message_content"])
    kind = block.get("type")
    found = _typed_block(kind, block) if isinstance(kind, str) else None
    if found is None:
        found = _gemini_block(block)
    return [found] if found is not None else [Part(JSON, _json_text(block))]


def _typed_block(kind: str, block: Mapping[str, Any]) -> Part | None:
    if kind in TEXT_BLOCKS:
        text = block.get("text", block.get("content"))
        return Part(TEXT, text) if isinstance(text, str) else None
    if kind in ("tool_use", "tool-call", "tool_call", "function_call"):
        arguments = block.get("input", block.get("args", block.get("arguments")))
        name = block.get("name", block.get("toolName"))
        call_id = block.get("id", block.get("toolCallId", block.get("call_id")))
        return Part(TOOL_CALL, _json_text(arguments), _text_or_none(name), _text_or_none(call_id))
    if kind in ("tool_result", "tool-result", "tool_call_response"):
        return _result_block(block)
    if kind in THINKING_BLOCKS:
        text = block.get("thinking", block.get("text", block.get("summary")))
        return Part(THINKING, _plain_text(text) if text is not None else "(redacted)")
    if kind in IMAGE_BLOCKS:
        return Part(IMAGE, _image_label(block))
    return None


def _result_block(block: Mapping[str, Any]) -> Part:
    content = block.get("content", block.get("result", block.get("output", block.get("response"))))
    call_id = block.get("tool_use_id", block.get("toolCallId", block.get("id")))
    return Part(
        TOOL_RESULT,
        _plain_text(content),
        _text_or_none(block.get("toolName", block.get("name"))),
        _text_or_none(call_id),
        bool(block.get("is_error")),
    )


def _gemini_block(block: Mapping[str, Any]) -> Part | None:
    if isinstance(block.get("text"), str):
        return Part(TEXT, block["text"])
    call = block.get("functionCall")
    if isinstance(call, Mapping):
        return Part(TOOL_CALL, _json_text(call.get("args")), _text_or_none(call.get("name")))
    response = block.get("functionResponse")
    if isinstance(response, Mapping):
        name = _text_or_none(response.get("name"))
        return Part(TOOL_RESULT, _plain_text(response.get("response")), name)
    return None


def _image_label(block: Mapping[str, Any]) -> str:
    """An image as a short label: its URL, or the size of inline (base64) data."""
    source = block.get("image_url", block.get("source", block.get("url", block.get("uri"))))
    inline = isinstance(source, Mapping) and source.get("type") == "base64"
    if isinstance(source, Mapping):
        source = source.get("url", source.get("data"))
    if not isinstance(source, str) and isinstance(block.get("data"), str):
        source, inline = block["data"], True
    if not isinstance(source, str) or not source:
        return "image"
    if inline or source.startswith("data:"):
        return f"inline image, {len(source) * 3 // 4 // 1024} KB"
    return source


# -- Text helpers ----------------------------------------------------------------------------


def _plain_text(value: Any) -> str:
    """Content as text: strings as they are, text blocks joined, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, str | Mapping) for b in value):
        parts = _parts(value)
        if all(p.kind == TEXT for p in parts):
            return "\n".join(p.text for p in parts)
    return _json_text(value)


def _json_text(value: Any) -> str:
    """Arguments and other values as indented JSON (a JSON string is parsed first)."""
    if value is None:
        return ""
    if isinstance(value, str):
        parsed = _loads(value)
        if parsed is value or isinstance(parsed, str):
            return value
        value = parsed
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _canonical_json(text: str) -> str:
    parsed = _loads(text)
    if isinstance(parsed, str):
        return text
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str) -> Any:
    """Parsed JSON, or the very same string object when it is not JSON."""
    if not text or text[0] not in '[{"-0123456789tfn':
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _starts_with(messages: Sequence[Message], prefix: Iterable[Message]) -> bool:
    head = list(prefix)
    if len(messages) < len(head):
        return False
    return all(a.fingerprint() == b.fingerprint() for a, b in zip(messages, head, strict=False))
