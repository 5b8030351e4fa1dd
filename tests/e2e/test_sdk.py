"""Skein's own Python SDK against a real server: the seed's snippets, async, threads, LangChain.

Each client program below runs as a subprocess (`python -c PROGRAM`) configured only through
the `LANGFUSE_*` environment variables the conftest sets, exactly as an application that
switched from `langfuse` would be. Afterwards the test reads the server's database and checks
that each session holds exactly the expected traces with all their observations, and that the
SDK put the session id on every span itself (not only that the server folded it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import pytest

from skein import Skein
from tests.e2e.conftest import ClientRun, Server, name_counts, sorted_names

pytestmark = pytest.mark.e2e

# The seed page's three Python snippets with only the import changed; the placeholders got a
# value. Nothing flushes: the SDK's exit hook must send the spans.
SEED_SNIPPETS = """
from skein import observe, get_client

@observe()
def process_request():
    # 获取客户端实例
    langfuse = get_client()

    # 为当前 Trace 添加 session_id
    langfuse.update_current_trace(session_id="your-session-id")

    # ... 处理逻辑 ...
    result = "processed"
    return result

process_request()

langfuse = get_client()

# 在创建根 Span 时设置 session_id
with langfuse.start_as_current_span(
    name="process-chat-message"
) as root_span:
    # 为 Trace 添加 session_id
    root_span.update_trace(session_id="chat-session-123")

    # 该 Trace 下的所有 Span 都属于同一个会话
    with root_span.start_as_current_generation(
        name="generate-response",
        model="gpt-4o"
    ) as gen:
        # ... 生成响应 ...
        pass

with langfuse.start_as_current_span(name="another-operation"):
    # 为当前 Trace 添加 session_id
    langfuse.update_current_trace(session_id="your-session-id")

print('{"done": true}')
"""

# A session id set late in a grandchild; siblings end before and start after it.
NESTED_LATE_UPDATE = """
import json, sys
from skein import get_client, observe

session_id, user_id = sys.argv[1], sys.argv[2]
usage = {"input": 12, "output": 5, "total": 17}

@observe()
def grandchild():
    get_client().update_current_trace(session_id=session_id, user_id=user_id)

@observe()
def child():
    grandchild()

@observe()
def sibling_before():
    with get_client().start_as_current_generation(
        name="early-generation", model="gpt-4o-mini", usage_details=usage
    ):
        pass

@observe()
def sibling_after():
    return "after"

@observe()
def root():
    sibling_before()
    child()
    sibling_after()
    return get_client().get_current_trace_id()

trace_id = root()
get_client().flush()
names = ["root", "sibling_before", "early-generation", "child", "grandchild", "sibling_after"]
print(json.dumps({"traces": {trace_id: names}, "usage": usage}))
"""

ASYNC_GATHER = """
import asyncio, json, sys
import skein
from skein import get_client, observe

session_id = sys.argv[1]

@observe(as_type="generation")
async def step(index):
    await asyncio.sleep(0.01 * (3 - index))
    get_client().update_current_generation(
        model="gpt-4o-mini", usage_details={"input": index + 1, "output": 1, "total": index + 2}
    )
    return index

@observe()
async def conversation():
    with skein.session(session_id, user_id="async-user"):
        await asyncio.gather(*(step(index) for index in range(3)))
    return get_client().get_current_trace_id()

trace_id = asyncio.run(conversation())
get_client().flush()
print(json.dumps({"traces": {trace_id: ["conversation", "step", "step", "step"]}}))
"""

THREAD_POOL = """
import json, sys, threading
import skein
from skein import get_client, observe

session_id = sys.argv[1]

@observe()
def work(index):
    return index * 2

@observe()
def in_thread():
    return threading.current_thread().name

@observe()
def root():
    with skein.session(session_id):
        with skein.ContextExecutor(max_workers=3) as pool:
            list(pool.map(work, range(4)))
        thread = threading.Thread(target=skein.bind_context(in_thread))
        thread.start()
        thread.join()
    return get_client().get_current_trace_id()

trace_id = root()
get_client().flush()
print(json.dumps({"traces": {trace_id: ["root", "in_thread"] + ["work"] * 4}}))
"""

LANGCHAIN = """
import json, sys
from typing import TypedDict
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langgraph.graph import END, START, StateGraph
from skein import get_client
from skein.langchain import CallbackHandler

prefix = sys.argv[1]

def model(tokens):
    usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
    reply = AIMessage(content="Paris.", usage_metadata=usage)
    return GenericFakeChatModel(messages=iter([reply]), metadata={"ls_model_name": "fake-4o"})

prompt = ChatPromptTemplate.from_messages([("human", "Capital of {country}?")])
runs = {}

handler = CallbackHandler()
(prompt | model((11, 7))).invoke(
    {"country": "France"},
    config={"callbacks": [handler], "metadata": {"langfuseSessionId": prefix + "-camel"}},
)
runs[prefix + "-camel"] = {"trace_id": handler.last_trace_id, "input": 11, "output": 7}

handler = CallbackHandler(session_id=prefix + "-direct", user_id="lc-user")
model((5, 3)).invoke("Capital of France?", config={"callbacks": [handler]})
runs[prefix + "-direct"] = {"trace_id": handler.last_trace_id, "input": 5, "output": 3}

class State(TypedDict):
    text: str

graph = StateGraph(State)
graph.add_node("first", lambda state: {"text": state["text"] + "a"})
graph.add_node("second", lambda state: {"text": state["text"] + "b"})
graph.add_edge(START, "first")
graph.add_edge("first", "second")
graph.add_edge("second", END)
handler = CallbackHandler()
graph.compile().invoke(
    {"text": ""}, config={"callbacks": [handler], "configurable": {"thread_id": prefix + "-graph"}}
)
runs[prefix + "-graph"] = {"trace_id": handler.last_trace_id, "input": 0, "output": 0}

