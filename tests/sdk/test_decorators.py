"""`@observe` on every kind of function, its switches, and its guard rails."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from skein import Skein, get_client, observe
from skein.sdk import attributes as keys
from skein.sdk.spans import SkeinSpan
from tests.sdk.conftest import Traced


def test_sync_function_records_input_output_and_nesting(traced: Traced) -> None:
    @observe()
    def child(value: int) -> int:
        return value + 1

    @observe(name="parent-step")
    def parent(value: int, *, factor: int) -> int:
        return child(value) * factor

    assert parent(2, factor=3) == 9

    spans = traced.by_name()
    parent_values = spans["parent-step"].attributes or {}
    assert json.loads(str(parent_values[keys.OBSERVATION_INPUT])) == {
        "args": [2],
        "kwargs": {"factor": 3},
    }
    assert parent_values[keys.OBSERVATION_OUTPUT] == "9"
    assert spans["child"].parent is not None
    assert spans["child"].parent.span_id == spans["parent-step"].context.span_id


def test_as_type_and_capture_switches(traced: Traced) -> None:
    @observe(as_type="generation", capture_input=False, capture_output=False)
    def private_call(secret: str) -> str:
        return secret[::-1]

    @observe(as_type="tool")
    def tool() -> dict[str, int]:
        return {"n": 1}

    private_call("hunter2")
    tool()

    spans = traced.attributes()
    assert spans["private_call"][keys.OBSERVATION_TYPE] == "generation"
    assert keys.OBSERVATION_INPUT not in spans["private_call"]
    assert keys.OBSERVATION_OUTPUT not in spans["private_call"]
    assert spans["tool"][keys.OBSERVATION_TYPE] == "tool"
    assert spans["tool"][keys.OBSERVATION_OUTPUT] == '{"n": 1}'


def test_a_methods_self_is_not_recorded_as_input(traced: Traced) -> None:
    class Agent:
        @observe()
        def answer(self, question: str) -> str:
            return question.upper()

    assert Agent().answer("why") == "WHY"
    values = traced.attributes()["answer"]
    assert json.loads(str(values[keys.OBSERVATION_INPUT])) == {"args": ["why"], "kwargs": {}}


def test_async_function(traced: Traced) -> None:
    @observe()
    async def fetch(source: str) -> dict[str, str]:
        await asyncio.sleep(0)
        get_client().update_current_trace(session_id="async-session")
        return {"data": f"some data from {source}"}

    assert asyncio.run(fetch("API")) == {"data": "some data from API"}
    values = traced.attributes()["fetch"]
    assert values[keys.SESSION_ID] == "async-session"
    assert json.loads(str(values[keys.OBSERVATION_OUTPUT])) == {"data": "some data from API"}


def test_generator_is_traced_until_exhausted_and_is_current_while_it_runs(traced: Traced) -> None:
    @observe()
    def tokens() -> Iterator[str]:
        for word in ("Hello", " ", "world"):
            with get_client().start_as_current_span(f"inside-{len(word)}"):
                pass
            yield word

    stream = tokens()
    assert traced.exporter.get_finished_spans() == ()
    assert "".join(stream) == "Hello world"

    spans = traced.by_name()
    assert (spans["tokens"].attributes or {})[keys.OBSERVATION_OUTPUT] == "Hello world"
    inner = spans["inside-5"]
    assert inner.parent is not None and inner.parent.span_id == spans["tokens"].context.span_id


def test_generator_closed_early_still_ends_its_observation(traced: Traced) -> None:
    @observe(transform_to_string=lambda items: "|".join(map(str, items)))
    def numbers() -> Iterator[int]:
        yield from range(100)

    stream = numbers()
    assert [next(stream), next(stream)] == [0, 1]
    stream.close()

    values = traced.attributes()["numbers"]
    assert values[keys.OBSERVATION_OUTPUT] == "0|1"


def test_generator_send_and_return_value_pass_through(traced: Traced) -> None:
    @observe()
    def echo() -> Any:
        received = yield "ready"
        yield f"got {received}"
        return "done"

    stream = echo()
    assert next(stream) == "ready"
    assert stream.send("ping") == "got ping"
    with pytest.raises(StopIteration) as stop:
        next(stream)
    assert stop.value.value == "done"


def test_async_generator(traced: Traced) -> None:
    @observe()
    async def chunks() -> AsyncIterator[str]:
        for chunk in ("a", "b"):
            await asyncio.sleep(0)
            yield chunk

    async def consume() -> list[str]:
        return [chunk async for chunk in chunks()]

    assert asyncio.run(consume()) == ["a", "b"]
    assert traced.attributes()["chunks"][keys.OBSERVATION_OUTPUT] == "ab"


def test_the_users_exception_is_recorded_and_reraised_unchanged(traced: Traced) -> None:
    class Boom(RuntimeError):
        pass

    @observe()
    def fails() -> None:
        raise Boom("boom from observe")

    with pytest.raises(Boom, match="boom from observe"):
        fails()

    span = traced.by_name()["fails"]
    values = span.attributes or {}
    assert values[keys.OBSERVATION_LEVEL] == "ERROR"
    assert values[keys.OBSERVATION_STATUS_MESSAGE] == "boom from observe"
    assert span.status.status_code is StatusCode.ERROR


def test_an_exception_inside_a_generator_is_recorded(traced: Traced) -> None:
    @observe()
    def broken_stream() -> Iterator[int]:
        yield 1
        raise ValueError("stream broke")

    with pytest.raises(ValueError, match="stream broke"):
        list(broken_stream())
    assert traced.attributes()["broken_stream"][keys.OBSERVATION_LEVEL] == "ERROR"


def test_async_exception_is_recorded(traced: Traced) -> None:
    @observe()
    async def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        asyncio.run(fails())
    assert traced.attributes()["fails"][keys.OBSERVATION_LEVEL] == "ERROR"


class BrokenSkein(Skein):
    """A client whose SDK side fails: `@observe` must still run the function."""

    def start_observation(self, *args: Any, **kwargs: Any) -> SkeinSpan:
        raise RuntimeError("the SDK is broken")


def test_an_sdk_failure_never_breaks_the_traced_function(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenSkein(span_exporter=None, public_key="pk", secret_key="sk")
    calls: list[int] = []

    @observe()
    def work(value: int) -> int:
        calls.append(value)
        return value * 10

    try:
        with caplog.at_level(logging.WARNING):
            assert [work(1), work(2)] == [10, 20]
    finally:
        broken.shutdown()
    assert calls == [1, 2]
    failures = [r for r in caplog.records if "could not start an observation" in r.getMessage()]
    assert len(failures) == 1


def test_unserializable_output_does_not_break_anything(traced: Traced) -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    @observe()
    def make() -> Opaque:
        return Opaque()

    assert isinstance(make(), Opaque)
    assert traced.attributes()["make"][keys.OBSERVATION_OUTPUT] == '"<Opaque>"'
