"""The Langfuse Python SDK (3.x late, 4.x or 5.x: the API they share) against a real server.

    python langfuse_python_conformance.py PREFIX

Three traces in two sessions named after PREFIX:

- `PREFIX-typed`: `propagate_attributes(session_id, user_id, as_baggage=True)` around an
  agent whose children are one observation of every other type, a generation with model,
  parameters, usage, cost and chat input/output, and an event; trace metadata
  {"tenant": "acme"} (each SDK version encodes it differently on the wire).
- also in `PREFIX-typed`: a "downstream service" that receives only the W3C `baggage`
  header the first trace injected (no `traceparent`), so its new trace gets the session and
  user from the baggage alone.
- `PREFIX-langchain`: a `prompt | model` chain through the SDK's LangChain `CallbackHandler`,
  the session and user in `langfuse_session_id` / `langfuse_user_id` config metadata.

Prints one JSON line: {"sessions": {session_id: {"user_id", "traces": {trace_id: {name:
{"type", "model"?, "usage"?, "cost"?, "input"?, "output"?}}}}}, "baggage": header}, where
"input" and "output" are texts the stored values must contain.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langfuse import get_client, propagate_attributes
from langfuse.langchain import CallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import propagate

QUESTION = "What is the capital of France?"
ANSWER = "Paris is the capital of France."
USAGE = {"input": 14, "output": 9, "total": 23}
COST = {"input": 0.0014, "output": 0.0027, "total": 0.0041}
EMBEDDING_USAGE = {"input": 6, "total": 6}
LANGCHAIN_USAGE = {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}
TRACE_METADATA = {"tenant": "acme"}
CHILD_TYPES = ("tool", "chain", "retriever", "evaluator", "guardrail")


def observe_children(langfuse: Any) -> dict[str, dict[str, Any]]:
    """One observation of each simple type, with an input and an output; what was sent."""
    sent: dict[str, dict[str, Any]] = {}
    for kind in CHILD_TYPES:
        name = f"conf-{kind}"
        with langfuse.start_as_current_observation(
            name=name, as_type=kind, input={"step": kind}
        ) as child:
            child.update(output={"done": kind})
        sent[name] = {"type": kind.upper(), "input": f'"step": "{kind}"'}
        sent[name]["output"] = f'"done": "{kind}"'
    return sent


def observe_generation(langfuse: Any) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": QUESTION},
    ]
    with langfuse.start_as_current_observation(
        name="conf-generation",
        as_type="generation",
        model="gpt-4o-mini",
        model_parameters={"temperature": 0.2, "max_tokens": 64},
        input=messages,
    ) as generation:
        generation.update(
            output={"role": "assistant", "content": ANSWER}, usage_details=USAGE, cost_details=COST
        )
    return {
        "type": "GENERATION",
        "model": "gpt-4o-mini",
        "usage": USAGE,
        "cost": COST["total"],
        "input": QUESTION,
        "output": ANSWER,
    }


def observe_embedding(langfuse: Any) -> dict[str, Any]:
    with langfuse.start_as_current_observation(
        name="conf-embedding",
        as_type="embedding",
        model="text-embedding-3-small",
        input="capital of France",
        usage_details=EMBEDDING_USAGE,
    ):
        pass
    return {
        "type": "EMBEDDING",
        "model": "text-embedding-3-small",
        "usage": EMBEDDING_USAGE,
        "input": "capital of France",
    }


def typed_trace(session_id: str, user_id: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The typed trace; also returns the propagation headers injected inside it."""
    langfuse = get_client()
    carrier: dict[str, str] = {}
    with propagate_attributes(
        session_id=session_id, user_id=user_id, metadata=TRACE_METADATA, as_baggage=True
    ):
        with langfuse.start_as_current_observation(
            name="conf-agent", as_type="agent", input={"question": QUESTION}
        ) as agent:
            propagate.inject(carrier)
            sent = {
                "conf-generation": observe_generation(langfuse),
                "conf-embedding": observe_embedding(langfuse),
                **observe_children(langfuse),
            }
            langfuse.create_event(name="conf-event", input={"note": "an event"})
            sent["conf-event"] = {"type": "EVENT", "input": "an event"}
            agent.update(output={"answer": ANSWER})
            trace_id = agent.trace_id
    sent["conf-agent"] = {"type": "AGENT", "input": QUESTION, "output": ANSWER}
    return trace_id, sent, carrier


def downstream_trace(carrier: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """A new trace that only the W3C baggage header ties to the session."""
    received = propagate.extract({"baggage": carrier["baggage"]})
    token = otel_context.attach(received)
    try:
        with get_client().start_as_current_observation(
            name="conf-downstream", as_type="span", input="from the baggage"
        ) as span:
            trace_id = span.trace_id
    finally:
        otel_context.detach(token)
    return trace_id, {"conf-downstream": {"type": "SPAN", "input": "from the baggage"}}


def langchain_trace(session_id: str, user_id: str) -> tuple[str, dict[str, Any]]:
    reply = AIMessage(content=ANSWER, usage_metadata=LANGCHAIN_USAGE)  # type: ignore[arg-type]
    model = GenericFakeChatModel(messages=iter([reply]), metadata={"ls_model_name": "fake-4o"})
    prompt = ChatPromptTemplate.from_messages([("human", "What is the capital of {country}?")])
    handler = CallbackHandler()
    metadata = {"langfuse_session_id": session_id, "langfuse_user_id": user_id}
    (prompt | model).invoke(
        {"country": "France"}, config={"callbacks": [handler], "metadata": metadata}
    )
    usage = {"input": 11, "output": 4, "total": 15}
    generation = {"type": "GENERATION", "usage": usage, "input": QUESTION, "output": ANSWER}
    trace_id = handler.last_trace_id
    assert trace_id is not None
    return trace_id, {"GenericFakeChatModel": generation}


def main(prefix: str) -> None:
    user_id = f"{prefix}-user"
    typed_id, typed, carrier = typed_trace(f"{prefix}-typed", user_id)
    downstream_id, downstream = downstream_trace(carrier)
    lc_id, lc = langchain_trace(f"{prefix}-langchain", user_id)
    get_client().flush()
    sessions = {
        f"{prefix}-typed": {
            "user_id": user_id,
            "metadata": TRACE_METADATA,
            "traces": {typed_id: typed},
        },
        f"{prefix}-langchain": {"user_id": user_id, "traces": {lc_id: lc}},
    }
    sessions[f"{prefix}-typed"]["traces"][downstream_id] = downstream
    print(json.dumps({"sessions": sessions, "baggage": carrier.get("baggage", "")}))


if __name__ == "__main__":
    main(sys.argv[1])