get_client().flush()
print(json.dumps({"runs": runs}))
"""


def run_program(server: Server, program: str, *arguments: str) -> ClientRun:
    run = server.run_client([sys.executable, "-c", program, *arguments])
    assert "could not export" not in run.stderr, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return run


def assert_every_span_carries(server: Server, trace_ids: Sequence[str], session_id: str) -> None:
    """The SDK itself put SESSION_ID on every span (read from each stored observation)."""
    with server.read() as view:
        for trace_id in trace_ids:
            observations = view.observations(trace_id)
            assert observations, f"no observations stored for trace {trace_id}"
            carried = {o.name: o.trace.session_id for o in observations}
            assert set(carried.values()) == {session_id}, carried


@pytest.fixture(scope="module")
def seed_run(skein_server: Server) -> ClientRun:
    return run_program(skein_server, SEED_SNIPPETS)


def test_seed_snippets_land_in_their_sessions(skein_server: Server, seed_run: ClientRun) -> None:
    with skein_server.read() as view:
        your_session = view.session_contents("your-session-id")
        chat_session = view.session_contents("chat-session-123")
        view.checked_session("your-session-id")
        traces = view.traces("your-session-id") + view.traces("chat-session-123")

    assert name_counts(your_session) == name_counts(
        {"a": ["process_request"], "b": ["another-operation"]}
    )
    assert name_counts(chat_session) == name_counts(
        {"c": ["generate-response", "process-chat-message"]}
    )
    assert {trace.session_source for trace in traces} == {"session.id"}
    assert_every_span_carries(skein_server, list(chat_session), "chat-session-123")


def test_seed_generation_is_stored_as_a_generation(
    skein_server: Server, seed_run: ClientRun
) -> None:
    with skein_server.read() as view:
        (trace_id,) = view.session_contents("chat-session-123")
        observations = {o.name: o for o in view.observations(trace_id)}

    generation = observations["generate-response"]
    assert (generation.type, generation.model) == ("GENERATION", "gpt-4o")
    assert generation.parent_id == observations["process-chat-message"].id
    assert observations["process-chat-message"].is_root


def test_a_late_nested_update_puts_the_whole_trace_in_the_session(skein_server: Server) -> None:
    session_id, user_id = "sdk-nested-late", "sdk-user-1"
    run = run_program(skein_server, NESTED_LATE_UPDATE, session_id, user_id)

    with skein_server.read() as view:
        contents = view.session_contents(session_id)
        session = view.checked_session(session_id)
        (trace,) = view.traces(session_id)

    assert contents == sorted_names(run.report["traces"])
    assert (trace.user_id, trace.session_source) == (user_id, "session.id")
    assert session.total_tokens == run.report["usage"]["total"]
    assert_every_span_carries(skein_server, list(contents), session_id)


def test_asyncio_gather_is_one_trace_in_the_session(skein_server: Server) -> None:
    session_id = "sdk-async-gather"
    run = run_program(skein_server, ASYNC_GATHER, session_id)

    with skein_server.read() as view:
        contents = view.session_contents(session_id)
        session = view.checked_session(session_id)

    assert contents == sorted_names(run.report["traces"])
    assert (session.input_tokens, session.total_tokens) == (1 + 2 + 3, 2 + 3 + 4)
    assert session.user_ids == ("async-user",)
    assert_every_span_carries(skein_server, list(contents), session_id)


def test_thread_pool_and_plain_thread_stay_in_the_trace_and_session(skein_server: Server) -> None:
    session_id = "sdk-threads"
    run = run_program(skein_server, THREAD_POOL, session_id)

    with skein_server.read() as view:
        contents = view.session_contents(session_id)
        view.checked_session(session_id)

    assert contents == sorted_names(run.report["traces"])
    assert_every_span_carries(skein_server, list(contents), session_id)


@pytest.fixture(scope="module")
def langchain_runs(skein_server: Server) -> dict[str, Any]:
    runs: dict[str, Any] = run_program(skein_server, LANGCHAIN, "sdk-lc").report["runs"]
    return runs


@pytest.mark.parametrize("session_id", ["sdk-lc-camel", "sdk-lc-direct", "sdk-lc-graph"])
def test_langchain_runs_land_in_their_sessions_on_every_span(
    skein_server: Server, langchain_runs: dict[str, Any], session_id: str
) -> None:
    expected = langchain_runs[session_id]
    with skein_server.read() as view:
        traces = view.traces(session_id)
        session = view.checked_session(session_id)

    assert [trace.trace_id for trace in traces] == [expected["trace_id"]]
    assert (session.input_tokens, session.output_tokens) == (expected["input"], expected["output"])
    assert_every_span_carries(skein_server, [expected["trace_id"]], session_id)


def test_a_langgraph_run_keeps_its_node_structure(
    skein_server: Server, langchain_runs: dict[str, Any]
) -> None:
    with skein_server.read() as view:
        observations = {
            o.name: o for o in view.observations(langchain_runs["sdk-lc-graph"]["trace_id"])
        }

    root = observations["LangGraph"]
    assert root.is_root
    assert observations["first"].parent_id == root.id
    assert observations["second"].parent_id == root.id


def test_auth_check_against_the_server(skein_server: Server) -> None:
    good = Skein(
        base_url=skein_server.base_url,
        public_key=skein_server.public_key,
        secret_key=skein_server.secret_key,
    )
    bad = Skein(base_url=skein_server.base_url, public_key="pk-nope", secret_key="sk-nope")
    try:
        assert good.auth_check() is True
        assert bad.auth_check() is False
    finally:
        good.shutdown()
        bad.shutdown()
