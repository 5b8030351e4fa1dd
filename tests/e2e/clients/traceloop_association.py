"""OpenLLMetry (`traceloop-sdk`) with association properties, exporting to the server.

    python traceloop_association.py PREFIX

Configured only through the environment, as a Traceloop user would point it elsewhere:
`TRACELOOP_BASE_URL` (the server's root: the SDK posts OTLP/HTTP protobuf to
`/v1/traces`), `TRACELOOP_HEADERS` (`Authorization=Basic%20...`), and with its telemetry,
metrics and logs switched off (`TRACELOOP_TELEMETRY`, `TRACELOOP_METRICS_ENABLED`,
`TRACELOOP_LOGGING_ENABLED`; the test sets them). Two `@workflow` turns, each after
`Traceloop.set_association_properties({"session_id", "user_id"})`, run a `@task` and a
`prompt | model` LangChain chain (a fake chat model reporting usage; the SDK's LangChain
instrumentation traces it). Prints {"sessions": {session_id: {"user_id", "traces": ...}}}
as its last line (the SDK prints banners before it).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from opentelemetry import trace
from traceloop.sdk import Traceloop
from traceloop.sdk.decorators import task, workflow
from traceloop.sdk.instruments import Instruments

ANSWER = "Paris is the capital of France."
QUESTION = "What is the capital of France?"
MODEL = "gpt-4o-mini"
TURNS = ((17, 5), (23, 7))


class NamedFakeChatModel(GenericFakeChatModel):
    """The fake chat model, naming its model in its parameters as provider models do."""

    model_name: str = MODEL

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}


@task(name="look_up_country")
def look_up_country(city: str) -> str:
    return "France" if city == "Paris" else "unknown"


def ask(tokens: tuple[int, int]) -> None:
    usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
    reply = AIMessage(
        content=ANSWER,
        usage_metadata=usage,  # type: ignore[arg-type]
        response_metadata={"model_name": MODEL},
    )
    model = NamedFakeChatModel(messages=iter([reply]), model_name=MODEL)
    prompt = ChatPromptTemplate.from_messages([("human", "What is the capital of {country}?")])
    (prompt | model).invoke({"country": look_up_country("Paris")})


@workflow(name="capital_turn")
def capital_turn(tokens: tuple[int, int]) -> str:
    ask(tokens)
    return trace.format_trace_id(trace.get_current_span().get_span_context().trace_id)


def turn_spec(tokens: tuple[int, int]) -> dict[str, Any]:
    return {
        "capital_turn.workflow": {"type": "SPAN"},
        # The SDK's LangChain instrumentation marks the chain `gen_ai.operation.name`
        # invoke_agent.
        "RunnableSequence.workflow": {"type": "AGENT", "output": ANSWER},
        "look_up_country.task": {"type": "SPAN", "input": "Paris", "output": "France"},
        "NamedFakeChatModel.chat": {
            "type": "GENERATION",
            "model": MODEL,
            "priced": True,
            "usage": {"input": tokens[0], "output": tokens[1]},
            "input": QUESTION,
            "output": ANSWER,
        },
    }


def main(prefix: str) -> None:
    Traceloop.init(
        app_name="skein-e2e-traceloop",
        disable_batch=True,
        telemetry_enabled=False,
        should_enrich_metrics=False,
        instruments={Instruments.LANGCHAIN},
    )
    session_id, user_id = f"{prefix}-session", f"{prefix}-user"
    traces = {}
    for tokens in TURNS:
        Traceloop.set_association_properties({"session_id": session_id, "user_id": user_id})
        traces[capital_turn(tokens)] = turn_spec(tokens)
    trace.get_tracer_provider().shutdown()  # type: ignore[attr-defined]
    sessions = {session_id: {"user_id": user_id, "traces": traces}}
    print(json.dumps({"sessions": sessions}))


if __name__ == "__main__":
    main(sys.argv[1])
