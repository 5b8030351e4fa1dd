"""The seed's Python snippets (seeds/004, the "Sessions" page), run unchanged on langfuse 3.x.

    python langfuse3_seed_snippets.py NESTED_SESSION_ID

Runs the three snippets as the page shows them (their session ids are the page's literals:
"your-session-id" twice and "chat-session-123"), then `update_current_trace(session_id=...)`
called in a nested function, where only that one span carries the id on the wire.
Prints {"auth_check": bool, "traces": {trace_id: [names]}} for the nested case on stdout.
"""

from __future__ import annotations

import json
import sys

from langfuse import get_client, observe

# --- Snippet 1: the decorator (the page's "... processing ..." placeholder filled in) ---


@observe()
def process_request():
    # 获取客户端实例
    langfuse = get_client()

    # 为当前 Trace 添加 session_id
    langfuse.update_current_trace(session_id="your-session-id")

    # ... 处理逻辑 ...
    result = "processed"
    return result


def snippet_span_update_trace() -> None:
    """Snippet 2: a root span, `update_trace`, and a generation under it."""
    langfuse = get_client()

    # 在创建根 Span 时设置 session_id
    with langfuse.start_as_current_span(name="process-chat-message") as root_span:
        # 为 Trace 添加 session_id
        root_span.update_trace(session_id="chat-session-123")

        # 该 Trace 下的所有 Span 都属于同一个会话
        with root_span.start_as_current_generation(
            name="generate-response",
            model="gpt-4o",
        ) as gen:  # noqa: F841 (the page's code, kept as written)
            # ... 生成响应 ...
            pass


def snippet_update_without_span() -> None:
    """Snippet 3: update the current trace without a reference to the span."""
    langfuse = get_client()

    with langfuse.start_as_current_span(name="another-operation"):
        # 为当前 Trace 添加 session_id
        langfuse.update_current_trace(session_id="your-session-id")


# --- The nested case: only `nested-child` carries the session id -------------------------


@observe(name="nested-grandchild")
def nested_grandchild() -> None:
    pass


@observe(name="nested-child")
def nested_child(session_id: str) -> None:
    get_client().update_current_trace(session_id=session_id)
    nested_grandchild()


@observe(name="nested-sibling")
def nested_sibling() -> None:
    pass


@observe(name="nested-root")
def nested_root(session_id: str) -> str:
    nested_child(session_id)
    nested_sibling()
    trace_id = get_client().get_current_trace_id()
    assert trace_id is not None
    return trace_id


def main(nested_session_id: str) -> None:
    authenticated = get_client().auth_check()
    process_request()
    snippet_span_update_trace()
    snippet_update_without_span()
    trace_id = nested_root(nested_session_id)
    get_client().flush()
    names = ["nested-root", "nested-child", "nested-grandchild", "nested-sibling"]
    print(json.dumps({"auth_check": authenticated, "traces": {trace_id: names}}))


if __name__ == "__main__":
    main(sys.argv[1])
