from __future__ import annotations

import json
from typing import Any

from skein.ui.messages import (
    IMAGE,
    JSON,
    TEXT,
    THINKING,
    TOOL_CALL,
    TOOL_RESULT,
    Message,
    Part,
    decode,
    echoed_input,
    new_messages,
    parse_messages,
)


def roles(messages: tuple[Message, ...] | None) -> list[str]:
    assert messages is not None
    return [m.role for m in messages]


def kinds(message: Message) -> list[str]:
    return [p.kind for p in message.parts]


def text(role: str, content: str) -> Message:
    return Message(role, (Part(TEXT, content),))


# -- decode ------------------------------------------------------------------------------------


def test_decode_parses_json_and_json_inside_a_json_string() -> None:
    assert decode('[{"role": "user"}]') == [{"role": "user"}]
    assert decode(json.dumps(json.dumps({"a": 1}))) == {"a": 1}
    assert decode('"just text"') == "just text"


def test_decode_keeps_text_that_is_not_json() -> None:
    assert decode("Hello {world}") == "Hello {world}"
    assert decode("{broken") == "{broken"
    assert decode(None) is None


# -- Plain text ----------------------------------------------------------------------------------


def test_plain_text_is_a_user_message_on_input_and_assistant_on_output() -> None:
    assert parse_messages("hi", "input") == (text("user", "hi"),)
    assert parse_messages("hello", "output") == (text("assistant", "hello"),)
    assert parse_messages("   ") is None


def test_numbers_and_unknown_objects_are_not_messages() -> None:
    assert parse_messages(42) is None
    assert parse_messages({"documents": [1, 2], "k": 3}) is None
    assert parse_messages([1, 2, 3]) is None
    assert parse_messages([]) is None


# -- OpenAI --------------------------------------------------------------------------------------


def openai_conversation() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        {"role": "assistant", "content": "21°C and sunny."},
    ]


def test_openai_messages_with_tool_calls_and_results() -> None:
    messages = parse_messages(openai_conversation())
    assert roles(messages) == ["system", "user", "assistant", "tool", "assistant"]
    assert messages is not None
    call = messages[2].parts[0]
    assert (call.kind, call.name, call.call_id) == (TOOL_CALL, "get_weather", "call_1")
    assert json.loads(call.text) == {"city": "Paris"}
    result = messages[3].parts[0]
    assert (result.kind, result.call_id, result.text) == (TOOL_RESULT, "call_1", '{"temp": 21}')
    assert messages[4].text == "21°C and sunny."


def test_openai_request_body_and_completion_response() -> None:
    request = {"model": "gpt-4o", "messages": openai_conversation()[:2], "temperature": 0}
    assert roles(parse_messages(request)) == ["system", "user"]
    response = {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}}],
    }
    assert parse_messages(response, "output") == (text("assistant", "Hi!"),)


def test_openai_content_parts_with_image() -> None:
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 4096}},
            {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}},
        ],
    }
    parsed = parse_messages([message])
    assert parsed is not None
    assert kinds(parsed[0]) == [TEXT, IMAGE, IMAGE]
    assert parsed[0].parts[1].text.startswith("inline image, 3 KB")
    assert parsed[0].parts[2].text == "https://example.test/cat.png"


def test_legacy_function_call_and_choice_list() -> None:
    choices = [
        {
            "finish_reason": "function_call",
            "message": {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "lookup", "arguments": '{"q": 1}'},
            },
        }
    ]
    parsed = parse_messages(choices, "output")
    assert parsed is not None and parsed[0].parts[0].name == "lookup"


def test_openai_responses_items() -> None:
    body = {
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Think"}]},
            {"type": "function_call", "name": "search", "arguments": "{}", "call_id": "c9"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Done"}],
            },
        ]
    }
    parsed = parse_messages(body, "output")
    assert parsed is not None
    assert [kinds(m) for m in parsed] == [[THINKING], [TOOL_CALL], [TEXT]]
    assert parsed[0].parts[0].text == "Think"
    assert parsed[1].parts[0].call_id == "c9"


# -- Anthropic -------------------------------------------------------------------------------


