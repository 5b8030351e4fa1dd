"""Attributes carried by the context: `propagate_attributes`, `session`, thread-pool helpers.

Values entered with `propagate_attributes(...)` or `session(...)` live in the OpenTelemetry
context (a `contextvars` variable), so every span started inside gets them: in nested calls, in
asyncio tasks created inside (tasks copy the context), and in worker threads started through
`submit_with_context` / `ContextExecutor` / `bind_context`. A plain `threading.Thread` or
`ThreadPoolExecutor.submit` starts with an empty context: use the helpers there.

With `as_baggage=True` the session and user ids also go into W3C baggage, which OpenTelemetry
propagators send on outgoing HTTP calls; a downstream service that uses this SDK and extracts
the incoming context puts its spans in the same session.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from opentelemetry import baggage as otel_baggage
from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

from skein.sdk import attributes as keys
from skein.sdk.attributes import AttributeMap, AttributeValue
from skein.sdk.registry import error_once

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

PROPAGATED_KEY = otel_context.create_key("skein-propagated-attributes")
# Baggage entries read on span start: Skein's own names first, then the Langfuse SDK's.
BAGGAGE_KEYS = {
    keys.SESSION_ID: ("session.id", "langfuse_session_id"),
    keys.USER_ID: ("user.id", "langfuse_user_id"),
}


def context_attributes(context: otel_context.Context | None = None) -> AttributeMap:
    """The attributes the given (or current) context carries for new spans."""
    values: Mapping[str, AttributeValue] | None = otel_context.get_value(PROPAGATED_KEY, context)  # type: ignore[assignment]
    found: AttributeMap = dict(values) if values else {}
    entries = otel_baggage.get_all(context)
    if entries:
        _add_baggage(found, entries)
    return found


def _add_baggage(found: AttributeMap, entries: Mapping[str, object]) -> None:
    for attribute, names in BAGGAGE_KEYS.items():
        if attribute in found:
            continue
        value = next((entries[name] for name in names if name in entries), None)
        checked = keys.checked_id(attribute.split(".")[0], value) if value is not None else None
        if checked is not None:
            found[attribute] = checked


def fill_missing(
    current: Mapping[str, object], defaults: Mapping[str, AttributeValue]
) -> AttributeMap:
    """The entries of DEFAULTS that CURRENT lacks; tags are merged instead."""
    added: AttributeMap = {key: value for key, value in defaults.items() if key not in current}
    tags = defaults.get(keys.TRACE_TAGS)
    own_tags = current.get(keys.TRACE_TAGS)
    if isinstance(tags, tuple) and isinstance(own_tags, tuple | list):
        merged = keys.merged_tags(own_tags, tags)
        if merged != tuple(own_tags):
            added[keys.TRACE_TAGS] = merged
    return added


class AttributeScope:
    """A context manager (and decorator) that puts attributes on every span started inside."""

    def __init__(self, attributes: AttributeMap, baggage: Mapping[str, str]) -> None:
        self._attributes = attributes
        self._baggage = baggage
        self._tokens: list[object] = []

    def __enter__(self) -> AttributeScope:
        try:
            self._tokens.append(otel_context.attach(self._entered_context()))
            self._fill_current_span()
        except Exception as error:  # never break the user's code
            error_once(logger, "could not enter the attribute context", error)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._tokens:
            otel_context.detach(self._tokens.pop())  # type: ignore[arg-type]

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        """Use the scope as a decorator: entered afresh around every call."""
        if inspect.iscoroutinefunction(function):
            return cast(Callable[P, R], self._wrap_async(function))
        return self._wrap_sync(function)

    def _wrap_sync(self, function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._copy():
                return function(*args, **kwargs)

        return wrapper

    def _wrap_async(
        self, function: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._copy():
                return await function(*args, **kwargs)

        return wrapper

    def _copy(self) -> AttributeScope:
        return AttributeScope(self._attributes, self._baggage)

    def _entered_context(self) -> otel_context.Context:
        outer = context_attributes()
        merged: AttributeMap = {**outer, **self._attributes}
        merged.update(_merged_tag_entry(outer, self._attributes))
        context = otel_context.set_value(PROPAGATED_KEY, merged)
        for name, value in self._baggage.items():
            context = otel_baggage.set_baggage(name, value, context)
        return context

    def _fill_current_span(self) -> None:
        span = otel_trace.get_current_span()
        if not span.is_recording():
            return
        current: Mapping[str, object] = getattr(span, "attributes", None) or {}
        added = fill_missing(current, self._attributes)
        if added:
            span.set_attributes(added)


def _merged_tag_entry(outer: AttributeMap, inner: AttributeMap) -> AttributeMap:
    outer_tags, inner_tags = outer.get(keys.TRACE_TAGS), inner.get(keys.TRACE_TAGS)
    if isinstance(outer_tags, tuple) and isinstance(inner_tags, tuple):
        return {keys.TRACE_TAGS: keys.merged_tags(outer_tags, inner_tags)}
    return {}


def propagate_attributes(
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    version: str | None = None,
    tags: Iterable[str] | None = None,
    trace_name: str | None = None,
    as_baggage: bool = False,
) -> AttributeScope:
    """Put trace-level attributes on every span started inside (and on the current span).

    Nested scopes combine: inner values win, tags are merged. Use as `with` or as a decorator.
    """
    found = _scope_attributes(session_id, user_id, metadata, version, tags, trace_name)
    return AttributeScope(found, _baggage_entries(found) if as_baggage else {})


def session(
    session_id: str, *, user_id: str | None = None, as_baggage: bool = False
) -> AttributeScope:
    """Put every span started inside, in any trace, into session SESSION_ID.

    `with skein.session("chat-42", user_id="u1"): ...` or `@skein.session("chat-42")` on a
    sync or async function.
    """
    return propagate_attributes(session_id=session_id, user_id=user_id, as_baggage=as_baggage)


def _scope_attributes(
    session_id: object,
    user_id: object,
    metadata: Mapping[str, Any] | None,
    version: str | None,
    tags: Iterable[str] | None,
    trace_name: str | None,
) -> AttributeMap:
    found: AttributeMap = {}
    if session_id is not None and (checked := keys.checked_id("session", session_id)):
        found[keys.SESSION_ID] = checked
    if user_id is not None and (checked := keys.checked_id("user", user_id)):
        found[keys.USER_ID] = checked
    if metadata:
        found.update(keys.metadata_attributes(keys.TRACE_METADATA, metadata))
    if version is not None:
        found[keys.VERSION] = str(version)
    if tags:
        found[keys.TRACE_TAGS] = keys.tag_tuple(tags)
    if trace_name is not None:
        found[keys.TRACE_NAME] = str(trace_name)
    return found


def _baggage_entries(found: AttributeMap) -> dict[str, str]:
    return {name: str(found[name]) for name in BAGGAGE_KEYS if name in found}


def submit_with_context(
    executor: Executor, function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
) -> Future[R]:
    """`executor.submit(function, ...)` run in a copy of the caller's context.

    The worker's spans join the caller's trace and get its session and other attributes.
    """
    return executor.submit(_in_copied_context(function, *args, **kwargs))


def _in_copied_context(
    function: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> Callable[[], R]:
    """A call of FUNCTION that will run in a copy of the current (the caller's) context."""
    context = contextvars.copy_context()

    def run() -> R:
        return context.run(function, *args, **kwargs)

    return run


def bind_context(function: Callable[P, R]) -> Callable[P, R]:
    """FUNCTION bound to a copy of the current context, e.g. for `threading.Thread(target=...)`.

    Each call runs in its own copy, so the result may be called from several threads.
    """
    context = contextvars.copy_context()

    @functools.wraps(function)
    def bound(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.copy().run(function, *args, **kwargs)

    return bound


class ContextExecutor(ThreadPoolExecutor):
    """A `ThreadPoolExecutor` whose tasks run in a copy of the submitter's context.

    `submit` and `map` both carry the current trace, session and attributes into the workers.
    """

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        return super().submit(_in_copied_context(fn, *args, **kwargs))
