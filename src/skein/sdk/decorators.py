"""`@observe`: trace a function (sync, async, generator or async generator) as an observation.

The observation is current while the function runs, so nested `@observe` calls, spans and
`get_client().update_current_*` calls inside attach to it. For generators it is current while
each item is produced and ends when the generator is exhausted or closed; the output is the
items (joined when they are all strings, or passed to `transform_to_string`).

Guard rails: an SDK failure is logged once and the function runs as if untraced; the
function's own exceptions are recorded on the observation (level ERROR, status ERROR) and
re-raised unchanged.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

from skein.sdk.client import get_client
from skein.sdk.registry import error_once
from skein.sdk.spans import ObservationType, SkeinSpan, record_error

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

CAPTURE_VARIABLES = (
    "SKEIN_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED",
    "LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED",
)
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class ObserveOptions:
    name: str
    as_type: str
    capture_input: bool
    capture_output: bool
    transform_to_string: Callable[[list[Any]], str] | None
    skip_first_argument: bool  # a method's self/cls is not recorded as input


@dataclass(slots=True)
class TracedCall:
    """One call in progress: its observation and the context token to detach."""

    observation: SkeinSpan
    context: otel_context.Context
    token: object | None = None


@overload
def observe(func: F) -> F: ...


@overload
def observe(
    func: None = None,
    *,
    name: str | None = None,
    as_type: ObservationType | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
    transform_to_string: Callable[[list[Any]], str] | None = None,
) -> Callable[[F], F]: ...


def observe(
    func: F | None = None,
    *,
    name: str | None = None,
    as_type: ObservationType | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
    transform_to_string: Callable[[list[Any]], str] | None = None,
) -> F | Callable[[F], F]:
    """Trace the decorated function: `@observe`, `@observe()` or `@observe(name=..., ...)`."""

    def decorate(function: F) -> F:
        options = _options(function, name, as_type, capture_input, capture_output)
        options = _with_transform(options, transform_to_string)
        return cast(F, _wrap(function, options))

    return decorate(func) if func is not None else decorate


def _options(
    function: Callable[..., Any],
    name: str | None,
    as_type: str | None,
    capture_input: bool | None,
    capture_output: bool | None,
) -> ObserveOptions:
    default_capture = _capture_default()
    return ObserveOptions(
        name=name or str(getattr(function, "__name__", "observation")),
        as_type=as_type or "span",
        capture_input=default_capture if capture_input is None else capture_input,
        capture_output=default_capture if capture_output is None else capture_output,
        transform_to_string=None,
        skip_first_argument=_is_method_like(function),
    )


def _with_transform(
    options: ObserveOptions, transform: Callable[[list[Any]], str] | None
) -> ObserveOptions:
    if transform is None:
        return options
    return ObserveOptions(
        options.name,
        options.as_type,
        options.capture_input,
        options.capture_output,
        transform,
        options.skip_first_argument,
    )


def _capture_default() -> bool:
    for variable in CAPTURE_VARIABLES:
        value = os.environ.get(variable, "").strip().lower()
        if value:
            return value not in FALSE_WORDS
    return True


def _is_method_like(function: Callable[..., Any]) -> bool:
    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False
    return bool(parameters) and parameters[0] in ("self", "cls")


def _wrap(function: Callable[..., Any], options: ObserveOptions) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(function):
        return _wrap_async_generator(function, options)
    if inspect.iscoroutinefunction(function):
        return _wrap_async(function, options)
    return _wrap_sync(function, options)


# --- beginning and ending a traced call -------------------------------------------------------


def _begin(
    options: ObserveOptions, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> TracedCall | None:
    """Start the observation and make it current; None when the SDK fails."""
    try:
        fields = {"input": _input(options, args, kwargs)} if options.capture_input else {}
        observation = get_client().start_observation(
            options.name,
            as_type=options.as_type,  # type: ignore[arg-type]
            **fields,
        )
        context = otel_trace.set_span_in_context(observation.otel_span)
        return TracedCall(observation, context, otel_context.attach(context))
    except Exception as error:
        error_once(logger, "@observe could not start an observation", error)
        return None


def _input(options: ObserveOptions, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    positional = args[1:] if options.skip_first_argument else args
    return {"args": list(positional), "kwargs": kwargs}


def _leave(call: TracedCall) -> None:
    if call.token is not None:
        otel_context.detach(call.token)  # type: ignore[arg-type]
        call.token = None


def _fail(call: TracedCall | None, error: BaseException) -> None:
    """Record the user's exception on the observation and end it (never raises)."""
    if call is None:
        return
    try:
        record_error(call.observation.otel_span, error)
        _leave(call)
        call.observation.end()
    except Exception as failure:
        error_once(logger, "@observe could not record an exception", failure)