def test_anthropic_blocks_tool_use_and_tool_result() -> None:
    body = {
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Look up order 7"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Need the tool."},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "tu_1", "name": "orders", "input": {"id": 7}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "tu_1",
                        "content": [{"type": "text", "text": "shipped"}],
                        "is_error": True,
                    }
                ],
            },
        ],
    }
    parsed = parse_messages(body)
    assert roles(parsed) == ["system", "user", "assistant", "tool"]
    assert parsed is not None
    assert kinds(parsed[2]) == [THINKING, TEXT, TOOL_CALL]
    assert json.loads(parsed[2].parts[2].text) == {"id": 7}
    result = parsed[3].parts[0]
    assert (result.text, result.call_id, result.is_error) == ("shipped", "tu_1", True)


def test_anthropic_response_message_and_base64_image() -> None:
    response = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "Hello"}],
        "stop_reason": "end_turn",
    }
    assert parse_messages(response, "output") == (text("assistant", "Hello"),)
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "QUJD" * 1000},
    }
    parsed = parse_messages([{"role": "user", "content": [image]}])
    assert parsed is not None and parsed[0].parts[0].text == "inline image, 2 KB"


# -- LangChain -------------------------------------------------------------------------------


def lc(cls: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", cls],
        "kwargs": kwargs,
    }


def test_langchain_constructor_serialisation() -> None:
    messages = [
        lc("SystemMessage", content="sys"),
        lc("HumanMessage", content="hi"),
        lc(
            "AIMessageChunk", content="", tool_calls=[{"name": "add", "args": {"a": 1}, "id": "t1"}]
        ),
        lc("ToolMessage", content="2", tool_call_id="t1", name="add"),
        lc("ChatMessage", content="x", role="critic"),
    ]
    parsed = parse_messages(messages)
    assert roles(parsed) == ["system", "user", "assistant", "tool", "critic"]
    assert parsed is not None
    assert parsed[2].parts[0].name == "add" and json.loads(parsed[2].parts[0].text) == {"a": 1}
    assert (parsed[3].parts[0].kind, parsed[3].parts[0].name) == (TOOL_RESULT, "add")


def test_langchain_type_dicts_and_message_to_dict() -> None:
    parsed = parse_messages(
        [
            {"type": "human", "content": "q"},
            {"type": "ai", "data": {"content": "a", "additional_kwargs": {}}},
        ]
    )
    assert parsed == (text("user", "q"), text("assistant", "a"))


def test_langchain_openai_tool_calls_in_additional_kwargs() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    parsed = parse_messages([lc("AIMessage", content="", additional_kwargs={"tool_calls": [call]})])
    assert parsed is not None and parsed[0].parts[0].name == "f"


def test_langchain_batch_and_llm_result() -> None:
    assert roles(parse_messages([[{"role": "user", "content": "a"}]])) == ["user"]
    result = {"generations": [[{"text": "out", "message": lc("AIMessage", content="out")}]]}
    assert parse_messages(result, "output") == (text("assistant", "out"),)
    assert parse_messages({"generations": [[{"text": "plain"}]]}, "output") == (
        text("assistant", "plain"),
    )


def test_langgraph_state_with_messages() -> None:
    state = {"messages": [{"type": "human", "content": "go"}]}
    assert parse_messages(state) == (text("user", "go"),)


# -- GenAI, OpenInference, Vercel, Gemini -------------------------------------------------------


def test_genai_parts_messages() -> None:
    messages = [
        {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "x", "name": "weather", "arguments": {"c": "Rome"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "x", "response": "hot"}]},
    ]
    parsed = parse_messages(messages)
    assert roles(parsed) == ["user", "assistant", "tool"]
    assert parsed is not None
    assert parsed[0].text == "Weather?"
    assert parsed[2].parts[0].text == "hot" and parsed[2].parts[0].kind == TOOL_RESULT


def test_openinference_rebuilt_messages() -> None:
    messages = [
        {"role": "user", "contents": [{"message_content": {"type": "text", "text": "hey"}}]},
        {
            "role": "assistant",
            "tool_calls": [
                {"tool_call": {"id": "1", "function": {"name": "f", "arguments": "{}"}}}
            ],
        },
    ]
    parsed = parse_messages(messages)
    assert parsed is not None
    assert parsed[0].text == "hey" and parsed[1].parts[0].name == "f"


