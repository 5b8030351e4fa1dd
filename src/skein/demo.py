"""`skein demo`: fill a running server with realistic sessions through Skein's own SDK.

Multi-turn chats with tool calls, a retrieval-augmented support chat, an Anthropic-style
coding session, a LangChain-style session, a turn that fails and is retried, costs, scores,
a few users, one long (60-turn) session, and one batch trace sent without a session id (so
the diagnostics page has something to say). The conversations come from a seeded random
generator, so every run sends the same content; sessions run side by side in threads and
take real (shortened) time, so an open sessions page shows them grow live.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

USERS = ("alice@example.com", "bob@example.com", "chen@example.com", "dana@example.com")
MODEL = "gpt-4o-mini"
CLAUDE = "claude-3-5-sonnet"
PRICES = {MODEL: (0.15e-6, 0.6e-6), CLAUDE: (3e-6, 15e-6)}  # USD per input, output token
CITIES = ("Lisbon", "Kyoto", "Reykjavik", "Montreal", "Cape Town", "Oaxaca", "Tallinn")
TOPICS = ("refund", "password reset", "invoice", "shipping delay", "plan upgrade")
WORDS = ("der Hund", "la mesa", "il gatto", "o livro", "de fiets", "le fromage", "el tren")


@dataclass(frozen=True, slots=True)
class DemoOptions:
    seed: int = 7
    speed: float = 5.0  # recorded seconds per real second
    long_turns: int = 60
    session_prefix: str = "demo"


@dataclass(slots=True)
class DemoReport:
    sessions: list[str] = field(default_factory=list)
    traces: int = 0


class Chat:
    """One session's conversation state and its clock (scaled sleeps)."""

    def __init__(
        self, client: Any, session_id: str, user_id: str, rng: random.Random, options: DemoOptions
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.user_id = user_id
        self.rng = rng
        self.options = options
        self.history: list[dict[str, Any]] = []
        self.turns = 0

    def wait(self, low: float, high: float) -> None:
        """Let `low`..`high` recorded seconds pass (divided by the speed)."""
        time.sleep(self.rng.uniform(low, high) / self.options.speed)

    def generation(
        self,
        parent: Any,
        messages: list[dict[str, Any]],
        reply: dict[str, Any],
        model: str = MODEL,
        name: str = "chat-completion",
    ) -> None:
        """A model call under `parent` with usage and cost."""
        prompt = sum(len(str(m.get("content") or "")) for m in messages) // 4 + 40
        completion = len(str(reply.get("content") or "")) // 4 + 12
        generation = parent.start_generation(
            name, model=model, input=messages, model_parameters={"temperature": 0.3}
        )
        self.wait(0.6, 2.4)
        generation.update(
            output=reply,
            usage_details={"input": prompt, "output": completion, "total": prompt + completion},
            cost_details=_cost(model, prompt, completion),
        )
        generation.end()

    def turn(
        self,
        question: str,
        body: Callable[[Any, list[dict[str, Any]]], dict[str, Any]],
        name: str = "chat-turn",
        typing: tuple[float, float] = (3, 12),
    ) -> str:
        """One trace: the user's question, whatever `body` does, the answer it returns."""
        self.wait(*typing)
        messages = [*self.history, {"role": "user", "content": question}]
        with self.client.start_as_current_span(name=name, input=messages) as root:
            root.update_trace(name=name, input=messages)
            answer = body(root, messages)
            root.update(output=answer)
            root.update_trace(output=answer)
            trace_id: str = root.trace_id
        self.history = [*messages, answer]
        self.turns += 1
        return trace_id


def _cost(model: str, prompt: int, completion: int) -> dict[str, float]:
    per_input, per_output = PRICES[model]
    cost = {"input": prompt * per_input, "output": completion * per_output}
    return {**cost, "total": cost["input"] + cost["output"]}


# -- Scenarios ---------------------------------------------------------------------------------


def travel_chat(chat: Chat) -> None:
    """Trip planning with a weather tool and a flight search tool (OpenAI tool calls)."""
    chat.history = [{"role": "system", "content": "You are Wayfarer, a concise travel agent."}]
    city = chat.rng.choice(CITIES)
    for question, tool, arguments, result, answer in _travel_script(chat.rng, city):

        def body(
            root: Any,
            messages: list[dict[str, Any]],
            tool: str = tool,
            arguments: dict[str, Any] = arguments,
            result: Any = result,
            answer: str = answer,
        ) -> dict[str, Any]:
            call_id = f"call_{chat.rng.randrange(16**8):08x}"
            call = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": tool, "arguments": _json(arguments)},
                    }
                ],
            }
            chat.generation(root, messages, call)
            with root.start_as_current_observation(name=tool, as_type="tool", input=arguments) as t:
                chat.wait(0.2, 0.9)
                t.update(output=result)
            reply = {"role": "assistant", "content": answer}
            followup = [
                *messages,
                call,
                {"role": "tool", "tool_call_id": call_id, "content": _json(result)},
            ]
            chat.generation(root, followup, reply)
            return reply

        trace_id = chat.turn(question, body)
        if chat.rng.random() < 0.5:
            chat.client.create_score(
                name="helpful",
                value=chat.rng.choice([1, 1, 1, 0]),
                trace_id=trace_id,
                data_type="BOOLEAN",
            )


