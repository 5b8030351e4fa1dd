"""LangChain through the Langfuse Python SDK 5.x `CallbackHandler`, with a fake chat model.

    python langfuse5_langchain.py SESSION_PREFIX

Four runs, each its own trace and session: a `prompt | model` chain and a chat model invoked
directly, each with the session id under `langfuse_session_id` (the key the SDK knows) and
under `langfuseSessionId` (which the Python SDK passes through as plain metadata).
Prints {"runs": {session_id: {"trace_id": ..., "usage": {...}}}} on stdout.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langfuse import get_client
from langfuse.langchain import CallbackHandler

SESSION_KEYS = {"snake": "langfuse_session_id", "camel": "langfuseSessionId"}


def fake_model(input_tokens: int, output_tokens: int) -> GenericFakeChatModel:
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    reply = AIMessage(content="Paris.", usage_metadata=usage)  # type: ignore[arg-type]
    return GenericFakeChatModel(messages=iter([reply]))


def run(shape: str, metadata: dict[str, str], tokens: tuple[int, int]) -> str | None:
    """Run one chain or direct model call with the handler; return the trace id it made."""
    handler = CallbackHandler()
    config: Any = {"callbacks": [handler], "metadata": metadata}
    model = fake_model(*tokens)
    if shape == "chain":
        prompt = ChatPromptTemplate.from_messages([("human", "Capital of {country}?")])
        (prompt | model).invoke({"country": "France"}, config=config)
    else:
        model.invoke("Capital of France?", config=config)
    return handler.last_trace_id


def main(prefix: str) -> None:
    runs = {}
    cases = [(shape, style) for shape in ("chain", "direct") for style in SESSION_KEYS]
    for number, (shape, style) in enumerate(cases):
        session_id = f"{prefix}-{shape}-{style}"
        tokens = (11 + number, 7 + 2 * number)
        trace_id = run(shape, {SESSION_KEYS[style]: session_id}, tokens)
        usage = {"input": tokens[0], "output": tokens[1], "total": sum(tokens)}
        runs[session_id] = {"trace_id": trace_id, "usage": usage}
    get_client().flush()
    print(json.dumps({"runs": runs}))


if __name__ == "__main__":
    main(sys.argv[1])
