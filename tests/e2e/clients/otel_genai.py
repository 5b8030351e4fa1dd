"""Plain OpenTelemetry (SDK + OTLP/HTTP protobuf exporter) with GenAI semantic conventions.

    python otel_genai.py SESSION_ID

Sends two traces to `$LANGFUSE_BASE_URL/v1/traces`, authenticated with HTTP Basic
`$LANGFUSE_PUBLIC_KEY:$LANGFUSE_SECRET_KEY`. The first carries `gen_ai.conversation.id` on
its root, the second only on its chat span. Prints {"traces": {trace_id: [names]},
"usage": {...}} on stdout; a rejected export is logged by the exporter, not raised.
"""

from __future__ import annotations

import base64
import json
import os
import sys

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer, format_trace_id

TURNS = ((21, 9), (17, 4))


def provider_for_server() -> TracerProvider:
    credentials = f"{os.environ['LANGFUSE_PUBLIC_KEY']}:{os.environ['LANGFUSE_SECRET_KEY']}"
    exporter = OTLPSpanExporter(
        endpoint=os.environ["LANGFUSE_BASE_URL"].rstrip("/") + "/v1/traces",
        headers={"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()},
    )
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def turn(tracer: Tracer, session_id: str, tokens: tuple[int, int], id_on_root: bool) -> str:
    with tracer.start_as_current_span("agent-turn") as root:
        if id_on_root:
            root.set_attribute("gen_ai.conversation.id", session_id)
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            if not id_on_root:
                chat.set_attribute("gen_ai.conversation.id", session_id)
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.system", "openai")
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.usage.input_tokens", tokens[0])
            chat.set_attribute("gen_ai.usage.output_tokens", tokens[1])
        return format_trace_id(root.get_span_context().trace_id)


def main(session_id: str) -> None:
    provider = provider_for_server()
    tracer = provider.get_tracer("skein-e2e-otel")
    traces = {
        turn(tracer, session_id, tokens, id_on_root=index == 0): ["agent-turn", "chat gpt-4o-mini"]
        for index, tokens in enumerate(TURNS)
    }
    provider.shutdown()
    usage = {"input": sum(t[0] for t in TURNS), "output": sum(t[1] for t in TURNS)}
    print(json.dumps({"traces": traces, "usage": usage}))


if __name__ == "__main__":
    main(sys.argv[1])