def test_vercel_tool_parts() -> None:
    messages = [
        {
            "role": "assistant",
            "content": [
                {"type": "tool-call", "toolCallId": "v1", "toolName": "calc", "args": {"x": 2}}
            ],
        },
        {
            "role": "tool",
            "content": [
                {"type": "tool-result", "toolCallId": "v1", "toolName": "calc", "result": 4}
            ],
        },
    ]
    parsed = parse_messages(messages)
    assert parsed is not None
    assert parsed[0].parts[0].name == "calc"
    assert parsed[1].parts[0].kind == TOOL_RESULT and parsed[1].parts[0].text == "4"


def test_gemini_contents() -> None:
    parsed = parse_messages(
        [{"role": "model", "parts": [{"text": "ok"}, {"functionCall": {"name": "g", "args": {}}}]}]
    )
    assert parsed is not None
    assert parsed[0].role == "assistant" and kinds(parsed[0]) == [TEXT, TOOL_CALL]


def test_unknown_block_kept_as_json() -> None:
    parsed = parse_messages([{"role": "user", "content": [{"type": "audio", "bytes": 3}]}])
    assert parsed is not None and parsed[0].parts[0].kind == JSON


# -- @observe arguments and one-value objects ----------------------------------------------


def test_observe_arguments_with_one_value() -> None:
    assert parse_messages({"args": ["What now?"], "kwargs": {}}) == (text("user", "What now?"),)
    assert parse_messages({"args": [], "kwargs": {"question": "Why?"}}) == (text("user", "Why?"),)
    assert parse_messages({"args": ["a", "b"], "kwargs": {}}) is None


def test_one_key_object_with_text() -> None:
    assert parse_messages({"answer": "42"}, "output") == (text("assistant", "42"),)


# -- History ------------------------------------------------------------------------------------


def chat(*pairs: tuple[str, str]) -> tuple[Message, ...]:
    return tuple(text(role, content) for role, content in pairs)


def test_repeated_history_is_skipped() -> None:
    first_in = chat(("system", "S"), ("user", "u1"))
    first_out = chat(("assistant", "a1"))
    second_in = chat(("system", "S"), ("user", "u1"), ("assistant", "a1"), ("user", "u2"))
    assert new_messages(first_in, first_out, second_in) == 3


def test_history_matches_despite_formatting_of_tool_arguments() -> None:
    call = Message("assistant", (Part(TOOL_CALL, '{"a": 1, "b": 2}', "f", "c1"),))
    resent = Message("assistant", (Part(TOOL_CALL, '{"b":2,"a":1}', "f", "c1"),))
    previous_in = chat(("user", "go"))
    assert new_messages(previous_in, (call,), (*previous_in, resent, text("tool", "r"))) == 2


def test_history_not_skipped_when_the_input_does_not_start_with_the_previous_one() -> None:
    previous = chat(("user", "u1"))
    assert new_messages(previous, chat(("assistant", "a")), chat(("user", "other"))) == 0
    assert new_messages(None, None, previous) == 0


def test_only_the_matching_part_of_the_previous_output_is_skipped() -> None:
    previous_in = chat(("user", "u1"))
    previous_out = chat(("assistant", "final answer"))
    current = chat(("user", "u1"), ("assistant", "summarised answer"), ("user", "u2"))
    assert new_messages(previous_in, previous_out, current) == 1


def test_output_that_echoes_the_input_state() -> None:
    inputs = chat(("user", "q"))
    outputs = chat(("user", "q"), ("assistant", "a"))
    assert echoed_input(inputs, outputs) == 1
    assert echoed_input(inputs, chat(("assistant", "a"))) == 0


def test_message_text_joins_text_parts_only() -> None:
    message = Message("user", (Part(TEXT, "a"), Part(TOOL_CALL, "{}", "f"), Part(TEXT, "b")))
    assert message.text == "a\nb"