def _end(call: TracedCall, output: Any, options: ObserveOptions) -> None:
    if options.capture_output and output is not None:
        call.observation.update(output=output)
    call.observation.end()


def _finish(call: TracedCall | None, result: Any, options: ObserveOptions) -> Any:
    """End the call with RESULT as output; a returned generator is traced until exhausted."""
    if call is None:
        return result
    try:
        _leave(call)
        if inspect.isgenerator(result):
            return _traced_generator(result, call, options)
        if inspect.isasyncgen(result):
            return _traced_async_generator(result, call, options)
        _end(call, result, options)
    except Exception as error:
        error_once(logger, "@observe could not end an observation", error)
    return result


@contextmanager
def _current(call: TracedCall) -> Iterator[None]:
    token = otel_context.attach(call.context)
    try:
        yield
    finally:
        otel_context.detach(token)


def _generator_output(items: list[Any], options: ObserveOptions) -> Any:
    if options.transform_to_string is not None:
        return options.transform_to_string(items)
    if items and all(isinstance(item, str) for item in items):
        return "".join(items)
    return items


def _end_generator(call: TracedCall, items: list[Any], options: ObserveOptions) -> None:
    try:
        output = _generator_output(items, options) if options.capture_output else None
        _end(call, output, options)
    except Exception as error:
        error_once(logger, "@observe could not end a generator's observation", error)


# --- the wrappers ---------------------------------------------------------------------------


def _wrap_sync(function: Callable[P, R], options: ObserveOptions) -> Callable[P, R]:
    @functools.wraps(function)
    def traced(*args: P.args, **kwargs: P.kwargs) -> R:
        call = _begin(options, args, kwargs)
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            _fail(call, error)
            raise
        return cast(R, _finish(call, result, options))

    return traced


def _wrap_async(
    function: Callable[P, Coroutine[Any, Any, R]], options: ObserveOptions
) -> Callable[P, Coroutine[Any, Any, R]]:
    @functools.wraps(function)
    async def traced(*args: P.args, **kwargs: P.kwargs) -> R:
        call = _begin(options, args, kwargs)
        try:
            result = await function(*args, **kwargs)
        except BaseException as error:
            _fail(call, error)
            raise
        return cast(R, _finish(call, result, options))

    return traced


def _wrap_async_generator(
    function: Callable[P, AsyncGenerator[Any, Any]], options: ObserveOptions
) -> Callable[P, AsyncGenerator[Any, Any]]:
    @functools.wraps(function)
    def traced(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, Any]:
        call = _begin(options, args, kwargs)
        try:
            generator = function(*args, **kwargs)
        except BaseException as error:
            _fail(call, error)
            raise
        return cast(AsyncGenerator[Any, Any], _finish(call, generator, options))

    return traced


def _traced_generator(
    generator: Generator[Any, Any, Any], call: TracedCall, options: ObserveOptions
) -> Generator[Any, Any, Any]:
    """GENERATOR with its observation current while it runs; send/throw/close forwarded."""
    items: list[Any] = []
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            with _current(call):
                try:
                    item = generator.throw(thrown) if thrown else generator.send(sent)
                except StopIteration as stop:
                    return stop.value
            thrown = None
            if options.capture_output:
                items.append(item)
            try:
                sent = yield item
            except GeneratorExit:
                raise
            except BaseException as error:
                thrown = error
    except GeneratorExit:
        generator.close()
        raise
    except BaseException as error:
        _record(call, error)
        raise
    finally:
        _end_generator(call, items, options)


async def _traced_async_generator(
    generator: AsyncGenerator[Any, Any], call: TracedCall, options: ObserveOptions
) -> AsyncGenerator[Any, Any]:
    """The async counterpart of `_traced_generator`."""
    items: list[Any] = []
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            with _current(call):
                try:
                    item = await (generator.athrow(thrown) if thrown else generator.asend(sent))
                except StopAsyncIteration:
                    return
            thrown = None
            if options.capture_output:
                items.append(item)
            try:
                sent = yield item
            except GeneratorExit:
                raise
            except BaseException as error:
                thrown = error
    except GeneratorExit:
        await generator.aclose()
        raise
    except BaseException as error:
        _record(call, error)
        raise
    finally:
        _end_generator(call, items, options)


def _record(call: TracedCall, error: BaseException) -> None:
    try:
        record_error(call.observation.otel_span, error)
    except Exception as failure:
        error_once(logger, "@observe could not record an exception", failure)
