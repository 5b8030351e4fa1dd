from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skein.ingest.messages import (
    INPUT_INDEXED_PREFIXES,
    INPUT_KEYS,
    MAX_SLOTS,
    OUTPUT_INDEXED_PREFIXES,
    OUTPUT_KEYS,
    extract_input,
    extract_output,
    rebuild_indexed,
)
from tests.factories import make_event, make_span


def input_of(attributes: dict[str, Any], events: tuple[Any, ...] = ()) -> Any:
    found = extract_input(make_span(attributes=attributes, events=events))
    return None if found is None else found.value


def output_of(attributes: dict[str, Any], events: tuple[Any, ...] = ()) -> Any:
    found = extract_output(make_span(attributes=attributes, events=events))
    return None if found is None else found.value


# Each convention's input and output keys, in the order the rules are tried.
SIMPLE_INPUT_KEYS = [
    "langfuse.observation.input",
    "ai.prompt.messages",
    "ai.prompt",
    "ai.toolCall.args",
    "mlflow.spanInputs",
    "traceloop.entity.input",
    "input.value",
]
SIMPLE_OUTPUT_KEYS = [
    "langfuse.observation.output",
    "ai.response.text",
    "ai.result.text",
    "ai.toolCall.result",
    "ai.response.object",
    "mlflow.spanOutputs",
    "traceloop.entity.output",
    "output.value",
]


@pytest.mark.parametrize("key", SIMPLE_INPUT_KEYS)
def test_each_input_key_is_read_as_sent(key: str) -> None:
    found = extract_input(make_span(attributes={key: '{"q": 1}'}))
    assert found is not None
    assert (found.value, found.keys) == ('{"q": 1}', (key,))


@pytest.mark.parametrize("key", SIMPLE_OUTPUT_KEYS)
def test_each_output_key_is_read_as_sent(key: str) -> None:
    assert output_of({key: "answer"}) == "answer"


@pytest.mark.parametrize(
    ("keys", "side"), [(SIMPLE_INPUT_KEYS, "input"), (SIMPLE_OUTPUT_KEYS, "output")]
)
def test_earlier_conventions_win(keys: list[str], side: str) -> None:
    read = input_of if side == "input" else output_of
    attributes = {key: f"from {key}" for key in reversed(keys)}
    for key in keys:
        assert read(attributes) == f"from {key}"
        del attributes[key]


def test_sides_are_read_independently() -> None:
    attributes = {"input.value": "in", "gen_ai.output.messages": '[{"role": "assistant"}]'}
    assert (input_of(attributes), output_of(attributes)) == ("in", '[{"role": "assistant"}]')


def test_nothing_found() -> None:
    assert extract_input(make_span(attributes={"other": 1})) is None
    assert extract_output(make_span()) is None


def test_vercel_text_and_tool_calls_make_one_assistant_message() -> None:
    attributes = {
        "ai.response.text": "calling",
        "ai.response.toolCalls": '[{"toolName": "search"}]',
    }
    found = extract_output(make_span(attributes=attributes))
    assert found is not None
    assert found.value == {
        "role": "assistant",
        "content": "calling",
        "tool_calls": [{"toolName": "search"}],
    }
    assert set(found.keys) == {"ai.response.text", "ai.response.toolCalls"}


def test_vercel_tool_calls_alone() -> None:
    assert output_of({"ai.response.toolCalls": "[1]"}) == "[1]"


def test_genai_message_events_become_role_messages() -> None:
    events = (
        make_event("gen_ai.system.message", content="be terse"),
        make_event("unrelated", x=1),
        make_event("gen_ai.user.message", content="hi"),
        make_event("gen_ai.assistant.message", content="hello"),
        make_event("gen_ai.tool.message", content="42", id="call-1"),
    )
    assert input_of({}, events) == [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "tool", "content": "42", "id": "call-1"},
    ]


