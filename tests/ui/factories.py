"""Factories for UI tests: chat sessions written straight into a store, and a test client."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from skein.app import create_app
from skein.records import MappedBatch, Observation, TraceAttributes
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Store

PUBLIC, SECRET = "pk-ui-test", "sk-ui-test"
START_NS = 1_700_000_000_000_000_000
SECOND = 1_000_000_000
SYSTEM = {"role": "system", "content": "You are a helpful travel agent."}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, init_public_key=PUBLIC, init_secret_key=SECRET, **overrides)


@contextmanager
def opened_store(data_dir: Path) -> Iterator[Store]:
    store = open_store(make_settings(data_dir).resolved_database_url())
    try:
        yield store
    finally:
        store.close()


@contextmanager
def client_for(store: Store, data_dir: Path, **overrides: Any) -> Iterator[TestClient]:
    """A client of the whole app (lifespan run) over `store`."""
    app = create_app(make_settings(data_dir, **overrides), store)
    with TestClient(app, base_url="http://127.0.0.1:3000") as client:
        yield client


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def project_of(store: Store) -> str:
    key = store.find_key(PUBLIC)
    assert key is not None
    return key.project_id


def trace_id(n: int, session: str = "s") -> str:
    return hashlib.sha256(f"{session}/{n}".encode()).hexdigest()[:32]


def span_id(n: int, child: int = 0) -> str:
    return f"{n:08x}{child:08x}"


def chat_turn(
    session_id: str,
    n: int,
    history: list[dict[str, Any]],
    question: str,
    answer: str,
    *,
    start_ns: int | None = None,
    user_id: str = "user-1",
    tool: tuple[str, dict[str, Any], str] | None = None,
    error: str | None = None,
) -> tuple[list[Observation], list[dict[str, Any]]]:
    """One chat turn as a trace (root span + generation, a tool span when asked): its input
    repeats the whole history, as chat apps send it. Returns the observations and the new
    history (input + answer)."""
    start = start_ns if start_ns is not None else START_NS + n * 60 * SECOND
    tid = trace_id(n, session_id)
    messages = [*history, {"role": "user", "content": question}]
    output = {"role": "assistant", "content": answer}
    trace = TraceAttributes(
        session_id=session_id,
        session_source="session.id",
        user_id=user_id,
        name="chat-turn",
        input=json.dumps(messages),
        output=json.dumps(output),
    )
    root = Observation(
        id=span_id(n),
        trace_id=tid,
        parent_id=None,
        is_root=True,
        name="chat-turn",
        type="SPAN",
        start_ns=start,
        end_ns=start + 2 * SECOND,
        trace=trace,
        level="ERROR" if error else "DEFAULT",
        status_message=error,
    )
    generation = Observation(
        id=span_id(n, 1),
        trace_id=tid,
        parent_id=root.id,
        is_root=False,
        name="llm",
        type="GENERATION",
        start_ns=start + SECOND // 10,
        end_ns=start + SECOND + SECOND // 2,
        model="gpt-4o-mini",
        input=json.dumps(messages),
        output=json.dumps(output),
        usage={"input": 100 + n, "output": 20},
        input_tokens=100 + n,
        output_tokens=20,
        total_tokens=120 + n,
        total_cost=0.001,
    )
    observations = [root, generation]
    if tool is not None:
        name, arguments, result = tool
        observations.append(
            Observation(
                id=span_id(n, 2),
                trace_id=tid,
                parent_id=root.id,
                is_root=False,
                name=name,
                type="TOOL",
                start_ns=start + SECOND + SECOND // 2,
                end_ns=start + SECOND + 3 * SECOND // 4,
                input=json.dumps(arguments),
                output=json.dumps(result),
            )
        )
    return observations, [*messages, output]


def write_chat(
    store: Store,
    project_id: str,
    session_id: str,
    turns: int,
    *,
    first: int = 0,
    history: list[dict[str, Any]] | None = None,
    gap_seconds: int = 60,
) -> list[dict[str, Any]]:
    """A session of `turns` chat turns; returns the history at its end."""
    history = list(history if history is not None else [SYSTEM])
    observations: list[Observation] = []
    for n in range(first, first + turns):
        start = START_NS + n * gap_seconds * SECOND
        made, history = chat_turn(
            session_id, n, history, f"Question number {n}?", f"Answer number {n}.", start_ns=start
        )
        observations.extend(made)
    store.write([MappedBatch(project_id=project_id, observations=tuple(observations))])
    return history


def write_observations(store: Store, project_id: str, observations: list[Observation]) -> None:
    store.write([MappedBatch(project_id=project_id, observations=tuple(observations))])
