"""`skein.langchain.CallbackHandler` with langchain-core's fake chat models and LangGraph.

No network: the models are langchain-core's fakes, the spans go to an in-memory exporter.
The session must be on every span of a run, whichever way it was given.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import ReadableSpan

from skein import get_client, observe
from skein.langchain import CallbackHandler
from skein.sdk import attributes as keys
from skein.sdk.registry import PROCESS
from tests.sdk.conftest import Traced, make_traced


@pytest.fixture
def traced() -> Iterator[Traced]:
    PROCESS.forget_warnings()
    made = make_traced()
    yield made
    made.client.shutdown()


def fake_model(content: str = "Paris.", tokens: tuple[int, int] = (11, 7)) -> GenericFakeChatModel:
    usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
    reply = AIMessage(content=content, usage_metadata=usage)  # type: ignore[arg-type]
    return GenericFakeChatModel(messages=iter([reply]), metadata={"ls_model_name": "fake-4o"})


def capital_chain(model: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages([("human", "Capital of {country}?")])
    return prompt | model


def values_of(spans: list[ReadableSpan], key: str) -> dict[str, Any]:
    return {span.name: (span.attributes or {}).get(key) for span in spans}


@pytest.mark.parametrize(
    "session_key",
    ["langfuse_session_id", "langfuseSessionId", "session_id", "sessionId", "thread_id"],
)
def test_session_from_run_metadata_reaches_every_span(traced: Traced, session_key: str) -> None:
    config: RunnableConfig = {
        "callbacks": [CallbackHandler()],
        "metadata": {session_key: "s-meta", "langfuseUserId": "u-meta"},
    }
    capital_chain(fake_model()).invoke({"country": "France"}, config=config)

    spans = traced.spans()
    assert sorted(span.name for span in spans) == [
        "ChatPromptTemplate",
        "GenericFakeChatModel",
        "RunnableSequence",
    ]
    assert set(values_of(spans, keys.SESSION_ID).values()) == {"s-meta"}
    assert set(values_of(spans, keys.USER_ID).values()) == {"u-meta"}
    assert len({span.context.trace_id for span in spans}) == 1


def test_constructor_values_reach_every_span_and_beat_metadata(traced: Traced) -> None:
    handler = CallbackHandler(
        session_id="s-ctor",
        user_id="u-ctor",
        tags=["prod"],
        metadata={"team": "search"},
        trace_name="capital-lookup",
    )
    config: RunnableConfig = {"callbacks": [handler], "metadata": {"session_id": "s-meta"}}
    capital_chain(fake_model()).invoke({"country": "France"}, config=config)

    spans = traced.spans()
    assert len(spans) == 3
    for key, expected in [
        (keys.SESSION_ID, "s-ctor"),
        (keys.USER_ID, "u-ctor"),
        (keys.TRACE_TAGS, ("prod",)),
        (keys.TRACE_NAME, "capital-lookup"),
        ("langfuse.trace.metadata.team", "search"),
    ]:
        assert set(values_of(spans, key).values()) == {expected}, key
    assert handler.last_trace_id == f"{spans[0].context.trace_id:032x}"


def test_a_chat_model_invoked_directly_gets_the_session(traced: Traced) -> None:
    model = fake_model(tokens=(11, 7))
    config: RunnableConfig = {
        "callbacks": [CallbackHandler()],
        "metadata": {"langfuseSessionId": "s-direct"},
    }
    model.invoke("Capital of France?", config=config)

    (generation,) = traced.spans()
    values = generation.attributes or {}
    assert values[keys.SESSION_ID] == "s-direct"
    assert values[keys.OBSERVATION_TYPE] == "generation"
    assert values[keys.MODEL_NAME] == "fake-4o"
    assert json.loads(str(values[keys.USAGE_DETAILS])) == {"input": 11, "output": 7, "total": 18}
    assert json.loads(str(values[keys.OBSERVATION_INPUT])) == [
        {"role": "user", "content": "Capital of France?"}
    ]


def test_a_direct_call_with_only_a_constructor_session(traced: Traced) -> None:
    FakeListChatModel(responses=["hi"]).invoke(
        "hello", config={"callbacks": [CallbackHandler(session_id="s-ctor-direct")]}
    )
    (generation,) = traced.spans()
    values = generation.attributes or {}
    assert values[keys.SESSION_ID] == "s-ctor-direct"
    assert json.loads(str(values[keys.OBSERVATION_OUTPUT])) == {
        "role": "assistant",
        "content": "hi",
    }


def test_tool_calls_are_captured_in_the_output(traced: Traced) -> None:
    reply = AIMessage(
        content="",
        tool_calls=[{"name": "lookup", "args": {"city": "Paris"}, "id": "call-1"}],
        usage_metadata={"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
    )
    model = GenericFakeChatModel(messages=iter([reply]))
    model.invoke("weather?", config={"callbacks": [CallbackHandler(session_id="s-tools")]})

    values = traced.spans()[0].attributes or {}
    output = json.loads(str(values[keys.OBSERVATION_OUTPUT]))
    assert output["tool_calls"] == [
        {"id": "call-1", "name": "lookup", "arguments": {"city": "Paris"}}
    ]


def test_tools_and_retrievers_are_typed(traced: Traced) -> None:
    @tool
    def word_count(text: str) -> int:
        """Count the words in TEXT."""
        return len(text.split())

    class Shelf(BaseRetriever):
        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun
        ) -> list[Document]:
            return [Document(page_content=f"about {query}", metadata={"page": 1})]

    handler = CallbackHandler(session_id="s-typed")
    assert word_count.invoke({"text": "a b c"}, config={"callbacks": [handler]}) == 3
    Shelf().invoke("paris", config={"callbacks": [handler]})

    spans = {span.name: span.attributes or {} for span in traced.spans()}
    assert spans["word_count"][keys.OBSERVATION_TYPE] == "tool"
    assert spans["word_count"][keys.OBSERVATION_OUTPUT] == "3"
    assert spans["Shelf"][keys.OBSERVATION_TYPE] == "retriever"
    assert json.loads(str(spans["Shelf"][keys.OBSERVATION_OUTPUT])) == [
        {"page_content": "about paris", "metadata": {"page": 1}}
    ]
    assert {values[keys.SESSION_ID] for values in spans.values()} == {"s-typed"}


class GraphState(TypedDict):
    text: str


def two_node_graph() -> Any:
    graph = StateGraph(GraphState)
    graph.add_node("first", lambda state: {"text": state["text"] + "a"})
    graph.add_node("second", lambda state: {"text": state["text"] + "b"})
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    graph.add_edge("second", END)
    return graph.compile()


def test_langgraph_thread_id_is_the_session_on_every_span(traced: Traced) -> None:
    config: RunnableConfig = {
        "callbacks": [CallbackHandler()],
        "configurable": {"thread_id": "t1"},
    }
    assert two_node_graph().invoke({"text": ""}, config=config) == {"text": "ab"}

    spans = {span.name: span for span in traced.spans()}
    assert {"LangGraph", "first", "second"} <= set(spans)
    assert set(values_of(list(spans.values()), keys.SESSION_ID).values()) == {"t1"}
    root = spans["LangGraph"]
    for node in ("first", "second"):
        parent = spans[node].parent
        assert parent is not None and parent.span_id == root.context.span_id


def test_a_chain_inside_observe_is_one_trace(traced: Traced) -> None:
    @observe()
    def answer(country: str) -> str:
        get_client().update_current_trace(session_id="s-observe")
        result = capital_chain(fake_model()).invoke(
            {"country": country}, config={"callbacks": [CallbackHandler()]}
        )
        return str(result.content)

    assert answer("France") == "Paris."
    spans = {span.name: span for span in traced.spans()}
    assert len({span.context.trace_id for span in spans.values()}) == 1
    sequence_parent = spans["RunnableSequence"].parent
    assert sequence_parent is not None
    assert sequence_parent.span_id == spans["answer"].context.span_id
    assert set(values_of(list(spans.values()), keys.SESSION_ID).values()) == {"s-observe"}


def test_async_invocation(traced: Traced) -> None:
    config: RunnableConfig = {
        "callbacks": [CallbackHandler()],
        "metadata": {"langfuse_session_id": "s-async"},
    }
    asyncio.run(capital_chain(fake_model()).ainvoke({"country": "France"}, config=config))

    spans = traced.spans()
    assert len(spans) == 3
    assert set(values_of(spans, keys.SESSION_ID).values()) == {"s-async"}


def test_a_failing_step_is_recorded_and_the_error_propagates(traced: Traced) -> None:
    def explode(_: Any) -> None:
        raise ValueError("step failed")

    chain = RunnableLambda(explode)
    with pytest.raises(ValueError, match="step failed"):
        chain.invoke("x", config={"callbacks": [CallbackHandler(session_id="s-error")]})

    (span,) = traced.spans()
    values = span.attributes or {}
    assert values[keys.OBSERVATION_LEVEL] == "ERROR"
    assert values[keys.SESSION_ID] == "s-error"


def test_a_bad_constructor_session_id_is_refused_without_breaking_the_run(traced: Traced) -> None:
    handler = CallbackHandler(session_id="x" * 500)
    assert FakeListChatModel(responses=["ok"]).invoke("hi", config={"callbacks": [handler]})
    (span,) = traced.spans()
    assert keys.SESSION_ID not in (span.attributes or {})


def test_a_clear_import_error_without_langchain_core() -> None:
    program = (
        "import sys\n"
        "sys.modules['langchain_core'] = None\n"
        "try:\n"
        "    import skein.langchain\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install langchain-core" in finished.stdout