def _travel_script(
    rng: random.Random, city: str
) -> list[tuple[str, str, dict[str, Any], Any, str]]:
    temp = rng.randint(4, 29)
    price = rng.randint(180, 940)
    return [
        (
            f"I'm thinking of visiting {city} next week. What's the weather like?",
            "get_weather",
            {"city": city, "days": 5},
            {
                "city": city,
                "forecast": [
                    {"day": d, "high_c": temp + d % 3, "rain": d % 2 == 0} for d in range(1, 6)
                ],
            },
            f"Mild: highs around {temp}–{temp + 2}°C, with showers every other day."
            " Pack a light rain jacket.",
        ),
        (
            "Find me a flight from London on Friday, morning if possible.",
            "search_flights",
            {"from": "LHR", "to": city, "date": "friday", "time_of_day": "morning"},
            [
                {"flight": f"SK{rng.randint(100, 999)}", "departs": "08:40", "price_gbp": price},
                {
                    "flight": f"SK{rng.randint(100, 999)}",
                    "departs": "11:15",
                    "price_gbp": price + 60,
                },
            ],
            f"The 08:40 departure is £{price}; a later 11:15 flight costs £{price + 60}."
            " Shall I hold the 08:40?",
        ),
        (
            "Yes please, hold it under my name.",
            "hold_booking",
            {"flight": "first", "passenger": "profile"},
            {"status": "held", "expires_in_h": 24},
            "Done — it's held for 24 hours. You'll get a confirmation email shortly.",
        ),
    ]


def support_chat(chat: Chat) -> None:
    """Retrieval-augmented customer support: a retriever, then an answer citing documents."""
    topic = chat.rng.choice(TOPICS)
    questions = [
        f"Hi, I have a question about a {topic}.",
        "It's for order 4471, placed last Tuesday.",
        "How long will it take?",
        "Great, thanks for the help!",
    ]
    chat.history = [{"role": "system", "content": f"Answer from the help centre. Topic: {topic}."}]
    for question in questions:

        def body(
            root: Any, messages: list[dict[str, Any]], question: str = question
        ) -> dict[str, Any]:
            with root.start_as_current_observation(
                name="help-centre-search", as_type="retriever", input={"query": question, "k": 3}
            ) as retriever:
                chat.wait(0.1, 0.5)
                documents = [
                    {
                        "id": f"kb-{chat.rng.randint(100, 999)}",
                        "title": f"{topic.title()} policy",
                        "score": round(chat.rng.uniform(0.6, 0.95), 3),
                    }
                    for _ in range(3)
                ]
                retriever.update(output=documents)
            reply = {"role": "assistant", "content": _support_answer(topic, question, chat.rng)}
            chat.generation(root, messages, reply)
            return reply

        chat.turn(question, body, name="support-turn")
    chat.client.create_score(
        name="resolved",
        value="yes",
        session_id=chat.session_id,
        data_type="CATEGORICAL",
        comment="customer thanked the agent",
    )


def _support_answer(topic: str, question: str, rng: random.Random) -> str:
    days = rng.randint(2, 7)
    if "thanks" in question.lower():
        return "You're welcome! Anything else, just reply here."
    if "how long" in question.lower():
        return f"A {topic} like this usually completes within {days} business days."
    return f"Thanks — I found our {topic} policy. Could you share the order number?"


def coding_chat(chat: Chat) -> None:
    """A coding assistant in Anthropic's message shape, with a tool_use round trip."""
    questions = [
        "Why does my Python script say 'list index out of range'?",
        "Here's the line: value = rows[i + 1] inside `for i in range(len(rows))`.",
        "Can you run the fixed version against my test file?",
    ]
    for number, question in enumerate(questions):

        def body(root: Any, messages: list[dict[str, Any]], number: int = number) -> dict[str, Any]:
            request = {"system": "You are a careful Python reviewer.", "messages": messages}
            if number < 2:
                text = (
                    "Indexing past the end: the last iteration reads rows[len(rows)]."
                    if number
                    else "That error means an index is >= the list's length. Show me the line?"
                )
                reply = {"role": "assistant", "content": [{"type": "text", "text": text}]}
                chat.generation(root, [request], reply, model=CLAUDE, name="messages.create")
                return reply
            use = {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "run_tests",
                "input": {"path": "tests/test_rows.py"},
            }
            chat.generation(
                root,
                [request],
                {"role": "assistant", "content": [use]},
                model=CLAUDE,
                name="messages.create",
            )
            with root.start_as_current_observation(
                name="run_tests", as_type="tool", input=use["input"]
            ) as t:
                chat.wait(1, 3)
                t.update(output={"passed": 12, "failed": 0})
            reply = {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "All 12 tests pass with `range(len(rows) - 1)`."}
                ],
            }
            chat.generation(root, [request], reply, model=CLAUDE, name="messages.create")
            return reply

        chat.turn(question, body, name="code-review")


