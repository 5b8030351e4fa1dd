"""OpenInference's LangChain instrumentation, exported by the OpenTelemetry SDK to the server.

    python openinference_langchain.py PREFIX

`LangChainInstrumentor` traces a `prompt | model` chain (a fake chat model reporting usage
and a model name, no network) inside `using_session(PREFIX-session)` +
`using_user(PREFIX-user)`, twice (two turns: two traces of one session), and once more
with `using_attributes(session_id=PREFIX-attributes)`. Exported with the OTLP/HTTP
protobuf exporter to `$LANGFUSE_BASE_URL/v1/traces` (HTTP Basic with the Langfuse keys).
Prints {"sessions": {session_id: {"user_id", "traces": {trace_id: {name: spec}}}}}.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from openinference.instrumentation import using_attributes, using_session, using_user
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

ANSWER = "Paris is the capital of France."
QUESTION = "What is the capital of France?"
MODEL = "gpt-4o-mini"


def provider_for_server() -> TracerProvider:
    credentials = f"{os.environ['LANGFUSE_PUBLIC_KEY']}:{os.environ['LANGFUSE_SECRET_KEY']}"
    exporter = OTLPSpanExporter(
        endpoint=os.environ["LANGFUSE_BASE_URL"].rstrip("/") + "/v1/traces",
        headers={"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()},
    )
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def run_chain(tokens: tuple[int, int]) -> tuple[str, dict[str, Any]]:
    """One chain run in the current context; its trace id and what it sent."""
    usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
    reply = AIMessage(
        content=ANSWER,
        usage_metadata=usage,  # type: ignore[arg-type]
        response_metadata={"model_name": MODEL},
    )
    model = GenericFakeChatModel(messages=iter([reply]), metadata={"ls_model_name": MODEL})
    prompt = ChatPromptTemplate.from_messages([("human", "What is the capital of {country}?")])
    tracer = trace.get_tracer("skein-e2e-openinference")
    with tracer.start_as_current_span("conversation-turn") as turn:
        (prompt | model).invoke({"country": "France"})
        trace_id = trace.format_trace_id(turn.get_span_context().trace_id)
    generation = {
        "type": "GENERATION",
        "model": MODEL,
        "priced": True,
        "usage": {"input": tokens[0], "output": tokens[1], "total": sum(tokens)},
        "input": QUESTION,
        "output": ANSWER,
    }
    return trace_id, {
        "GenericFakeChatModel": generation,
        "RunnableSequence": {"type": "CHAIN", "input": "France", "output": ANSWER},
    }


def main(prefix: str) -> None:
    provider = provider_for_server()
    trace.set_tracer_provider(provider)
    LangChainInstrumentor().instrument(tracer_provider=provider)
    session_id, user_id = f"{prefix}-session", f"{prefix}-user"
    with using_session(session_id), using_user(user_id):
        turns = dict(run_chain(tokens) for tokens in ((12, 6), (15, 8)))
    attributes_session = f"{prefix}-attributes"
    with using_attributes(session_id=attributes_session, user_id=user_id):
        single = dict([run_chain((9, 4))])
    provider.shutdown()
    sessions = {
        session_id: {"user_id": user_id, "traces": turns},
        attributes_session: {"user_id": user_id, "traces": single},
    }
    print(json.dumps({"sessions": sessions}))


if __name__ == "__main__":
    main(sys.argv[1])
