"""The seed document's Python snippets (seeds/004), with `skein` in place of `langfuse`.

Each snippet is copied as written; only the import changed and the placeholders
(`# ... 处理逻辑 ...`, `result`) got a value. Every span of each trace must end up in the
snippet's session, whichever span the snippet set it on.
"""

from __future__ import annotations

from skein import get_client, observe
from tests.sdk.conftest import Traced, session_ids


def test_observe_with_update_current_trace(traced: Traced) -> None:
    @observe()
    def process_request() -> str:
        # 获取客户端实例
        langfuse = get_client()

        # 为当前 Trace 添加 session_id
        langfuse.update_current_trace(session_id="your-session-id")

        # ... 处理逻辑 ...
        result = "processed"
        return result

    assert process_request() == "processed"

    spans = traced.spans()
    assert session_ids(spans) == {"process_request": "your-session-id"}
    assert spans[0].attributes is not None
    assert spans[0].attributes["langfuse.observation.output"] == "processed"


def test_root_span_update_trace_and_generation(traced: Traced) -> None:
    langfuse = get_client()

    # 在创建根 Span 时设置 session_id
    with langfuse.start_as_current_span(name="process-chat-message") as root_span:
        # 为 Trace 添加 session_id
        root_span.update_trace(session_id="chat-session-123")

        # 该 Trace 下的所有 Span 都属于同一个会话
        with root_span.start_as_current_generation(name="generate-response", model="gpt-4o") as gen:
            # ... 生成响应 ...
            pass

    spans = traced.by_name()
    assert session_ids(list(spans.values())) == {
        "process-chat-message": "chat-session-123",
        "generate-response": "chat-session-123",
    }
    generation = spans["generate-response"]
    assert generation.attributes is not None
    assert generation.attributes["langfuse.observation.type"] == "generation"
    assert generation.attributes["langfuse.observation.model.name"] == "gpt-4o"
    assert generation.parent is not None
    assert generation.parent.span_id == spans["process-chat-message"].context.span_id
    assert gen.trace_id == root_span.trace_id


def test_update_current_trace_without_a_span_reference(traced: Traced) -> None:
    langfuse = get_client()

    with langfuse.start_as_current_span(name="another-operation"):
        # 为当前 Trace 添加 session_id
        langfuse.update_current_trace(session_id="your-session-id")

    assert session_ids(traced.spans()) == {"another-operation": "your-session-id"}
