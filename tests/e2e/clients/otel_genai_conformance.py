"""Plain OpenTelemetry (SDK + an OTLP/HTTP exporter) with the GenAI semantic conventions.

    python otel_genai_conformance.py {protobuf|json} PREFIX

`protobuf` exports with `opentelemetry-exporter-otlp-proto-http` (gzip), `json` with
`opentelemetry-exporter-otlp-json-http` (OTLP/JSON, uncompressed), both to
`$LANGFUSE_BASE_URL/v1/traces` with HTTP Basic `$LANGFUSE_PUBLIC_KEY:$LANGFUSE_SECRET_KEY`.
Three traces, one per generation of the conventions, in the session `PREFIX`:

- `events`: `invoke_agent` root with `gen_ai.conversation.id` and `user.id`; a chat span
  whose messages are span events (`gen_ai.system.message`, `gen_ai.user.message`,
  `gen_ai.choice`); an `execute_tool` span.
- `attributes`: the id only on the chat span; messages as `gen_ai.system_instructions`,
  `gen_ai.input.messages`, `gen_ai.output.messages` (the current conventions), cached
  input tokens; an `embeddings` span.
- `details`: messages in one `gen_ai.client.inference.operation.details` span event;
  the user as `enduser.id`.

Prints {"session_id", "user_ids", "traces": {trace_id: {name: spec}}} (see conformance.py).
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, Tracer, format_trace_id

SYSTEM = "You are a travel assistant."
QUESTION = "Will it rain in Paris tomorrow?"
ANSWER = "Light rain is expected in Paris tomorrow."
MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"


def exporter(encoding: str) -> SpanExporter:
    credentials = f"{os.environ['LANGFUSE_PUBLIC_KEY']}:{os.environ['LANGFUSE_SECRET_KEY']}"
    endpoint = os.environ["LANGFUSE_BASE_URL"].rstrip("/") + "/v1/traces"
    headers = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    if encoding == "json":
        from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint, headers=headers)
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as ProtobufExporter,
    )

    return ProtobufExporter(endpoint=endpoint, headers=headers, compression=Compression.Gzip)


def set_chat_attributes(span: Span, usage: tuple[int, int]) -> None:
    span.set_attribute("gen_ai.operation.name", "chat")
    span.set_attribute("gen_ai.provider.name", "openai")
    span.set_attribute("gen_ai.request.model", MODEL)
    span.set_attribute("gen_ai.response.model", RESPONSE_MODEL)
    span.set_attribute("gen_ai.request.temperature", 0.3)
    span.set_attribute("gen_ai.usage.input_tokens", usage[0])
    span.set_attribute("gen_ai.usage.output_tokens", usage[1])


def chat_spec(usage: dict[str, int]) -> dict[str, Any]:
    return {
        "type": "GENERATION",
        "model": RESPONSE_MODEL,
        "usage": usage,
        "priced": True,
        "input": QUESTION,
        "output": ANSWER,
    }


def events_trace(tracer: Tracer, session_id: str, user_id: str) -> tuple[str, dict[str, Any]]:
    with tracer.start_as_current_span("invoke_agent travel-agent") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "travel-agent")
        root.set_attribute("gen_ai.conversation.id", session_id)
        root.set_attribute("user.id", user_id)
        with tracer.start_as_current_span(f"chat {MODEL}") as chat:
            set_chat_attributes(chat, (31, 9))
            chat.add_event("gen_ai.system.message", {"content": SYSTEM})
            chat.add_event("gen_ai.user.message", {"content": QUESTION})
            message = json.dumps({"role": "assistant", "content": ANSWER})
            chat.add_event(
                "gen_ai.choice", {"index": 0, "finish_reason": "stop", "message": message}
            )
        with tracer.start_as_current_span("execute_tool get_weather") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "get_weather")
            tool.set_attribute("gen_ai.tool.call.id", "call_1")
            tool.set_attribute("gen_ai.tool.call.arguments", '{"city": "Paris"}')
            tool.set_attribute("gen_ai.tool.call.result", '{"rain_mm": 3}')
        trace_id = format_trace_id(root.get_span_context().trace_id)
    return trace_id, {
        "invoke_agent travel-agent": {"type": "AGENT"},
        f"chat {MODEL}": chat_spec({"input": 31, "output": 9}),
        "get_weather": {"type": "TOOL", "input": "Paris", "output": "rain_mm"},
    }


def attributes_trace(tracer: Tracer, session_id: str, user_id: str) -> tuple[str, dict[str, Any]]:
    inputs = [{"role": "user", "parts": [{"type": "text", "content": QUESTION}]}]
    outputs = [{"role": "assistant", "parts": [{"type": "text", "content": ANSWER}]}]
    with tracer.start_as_current_span("agent-turn") as root:
        root.set_attribute("user.id", user_id)
        with tracer.start_as_current_span(f"chat {MODEL}") as chat:
            chat.set_attribute("gen_ai.conversation.id", session_id)
            set_chat_attributes(chat, (120, 15))
            chat.set_attribute("gen_ai.usage.cache_read.input_tokens", 100)
            chat.set_attribute(
                "gen_ai.system_instructions", json.dumps([{"type": "text", "content": SYSTEM}])
            )
            chat.set_attribute("gen_ai.input.messages", json.dumps(inputs))
            chat.set_attribute("gen_ai.output.messages", json.dumps(outputs))
        with tracer.start_as_current_span("embeddings text-embedding-3-small") as embedding:
            embedding.set_attribute("gen_ai.operation.name", "embeddings")
            embedding.set_attribute("gen_ai.request.model", "text-embedding-3-small")
            embedding.set_attribute("gen_ai.usage.input_tokens", 7)
        trace_id = format_trace_id(root.get_span_context().trace_id)
    usage = {"input": 20, "input_cached_tokens": 100, "output": 15}
    return trace_id, {
        "agent-turn": {"type": "SPAN"},
        f"chat {MODEL}": {**chat_spec(usage), "input": SYSTEM},
        "embeddings text-embedding-3-small": {
            "type": "EMBEDDING",
            "model": "text-embedding-3-small",
            "usage": {"input": 7},
        },
    }


def details_trace(tracer: Tracer, session_id: str, user_id: str) -> tuple[str, dict[str, Any]]:
    inputs = [{"role": "user", "parts": [{"type": "text", "content": QUESTION}]}]
    outputs = [{"role": "assistant", "parts": [{"type": "text", "content": ANSWER}]}]
    with tracer.start_as_current_span(f"chat {MODEL}") as chat:
        chat.set_attribute("gen_ai.conversation.id", session_id)
        chat.set_attribute("enduser.id", user_id)
        set_chat_attributes(chat, (44, 11))
        details = {
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": json.dumps(inputs),
            "gen_ai.output.messages": json.dumps(outputs),
        }
        chat.add_event("gen_ai.client.inference.operation.details", details)
        trace_id = format_trace_id(chat.get_span_context().trace_id)
    return trace_id, {f"chat {MODEL}": chat_spec({"input": 44, "output": 11})}


def main(encoding: str, prefix: str) -> None:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter(encoding)))
    tracer = provider.get_tracer("skein-e2e-otel-genai")
    user_id = f"{prefix}-user"
    traces = dict(
        make(tracer, prefix, user_id) for make in (events_trace, attributes_trace, details_trace)
    )
    provider.shutdown()
    print(json.dumps({"session_id": prefix, "user_id": user_id, "traces": traces}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
