"""Sessions and attributes carried by the context: scopes, asyncio, threads, baggage."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.propagate import extract, inject

import skein
from skein import get_client, observe
from skein.sdk import attributes as keys
from skein.sdk.context import context_attributes
from tests.sdk.conftest import Traced, session_ids


def test_session_puts_every_span_started_inside_into_it_in_any_trace(traced: Traced) -> None:
    client = get_client()
    with skein.session("chat-42", user_id="u1"):
        with client.start_as_current_span("turn-1"):
            pass
        with client.start_as_current_span("turn-2"):
            with client.start_as_current_span("turn-2-child"):
                pass
    with client.start_as_current_span("outside"):
        pass

    spans = traced.attributes()
    assert {name: values.get(keys.SESSION_ID) for name, values in spans.items()} == {
        "turn-1": "chat-42",
        "turn-2": "chat-42",
        "turn-2-child": "chat-42",
        "outside": None,
    }
    assert spans["turn-2-child"][keys.USER_ID] == "u1"
    assert len({span.context.trace_id for span in traced.spans()}) == 3


def test_session_entered_inside_a_root_reaches_the_root_and_later_spans(traced: Traced) -> None:
    client = get_client()
    with client.start_as_current_span("root"):
        with client.start_as_current_span("before"):
            pass
        with skein.session("late-session"):
            pass
        with client.start_as_current_span("after"):
            pass

    assert set(session_ids(traced.spans()).values()) == {"late-session"}


def test_session_as_a_decorator_on_sync_and_async_functions(traced: Traced) -> None:
    @skein.session("sync-session")
    @observe()
    def sync_turn() -> str:
        return "ok"

    @skein.session("async-session")
    @observe()
    async def async_turn() -> str:
        await asyncio.sleep(0)
        return "ok"

    assert sync_turn() == "ok"
    assert asyncio.run(async_turn()) == "ok"
    assert session_ids(traced.spans()) == {
        "sync_turn": "sync-session",
        "async_turn": "async-session",
    }
    assert context_attributes() == {}, "the decorator leaves the context as it found it"


def test_nested_scopes_combine_inner_values_win_and_tags_merge(traced: Traced) -> None:
    with skein.propagate_attributes(session_id="outer", tags=["a"], metadata={"k": "v"}):
        with skein.propagate_attributes(session_id="inner", tags=["b"], trace_name="named"):
            with get_client().start_as_current_span("inner-span"):
                pass

    values = traced.attributes()["inner-span"]
    assert values[keys.SESSION_ID] == "inner"
    assert values[keys.TRACE_TAGS] == ("a", "b")
    assert values[keys.TRACE_NAME] == "named"
    assert values["langfuse.trace.metadata.k"] == "v"


def test_asyncio_gather_tasks_inherit_the_session(traced: Traced) -> None:
    @observe()
    async def step(index: int) -> int:
        await asyncio.sleep(0.001 * (3 - index))
        return index

    @observe()
    async def conversation() -> list[int]:
        with skein.session("async-chat"):
            return list(await asyncio.gather(*(step(index) for index in range(3))))

    assert asyncio.run(conversation()) == [0, 1, 2]
    spans = traced.spans()
    assert len(spans) == 4
    assert set(session_ids(spans).values()) == {"async-chat"}
    assert len({span.context.trace_id for span in spans}) == 1


def test_tasks_with_their_own_sessions_keep_them(traced: Traced) -> None:
    @observe()
    async def task(session_id: str) -> None:
        with skein.session(session_id):
            with get_client().start_as_current_span(f"work-{session_id}"):
                await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(task("s-a"), task("s-b"))

    asyncio.run(main())
    ids = session_ids(traced.spans())
    assert ids["work-s-a"] == "s-a"
    assert ids["work-s-b"] == "s-b"


def test_context_executor_carries_trace_and_session_into_threads(traced: Traced) -> None:
    @observe()
    def work(index: int) -> int:
        return index * 2

    @observe()
    def root() -> list[int]:
        with skein.session("threaded"):
            with skein.ContextExecutor(max_workers=3) as pool:
                return list(pool.map(work, range(5)))

    assert root() == [0, 2, 4, 6, 8]
    spans = traced.spans()
    assert len(spans) == 6
    assert len({span.context.trace_id for span in spans}) == 1
    assert set(session_ids(spans).values()) == {"threaded"}


def test_submit_with_context_on_a_plain_executor(traced: Traced) -> None:
    @observe(name="carried")
    def carried() -> str:
        return threading.current_thread().name

    @observe(name="plain")
    def plain() -> str:
        return threading.current_thread().name

    with skein.session("submitted"), ThreadPoolExecutor(2) as pool:
        with get_client().start_as_current_span("root"):
            worker = skein.submit_with_context(pool, carried).result()
            pool.submit(plain).result()

    assert worker != threading.current_thread().name
    spans = traced.by_name()
    assert spans["carried"].context.trace_id == spans["root"].context.trace_id
    assert spans["plain"].context.trace_id != spans["root"].context.trace_id
    assert session_ids(list(spans.values())) == {
        "root": "submitted",
        "carried": "submitted",
        "plain": None,
    }


def test_bind_context_for_a_plain_thread(traced: Traced) -> None:
    @observe()
    def work() -> None:
        return None

    with skein.session("bound"), get_client().start_as_current_span("root"):
        thread = threading.Thread(target=skein.bind_context(work))
        thread.start()
        thread.join()

    spans = traced.spans()
    assert len({span.context.trace_id for span in spans}) == 1
    assert set(session_ids(spans).values()) == {"bound"}


def test_session_and_user_travel_as_baggage_to_a_downstream_service(traced: Traced) -> None:
    headers: dict[str, str] = {}
    with skein.session("cross-service", user_id="u9", as_baggage=True):
        with get_client().start_as_current_span("upstream"):
            inject(headers)
    assert "cross-service" in headers["baggage"]

    # The downstream service: a fresh context, only the HTTP headers.
    token = otel_context.attach(extract(headers))
    try:
        with get_client().start_as_current_span("downstream"):
            pass
    finally:
        otel_context.detach(token)

    spans = traced.by_name()
    downstream = spans["downstream"].attributes or {}
    assert downstream[keys.SESSION_ID] == "cross-service"
    assert downstream[keys.USER_ID] == "u9"
    assert spans["downstream"].context.trace_id == spans["upstream"].context.trace_id


def test_langfuse_baggage_names_are_read_too(traced: Traced) -> None:
    context = baggage.set_baggage("langfuse_session_id", "from-langfuse")
    token = otel_context.attach(context)
    try:
        with get_client().start_as_current_span("reads-langfuse-baggage"):
            pass
    finally:
        otel_context.detach(token)

    assert session_ids(traced.spans()) == {"reads-langfuse-baggage": "from-langfuse"}


def test_baggage_is_not_used_unless_asked(traced: Traced) -> None:
    with skein.session("no-baggage"):
        assert baggage.get_all() == {}


@pytest.mark.parametrize(
    ("bad_id", "problem"),
    [("x" * 201, "longer than 200"), ("", "empty"), (42, "not a string")],
)
def test_a_bad_session_id_is_refused_with_one_warning(
    traced: Traced, caplog: pytest.LogCaptureFixture, bad_id: object, problem: str
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        with skein.session(bad_id):  # type: ignore[arg-type]
            with get_client().start_as_current_span("still-traced"):
                pass

    spans = traced.spans()
    assert len(spans) == 3
    assert all(keys.SESSION_ID not in (span.attributes or {}) for span in spans)
    warnings = [record.getMessage() for record in caplog.records if problem in record.getMessage()]
    assert len(warnings) == 1, caplog.text
