"""The benchmark workload: an LLM agent app's spans, exported as Langfuse Python 5.x does.

    plan (sessions × turns, seeded) ──► per client: turns of interleaved sessions
        ──► spans in end order (children before parents) ──► batches of ≤ 512
        ──► OTLP protobuf ExportTraceServiceRequest ──► gzip (level 9, as GzipFile does)

Each turn is one trace: a root agent span and 3-6 children (an optional retriever, one or
two LLM generations with chat messages, model, parameters and token usage, one or two tool
calls, a guardrail). Sessions carry their id under one of four conventions (`session.id` on
every span, `langfuse.session.id` on the root only, a JSON-quoted trace metadata key, or
`session.id` set only on a child generation). Three fixed entities serve the query figures:
a 200-turn session, a 100-turn session and one trace of 200 observations.

Client `c` of `n` runs the sessions whose index is `c mod n`, several at a time, turn by turn
in round robin, so a batch holds spans of several sessions and a trace may straddle batches.
Sessions start one after another (`SESSION_SPACING_S`) and their turns are 90 s apart, so
what a client sends is roughly in time order, like a live app's export. Everything is a
pure function of the `WorkloadSpec` (and `GENERATOR_VERSION`).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from bench.text import TextSource

GENERATOR_VERSION = 4
SDK_VERSION = "5.0.4"
PUBLIC_KEY = "pk-skein-bench"
SECRET_KEY = "sk-skein-bench"
BASE_NS = 1_780_000_000 * 1_000_000_000  # 2026-05-28
SECOND = 1_000_000_000
# A new session starts about this often (seconds), so ~30 run at once, as in a live app whose
# spans reach the server as they end: start times grow with arrival order.
SESSION_SPACING_S = 50
REPLAY_SESSION = "bench-replay-200"
HUNDRED_SESSION = "bench-session-100"
BIG_TRACE_SESSION = "bench-big-trace"
BIG_TRACE_SPANS = 200
CONVENTIONS = ("session.id", "langfuse.session.id", "trace-metadata", "child-only")
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet-20241022", "gemini-1.5-pro")
TOOLS = ("search_orders", "lookup_account", "create_ticket", "get_shipment", "refund_order")
SYSTEM_PROMPT_SIZE = 1400


@dataclass(frozen=True)
class WorkloadSpec:
    spans: int
    seed: int = 8
    clients: int = 4
    batch_spans: int = 512
    mean_turns: int = 18
    concurrent_sessions: int = 8

    def key(self) -> str:
        values = {**asdict(self), "generator": GENERATOR_VERSION}
        return "-".join(f"{name}{value}" for name, value in values.items())


@dataclass(frozen=True)
class TurnPlan:
    retriever: bool
    generations: int  # 1 or 2
    tools: int  # 1 or 2; a big trace has more
    big: bool = False

    @property
    def spans(self) -> int:
        if self.big:
            return BIG_TRACE_SPANS
        return 2 + self.retriever + self.generations + self.tools


@dataclass(frozen=True)
class SessionPlan:
    index: int
    session_id: str
    user_id: str
    convention: str
    start_ns: int
    turns: tuple[TurnPlan, ...]

    @property
    def spans(self) -> int:
        return sum(turn.spans for turn in self.turns)


@dataclass
class Totals:
    """What one client (or the whole workload) sends."""

    spans: int = 0
    traces: int = 0
    sessions: int = 0
    batches: int = 0
    protobuf_bytes: int = 0
    wire_bytes: int = 0
    text_bytes: int = 0

    def add(self, other: Totals) -> None:
        for name in asdict(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


# -- Planning ------------------------------------------------------------------------------


def plan_sessions(spec: WorkloadSpec) -> list[SessionPlan]:
    """Every session of the workload: the three fixed ones, then random ones up to `spans`."""
    rng = random.Random(spec.seed)
    fixed = [
        _session(rng, 0, REPLAY_SESSION, 200),
        _session(rng, 1, HUNDRED_SESSION, 100),
        _big_trace_session(rng, 2),
    ]
    sessions = list(fixed)
    total = sum(s.spans for s in sessions)
    while total < spec.spans:
        index = len(sessions)
        turns = rng.randint(2, 2 * spec.mean_turns - 2)
        session = _session(rng, index, f"sess-{spec.seed}-{index:07d}", turns)
        sessions.append(session)
        total += session.spans
    return sessions


def _session(rng: random.Random, index: int, session_id: str, turns: int) -> SessionPlan:
    return SessionPlan(
        index=index,
        session_id=session_id,
        user_id=f"user-{rng.randint(1, 5000):05d}",
        convention=CONVENTIONS[index % len(CONVENTIONS)],
        start_ns=BASE_NS + int((index + rng.random()) * SESSION_SPACING_S * SECOND),
        turns=tuple(_turn(rng) for _ in range(turns)),
    )


def _turn(rng: random.Random) -> TurnPlan:
    return TurnPlan(
        retriever=rng.random() < 0.7, generations=rng.randint(1, 2), tools=rng.randint(1, 2)
    )


def _big_trace_session(rng: random.Random, index: int) -> SessionPlan:
    session = _session(rng, index, BIG_TRACE_SESSION, 3)
    big = TurnPlan(retriever=True, generations=1, tools=1, big=True)
    return SessionPlan(
        index=session.index,
        session_id=session.session_id,
        user_id=session.user_id,
        convention="session.id",
        start_ns=session.start_ns,
        turns=(session.turns[0], big, session.turns[1]),
    )


def expected_totals(sessions: list[SessionPlan]) -> Totals:
    return Totals(
        spans=sum(s.spans for s in sessions),
        traces=sum(len(s.turns) for s in sessions),
        sessions=len(sessions),
    )


# -- Spans ---------------------------------------------------------------------------------


@dataclass
class SessionState:
    plan: SessionPlan
    rng: random.Random
    next_turn: int = 0
    history: list[dict[str, str]] = field(default_factory=list)


class ClientGenerator:
    """The span stream of one client: its sessions, interleaved, each span as it ends."""

    def __init__(self, spec: WorkloadSpec, client: int, sessions: list[SessionPlan]) -> None:
        self.spec = spec
        self.client = client
        self.sessions = [s for s in sessions if s.index % spec.clients == client]
        self.text = TextSource(spec.seed * 1000 + client)
        self.system_prompt = TextSource(spec.seed).text(SYSTEM_PROMPT_SIZE)
        self.totals = Totals(sessions=len(self.sessions))

    def spans(self) -> Iterator[Span]:
        waiting = list(reversed(self.sessions))
        active: list[SessionState] = []
        while waiting or active:
            while waiting and len(active) < self.spec.concurrent_sessions:
                plan = waiting.pop()
                active.append(SessionState(plan, random.Random(f"{self.spec.seed}/{plan.index}")))
            for state in list(active):
                yield from self._turn_spans(state)
                state.next_turn += 1
                if state.next_turn == len(state.plan.turns):
                    active.remove(state)

    def _turn_spans(self, state: SessionState) -> Iterator[Span]:
        turn = TurnBuilder(self, state)
        self.totals.traces += 1
        yield from turn.build()


class TurnBuilder:
    """One turn of one session: a trace, its spans yielded in the order they end."""

    def __init__(self, client: ClientGenerator, state: SessionState) -> None:
        self.client = client
        self.state = state
        self.plan = state.plan.turns[state.next_turn]
        self.rng = state.rng
        self.text = client.text
        self.trace_id = self.rng.randbytes(16)
        self.root_id = self.rng.randbytes(8)
        self.clock = (
            state.plan.start_ns + state.next_turn * 90 * SECOND + self.rng.randint(0, SECOND)
        )
        self.start_ns = self.clock
        self.model = self.rng.choice(MODELS)
        self.child_session_done = False

    def build(self) -> Iterator[Span]:
        question = self.text.text(self.text.around(700))
        context = ""
        if self.plan.big:
            yield from self._agent_loop(question)
        else:
            if self.plan.retriever:
                context = yield from self._retriever(question)
            tool_results = yield from self._generation_with_tools(question, context)
            if self.plan.generations == 2:
                answer = yield from self._answer(question, context, tool_results)
            else:
                answer = self.text.text(self.text.around(2000))
            yield self._guardrail(answer)
        answer = self.text.text(self.text.around(2000)) if self.plan.big else answer
        self._remember(question, answer)
        yield self._root(question, answer)

    def _agent_loop(self, question: str) -> Iterator[Span]:
        for step in range(BIG_TRACE_SPANS - 1):
            if step % 2 == 0:
                yield self._generation(self._messages(question, ""), self._tool_call_message())
            else:
                yield self._tool(self.rng.choice(TOOLS))[0]

    def _retriever(self, question: str) -> Generator[Span, None, str]:
        documents = [
            {"id": f"doc-{self.rng.randint(1, 90_000)}", "score": round(self.rng.random(), 4),
             "text": self.text.text(self.text.around(1200))}
            for _ in range(self.rng.randint(3, 5))
        ]  # fmt: skip
        output = json.dumps({"documents": documents}, ensure_ascii=False)
        attributes: dict[str, object] = {
            "langfuse.observation.type": "retriever",
            "langfuse.observation.input": json.dumps({"query": question[:300]}),
            "langfuse.observation.output": output,
            "langfuse.observation.metadata.index": json.dumps("kb-v3"),
            "langfuse.observation.metadata.top_k": json.dumps(len(documents)),
        }
        yield self._span("retrieve-documents", attributes, 0.2)
        return "\n\n".join(str(d["text"]) for d in documents)

    def _generation_with_tools(
        self, question: str, context: str
    ) -> Generator[Span, None, list[str]]:
        messages = self._messages(question, context)
        yield self._generation(messages, self._tool_call_message())
        results: list[str] = []
        for _ in range(self.plan.tools):
            result = yield from self._tool_span()
            results.append(result)
        return results

    def _tool_span(self) -> Generator[Span, None, str]:
        span, output = self._tool(self.rng.choice(TOOLS))
        yield span
        return output[:1500]

    def _answer(
        self, question: str, context: str, tool_results: list[str]
    ) -> Generator[Span, None, str]:
        messages = self._messages(question, context)
        for result in tool_results:
            messages.append({"role": "tool", "content": result})
        answer = self.text.text(self.text.around(2000))
        yield self._generation(messages, {"role": "assistant", "content": answer})
        return answer

    def _messages(self, question: str, context: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.client.system_prompt}]
        messages.extend(self.state.history[-2:])
        content = f"{question}\n\nContext:\n{context[:1500]}" if context else question
        messages.append({"role": "user", "content": content})
        return messages

    def _tool_call_message(self) -> dict[str, object]:
        call = {
            "id": f"call_{self.rng.randbytes(6).hex()}",
            "type": "function",
            "function": {"name": self.rng.choice(TOOLS), "arguments": json.dumps({
                "order_id": f"ord-{self.rng.randint(10_000, 99_999)}",
                "reason": self.text.text(120)})},
        }  # fmt: skip
        return {"role": "assistant", "content": None, "tool_calls": [call]}

    def _generation(self, messages: list[dict[str, str]], output: dict[str, object]) -> Span:
        prompt_tokens = sum(len(m.get("content") or "") for m in messages) // 4
        output_tokens = len(json.dumps(output)) // 4
        usage = {"input": prompt_tokens, "output": output_tokens,
                 "total": prompt_tokens + output_tokens}  # fmt: skip
        attributes: dict[str, object] = {
            "langfuse.observation.type": "generation",
            "langfuse.observation.input": json.dumps(messages, ensure_ascii=False),
            "langfuse.observation.output": json.dumps(output, ensure_ascii=False),
            "langfuse.observation.model.name": self.model,
            "langfuse.observation.model.parameters": json.dumps(
                {"temperature": 0.2, "max_tokens": 1024}
            ),
            "langfuse.observation.usage_details": json.dumps(usage),
            "langfuse.observation.metadata.request_id": json.dumps(self.rng.randbytes(8).hex()),
        }
        if self.rng.random() < 0.5:
            cost = {"input": prompt_tokens * 1.5e-7, "output": output_tokens * 6e-7}
            cost["total"] = cost["input"] + cost["output"]
            attributes["langfuse.observation.cost_details"] = json.dumps(cost)
        if self.state.plan.convention == "child-only" and not self.child_session_done:
            attributes["session.id"] = self.state.plan.session_id
            self.child_session_done = True
        return self._span("llm-call", attributes, self.rng.uniform(0.6, 3.0))

    def _tool(self, name: str) -> tuple[Span, str]:
        output = self.text.json_records(self.text.around(3200))
        attributes: dict[str, object] = {
            "langfuse.observation.type": "tool",
            "langfuse.observation.input": json.dumps(
                {"order_id": f"ord-{self.rng.randint(10_000, 99_999)}", "verbose": True}
            ),
            "langfuse.observation.output": output,
            "langfuse.observation.metadata.tool_version": json.dumps("2.1"),
        }
        return self._span(name, attributes, self.rng.uniform(0.05, 0.8)), output

    def _guardrail(self, answer: str) -> Span:
        verdict = {"allowed": self.rng.random() > 0.03, "categories": [], "score": 0.01}
        attributes: dict[str, object] = {
            "langfuse.observation.type": "guardrail",
            "langfuse.observation.input": json.dumps(answer, ensure_ascii=False),
            "langfuse.observation.output": json.dumps(verdict),
        }
        return self._span("content-guardrail", attributes, 0.1)

    def _root(self, question: str, answer: str) -> Span:
        plan = self.state.plan
        attributes: dict[str, object] = {
            "langfuse.internal.is_app_root": True,
            "langfuse.observation.type": "agent",
            "langfuse.observation.input": json.dumps({"question": question}, ensure_ascii=False),
            "langfuse.observation.output": json.dumps({"answer": answer}, ensure_ascii=False),
            "langfuse.trace.name": "support-agent",
            "langfuse.trace.tags": ["support", f"tier-{plan.index % 3}"],
            "langfuse.trace.metadata.app_version": json.dumps("1.8.2"),
            **_id_attributes(plan),
        }
        end_ns = self.clock + 10_000_000
        return self._make(self.root_id, None, "agent-turn", attributes, self.start_ns, end_ns)

    def _span(self, name: str, attributes: dict[str, object], seconds: float) -> Span:
        start = self.clock + 1_000_000
        end = start + int(seconds * SECOND)
        self.clock = end
        if self.state.plan.convention == "session.id":
            attributes = {**attributes, **_id_attributes(self.state.plan)}
        return self._make(self.rng.randbytes(8), self.root_id, name, attributes, start, end)

    def _make(
        self,
        span_id: bytes,
        parent: bytes | None,
        name: str,
        attributes: dict[str, object],
        start_ns: int,
        end_ns: int,
    ) -> Span:
        totals = self.client.totals
        totals.spans += 1
        for key in ("langfuse.observation.input", "langfuse.observation.output"):
            totals.text_bytes += len(str(attributes.get(key, "")).encode())
        return Span(
            trace_id=self.trace_id,
            span_id=span_id,
            parent_span_id=parent or b"",
            name=name,
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start_ns,
            end_time_unix_nano=end_ns,
            attributes=[_key_value(k, v) for k, v in attributes.items()],
            status=Status(),
            flags=256,
        )

    def _remember(self, question: str, answer: str) -> None:
        self.state.history.append({"role": "user", "content": question})
        self.state.history.append({"role": "assistant", "content": answer[:600]})
        del self.state.history[:-4]


def _id_attributes(plan: SessionPlan) -> dict[str, object]:
    """Where this session's app puts the session and user ids (on the root; see module doc)."""
    if plan.convention == "session.id":
        return {"session.id": plan.session_id, "user.id": plan.user_id}
    if plan.convention == "langfuse.session.id":
        return {"langfuse.session.id": plan.session_id, "langfuse.user.id": plan.user_id}
    if plan.convention == "trace-metadata":
        return {
            "langfuse.trace.metadata.session_id": json.dumps(plan.session_id),
            "langfuse.trace.metadata.user_id": json.dumps(plan.user_id),
        }
    return {"user.id": plan.user_id}  # child-only: the session id is on a generation