def test_a_role_attribute_on_the_event_wins() -> None:
    events = (make_event("gen_ai.user.message", role="human", content="hi"),)
    assert input_of({}, events) == [{"role": "human", "content": "hi"}]


def test_a_single_choice_event_is_unwrapped_and_several_are_a_list() -> None:
    one = (make_event("gen_ai.choice", index=0, message="a"),)
    two = (*one, make_event("gen_ai.choice", index=1, message="b"))
    assert output_of({}, one) == {"index": 0, "message": "a"}
    assert output_of({}, two) == [{"index": 0, "message": "a"}, {"index": 1, "message": "b"}]


def test_a_choice_message_sent_as_json_text_is_decoded() -> None:
    message = json.dumps({"role": "assistant", "content": "Paris"})
    events = (make_event("gen_ai.choice", index=0, message=message),)
    assert output_of({}, events) == {
        "index": 0,
        "message": {"role": "assistant", "content": "Paris"},
    }
    plain = (make_event("gen_ai.choice", index=0, message="not json"),)
    assert output_of({}, plain) == {"index": 0, "message": "not json"}


def test_the_operation_details_event_holds_the_messages() -> None:
    inputs = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}])
    outputs = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "yo"}]}])
    system = json.dumps([{"type": "text", "content": "be terse"}])
    details = {
        "gen_ai.input.messages": inputs,
        "gen_ai.output.messages": outputs,
        "gen_ai.system_instructions": system,
    }
    events = (make_event("gen_ai.client.inference.operation.details", **details),)
    span = make_span(events=events)
    found_input, found_output = extract_input(span), extract_output(span)
    assert found_input is not None and found_output is not None
    assert found_input.value == [
        {"role": "system", "content": json.loads(system)},
        *json.loads(inputs),
    ]
    assert found_output.value == outputs
    # Event attributes are not span attributes: none is reported as consumed.
    assert (found_input.keys, found_output.keys) == ((), ())


def test_message_events_win_over_the_operation_details_event() -> None:
    details = {"gen_ai.input.messages": "[]", "gen_ai.output.messages": "[]"}
    events = (
        make_event("gen_ai.client.inference.operation.details", **details),
        make_event("gen_ai.user.message", content="hi"),
        make_event("gen_ai.choice", index=0, message="yo"),
    )
    assert input_of({}, events) == [{"role": "user", "content": "hi"}]
    assert output_of({}, events) == {"index": 0, "message": "yo"}
    assert input_of({"input.value": "oi"}, events[:1]) == "[]"


def test_events_lose_to_langfuse_keys_but_beat_openinference() -> None:
    events = (make_event("gen_ai.user.message", content="event"),)
    assert input_of({"langfuse.observation.input": "lf", "input.value": "oi"}, events) == "lf"
    assert input_of({"input.value": "oi"}, events) == [{"role": "user", "content": "event"}]


def test_traceloop_indexed_prompt_and_completion_are_rebuilt() -> None:
    attributes = {
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "be terse",
        "gen_ai.prompt.1.content": "hi",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.tool_calls.1.name": "b",
        "gen_ai.completion.0.tool_calls.0.name": "a",
    }
    assert input_of(attributes) == [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "hi"},
    ]
    assert output_of(attributes) == [
        {"role": "assistant", "tool_calls": [{"name": "a"}, {"name": "b"}]},
    ]


def test_openinference_indexed_messages_drop_the_message_segment() -> None:
    attributes = {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "hi",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "hello",
    }
    assert input_of(attributes) == [{"role": "user", "content": "hi"}]
    assert output_of(attributes) == [{"role": "assistant", "content": "hello"}]


DEEP_KEY = "p.7." + ".".join(["d"] * 50)