def langchain_chat(chat: Chat) -> None:
    """A chain whose generations record LangChain message serialisations."""
    for question in ("Summarise the Q3 sales call notes.", "Make it three bullet points."):

        def body(
            root: Any, messages: list[dict[str, Any]], question: str = question
        ) -> dict[str, Any]:
            serialised = [
                _lc("HumanMessage", m["content"])
                if m["role"] == "user"
                else _lc("AIMessage", m["content"])
                for m in messages
            ]
            with root.start_as_current_observation(
                name="RunnableSequence", as_type="chain", input={"input": question}
            ):
                text = (
                    "Revenue grew 12%, churn fell, and two enterprise deals closed."
                    if "Summarise" in question
                    else "• Revenue +12%\n• Churn down to 2.1%\n• Two enterprise deals closed"
                )
                reply = {"role": "assistant", "content": text}
                generation = root.start_generation("ChatOpenAI", model=MODEL, input=serialised)
                chat.wait(0.8, 2)
                generation.update(
                    output=_lc("AIMessage", text),
                    usage_details={"input": 310, "output": 42},
                    cost_details=_cost(MODEL, 310, 42),
                )
                generation.end()
            return reply

        chat.turn(question, body, name="langchain-qa")


def flaky_chat(chat: Chat) -> None:
    """A turn whose first model call hits a rate limit and is retried."""
    chat.history = [{"role": "system", "content": "You translate English to French."}]
    for number, question in enumerate(("Translate: good morning", "Translate: see you tomorrow")):

        def body(root: Any, messages: list[dict[str, Any]], number: int = number) -> dict[str, Any]:
            if number == 1:
                failed = root.start_generation("chat-completion", model=MODEL, input=messages)
                chat.wait(0.2, 0.6)
                failed.update(
                    level="ERROR",
                    status_message="RateLimitError: 429 Too Many Requests (retrying in 2s)",
                )
                failed.end()
                chat.wait(1, 2)
            reply = {"role": "assistant", "content": "Bonjour" if number == 0 else "À demain"}
            chat.generation(root, messages, reply)
            return reply

        chat.turn(question, body, name="translate")


def tutor_chat(chat: Chat) -> None:
    """The long session: a vocabulary drill of many short turns."""
    chat.history = [
        {"role": "system", "content": "You are a patient language tutor. Quiz one word at a time."}
    ]
    for number in range(chat.options.long_turns):
        word = chat.rng.choice(WORDS)
        question = f"Next word please ({number + 1})." if number % 2 == 0 else f"Is '{word}' right?"

        def body(root: Any, messages: list[dict[str, Any]], word: str = word) -> dict[str, Any]:
            verdict = chat.rng.choice(
                ("Correct!", "Almost — mind the article.", "Correct, well done.")
            )
            reply = {"role": "assistant", "content": f"{verdict} Next: translate '{word}'."}
            # Only the recent turns go to the model: the app trims its context.
            chat.generation(root, messages[-8:], reply)
            return reply

        chat.turn(question, body, name="tutor-turn", typing=(0.5, 2))


def batch_job(client: Any, rng: random.Random) -> None:
    """A nightly job traced without any session id, with a misspelt metadata key."""
    with client.start_as_current_span(
        name="nightly-reindex", metadata={"SessionID": "batch-42"}
    ) as root:
        for shard in range(3):
            with root.start_as_current_observation(
                name=f"embed-shard-{shard}",
                as_type="embedding",
                input={"documents": rng.randint(200, 900)},
            ):
                time.sleep(0.02)


SCENARIOS: tuple[tuple[str, Callable[[Chat], None]], ...] = (
    ("travel", travel_chat),
    ("travel", travel_chat),
    ("support", support_chat),
    ("support", support_chat),
    ("code", coding_chat),
    ("langchain", langchain_chat),
    ("translate", flaky_chat),
    ("tutor", tutor_chat),
)


def run_demo(client: Any, options: DemoOptions = DemoOptions()) -> DemoReport:
    """Send every scenario through `client` (a `skein.Skein`), side by side; then flush."""
    import skein

    rng = random.Random(options.seed)
    chats: list[Chat] = []
    futures: list[Future[None]] = []
    with skein.ContextExecutor(max_workers=len(SCENARIOS)) as pool:
        for number, (kind, scenario) in enumerate(SCENARIOS):
            session_id = f"{options.session_prefix}-{kind}-{rng.randrange(16**6):06x}"
            user = USERS[number % len(USERS)]
            chats.append(Chat(client, session_id, user, random.Random(rng.random()), options))
            futures.append(pool.submit(_in_session, chats[-1], scenario))
        batch_job(client, rng)
        for future in futures:
            future.result()
    client.flush()
    return DemoReport([c.session_id for c in chats], sum(c.turns for c in chats) + 1)


def _in_session(chat: Chat, scenario: Callable[[Chat], None]) -> None:
    import skein

    with skein.session(chat.session_id, user_id=chat.user_id):
        scenario(chat)


def _lc(cls: str, content: str) -> dict[str, Any]:
    return {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", cls],
        "kwargs": {"content": content, "type": "human" if cls == "HumanMessage" else "ai"},
    }


def _json(value: Any) -> str:
    return json.dumps(value)