def _key_value(key: str, value: object) -> KeyValue:
    return KeyValue(key=key, value=_any_value(value))


def _any_value(value: object) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_any_value(v) for v in value]))
    return AnyValue(string_value=str(value))


# -- Batches -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """One export request: its gzip body and how big it was before compression."""

    body: bytes
    protobuf_bytes: int
    spans: int


def client_batches(generator: ClientGenerator) -> Iterator[Batch]:
    """The requests one client sends, in order (as a BatchSpanProcessor cuts its queue)."""
    size, client = generator.spec.batch_spans, generator.client
    pending: list[Span] = []
    for span in generator.spans():
        pending.append(span)
        if len(pending) == size:
            yield encode_batch(pending, client)
            pending = []
    if pending:
        yield encode_batch(pending, client)


def encode_batch(spans: list[Span], client: int) -> Batch:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        _key_value(k, v)
        for k, v in {
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": "1.45.2",
            "service.instance.id": f"00000000-0000-4000-8000-{client:012d}",
            "service.name": "support-agent",
        }.items()
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "langfuse-sdk"
    scope_spans.scope.version = SDK_VERSION
    scope_spans.scope.attributes.append(_key_value("public_key", PUBLIC_KEY))
    scope_spans.spans.extend(spans)
    raw = request.SerializeToString()
    return Batch(gzip.compress(raw, compresslevel=9, mtime=0), len(raw), len(spans))


def request_headers(authorization: str) -> dict[str, str]:
    """The headers Langfuse Python 5.x sends with an OTLP export."""
    return {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "Authorization": authorization,
        "x-langfuse-sdk-name": "python",
        "x-langfuse-sdk-version": SDK_VERSION,
        "x-langfuse-public-key": PUBLIC_KEY,
        "x-langfuse-ingestion-version": "4",
        "User-Agent": "OTel-OTLP-Exporter-Python/1.45.2",
    }