def test_indexed_rebuild_is_bounded_and_skips_what_does_not_fit() -> None:
    attributes = {
        "p.5.content": "sparse index keeps its order",
        "p.2.content": "first",
        f"p.{MAX_SLOTS}.content": "index too high",
        "p.99999999999.content": "index far too high",
        "p.-1.content": "negative",
        "p.x.content": "not an index",
        "p.٣.content": "not an ASCII digit",
        "p.3": "no path",
        "p.2.content.part": "clashes with a value already set",
        DEEP_KEY: "deep path",
    }
    found = rebuild_indexed(attributes, "p.")
    assert found is not None
    [first, sparse, deep] = found.value
    assert first == {"content": "first"}
    assert sparse == {"content": "sparse index keeps its order"}
    assert json.dumps(deep).count("{") == 9  # nesting stops at MAX_PATH_DEPTH
    assert set(found.keys) == {"p.5.content", "p.2.content", DEEP_KEY}


def test_indexed_values_that_are_objects_are_not_turned_into_lists() -> None:
    found = rebuild_indexed({"p.0.content": {"0": "a", "1": "b"}}, "p.")
    assert found is not None
    assert found.value == [{"content": {"0": "a", "1": "b"}}]


def test_genai_messages_get_the_system_instructions_prepended() -> None:
    attributes = {
        "gen_ai.system_instructions": '[{"type": "text", "content": "be terse"}]',
        "gen_ai.input.messages": '[{"role": "user", "parts": []}]',
    }
    assert input_of(attributes) == [
        {"role": "system", "content": [{"type": "text", "content": "be terse"}]},
        {"role": "user", "parts": []},
    ]


def test_genai_system_instructions_alone_and_unparseable_messages() -> None:
    assert input_of({"gen_ai.system_instructions": "plain"}) == [
        {"role": "system", "content": "plain"}
    ]
    attributes = {"gen_ai.system_instructions": "plain", "gen_ai.input.messages": "not json"}
    assert input_of(attributes) == "not json"


def test_genai_messages_and_tool_calls() -> None:
    assert input_of({"gen_ai.input.messages": "[]"}) == "[]"
    assert input_of({"gen_ai.tool.call.arguments": '{"q": 1}'}) == '{"q": 1}'
    assert output_of({"gen_ai.tool.call.result": "42"}) == "42"
    assert output_of({"gen_ai.output.messages": "[1]", "gen_ai.tool.call.result": "2"}) == "[1]"


def test_indexed_keys_win_over_genai_message_attributes() -> None:
    attributes = {"gen_ai.prompt.0.content": "indexed", "gen_ai.input.messages": "[]"}
    assert input_of(attributes) == [{"content": "indexed"}]


# ── The keys each side reads (the mapper skips a side whose keys a span has none of) ──

# Every key the module docstring names, written out here, and a few that no rule reads.
CONVENTION_KEYS = [
    *SIMPLE_INPUT_KEYS,
    *SIMPLE_OUTPUT_KEYS,
    "ai.response.toolCalls",
    "ai.result.object",
    "ai.result.toolCalls",
    "gen_ai.prompt.0.role",
    "gen_ai.prompt.1.content",
    "gen_ai.completion.0.content",
    "llm.input_messages.0.message.content",
    "llm.output_messages.0.message.role",
    "gen_ai.input.messages",
    "gen_ai.system_instructions",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.prompt",
    "input",
    "output",
    "llm.invocation_parameters",
]
message_values = st.sampled_from(
    [None, "", "hi", '[{"role": "user", "content": "q"}]', '"quoted"', 3, ["a"], {"k": "v"}]
)


@given(st.dictionaries(st.sampled_from(CONVENTION_KEYS), message_values, max_size=6))
def test_each_side_reads_only_its_declared_keys(attributes: dict[str, Any]) -> None:
    for extract, keys, prefixes in (
        (extract_input, INPUT_KEYS, INPUT_INDEXED_PREFIXES),
        (extract_output, OUTPUT_KEYS, OUTPUT_INDEXED_PREFIXES),
    ):
        declared = {
            key: value
            for key, value in attributes.items()
            if key in keys or key.startswith(prefixes)
        }
        everything = extract(make_span(attributes=attributes))
        assert everything == extract(make_span(attributes=declared))
        if not declared:
            assert everything is None
