"""LangChain and LangGraph tracing: `CallbackHandler`, a langchain-core callback handler.

    handler = CallbackHandler(session_id="chat-42", user_id="u1")
    chain.invoke(inputs, config={"callbacks": [handler]})

Every run (chain, chat model or LLM, tool, retriever) becomes an observation, nested by the
runs' parent ids, and under the current OpenTelemetry span when one is active (so `@observe`
around a chain gives one trace). Chat models and LLMs are generations with model name, model
parameters, input messages, output (tool calls included), usage and completion start time.

The session id comes from the constructor, else from the run's metadata under any of
`langfuse_session_id`, `langfuseSessionId`, `session_id`, `sessionId` or LangGraph's
`thread_id`; the user id likewise. It goes on **every** span of the run, a chat model
invoked directly included. langchain-core is not a dependency of the SDK: install it to use
this module.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

try:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.documents import Document
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatGeneration, LLMResult
except ImportError as missing:  # pragma: no cover - exercised only without langchain-core
    raise ImportError(
        "skein.langchain needs langchain-core, which the Skein SDK does not install: "
        "pip install langchain-core"
    ) from missing

from skein.sdk import attributes as keys
from skein.sdk.attributes import AttributeMap
from skein.sdk.client import Skein, get_client
from skein.sdk.registry import error_once
from skein.sdk.spans import SkeinSpan, record_error

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

SESSION_KEYS = (
    "langfuse_session_id",
    "langfuseSessionId",
    "session_id",
    "sessionId",
    "thread_id",
    "threadId",
)
USER_KEYS = ("langfuse_user_id", "langfuseUserId", "user_id", "userId")
TAG_KEYS = ("langfuse_tags", "langfuseTags")
TRACE_NAME_KEYS = ("langfuse_trace_name", "langfuseTraceName")
HIDDEN_TAG = "langsmith:hidden"
MODEL_KEYS = ("model", "model_name", "model_id", "deployment_name")
ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
MAX_DEPTH = 12


@dataclass(slots=True)
class Run:
    """A run the handler is tracing."""

    observation: SkeinSpan
    trace_values: AttributeMap
    completion_start: datetime.datetime | None = None


def guarded(method: Callable[P, R]) -> Callable[P, R | None]:
    """A callback that logs its own failures once instead of raising into LangChain."""

    def callback(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return method(*args, **kwargs)
        except Exception as error:
            error_once(logger, f"LangChain callback {method.__name__} failed", error)
            return None

    callback.__name__ = method.__name__
    callback.__doc__ = method.__doc__
    return callback


class CallbackHandler(BaseCallbackHandler):
    """Traces LangChain / LangGraph runs into Skein, in the right session."""

    raise_error = False
    run_inline = True

    def __init__(
        self,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        trace_name: str | None = None,
        client: Skein | None = None,
    ) -> None:
        super().__init__()
        self._client = client
        self._fixed = _fixed_trace_values(session_id, user_id, tags, metadata, trace_name)
        self._lock = threading.Lock()
        self._runs: dict[UUID, Run] = {}
        self._hidden: dict[UUID, UUID | None] = {}
        self.last_trace_id: str | None = None

    # --- chains ------------------------------------------------------------------------------

    @guarded
    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        name = _run_name(serialized, kwargs, "Chain")
        fields = {"input": _plain(inputs)}
        self._start(run_id, parent_run_id, name, "chain", tags, metadata, fields)

    @guarded
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        self._end(run_id, {"output": _plain(outputs)})

    @guarded
    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any:
        self._fail(run_id, error)

    # --- chat models and LLMs ----------------------------------------------------------------

    @guarded
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        batches = [[_message(message) for message in batch] for batch in messages]
        prompt = batches[0] if len(batches) == 1 else batches
        self._start_generation(run_id, parent_run_id, serialized, prompt, tags, metadata, kwargs)

    @guarded
    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        prompt = prompts[0] if len(prompts) == 1 else prompts
        self._start_generation(run_id, parent_run_id, serialized, prompt, tags, metadata, kwargs)

    @guarded
    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.completion_start is None:
                run.completion_start = datetime.datetime.now(datetime.UTC)

    @guarded
    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> Any:
        with self._lock:
            run = self._runs.get(run_id)
        fields = _generation_result(response)
        if run is not None and run.completion_start is not None:
            fields["completion_start_time"] = run.completion_start
        self._end(run_id, fields)

    @guarded
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any:
        self._fail(run_id, error)

    # --- tools and retrievers ----------------------------------------------------------------

    @guarded
    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        name = _run_name(serialized, kwargs, "Tool")
        fields = {"input": _plain(inputs) if inputs else input_str}
        self._start(run_id, parent_run_id, name, "tool", tags, metadata, fields)

    @guarded
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> Any:
        self._end(run_id, {"output": _plain(getattr(output, "content", output))})

    @guarded
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any:
        self._fail(run_id, error)

    @guarded
    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        name = _run_name(serialized, kwargs, "Retriever")
        self._start(run_id, parent_run_id, name, "retriever", tags, metadata, {"input": query})

    @guarded
    def on_retriever_end(
        self, documents: Sequence[Document], *, run_id: UUID, **kwargs: Any
    ) -> Any:
        self._end(run_id, {"output": [_plain(document) for document in documents]})

    @guarded
    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any:
        self._fail(run_id, error)

    # --- internals ---------------------------------------------------------------------------

    def _start_generation(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        serialized: dict[str, Any] | None,
        prompt: Any,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> None:
        parameters = kwargs.get("invocation_params") or {}
        fields: dict[str, Any] = {
            "input": prompt,
            "model": _model_name(parameters, metadata or {}, serialized or {}),
            "model_parameters": _model_parameters(parameters),
        }
        name = _run_name(serialized, kwargs, "LLM")
        self._start(run_id, parent_run_id, name, "generation", tags, metadata, fields)

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        as_type: str,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        fields: dict[str, Any],
    ) -> None:
        with self._lock:
            parent_id = self._visible_parent(parent_run_id)
            if HIDDEN_TAG in (tags or ()):
                self._hidden[run_id] = parent_id
                return
            parent = self._runs.get(parent_id) if parent_id else None
        values = self._trace_values(parent, metadata or {}, tags or [])
        if metadata:
            fields["metadata"] = metadata
        observation = self._open(parent, name, as_type, fields)
        observation.otel_span.set_attributes(values)
        with self._lock:
            self._runs[run_id] = Run(observation, values)
            if parent is None:
                self.last_trace_id = observation.trace_id

    def _open(
        self, parent: Run | None, name: str, as_type: str, fields: dict[str, Any]
    ) -> SkeinSpan:
        if parent is not None:
            return parent.observation.start_observation(name, as_type, **fields)  # type: ignore[arg-type]
        client = self._client or get_client()
        return client.start_observation(name, as_type=as_type, **fields)  # type: ignore[arg-type]

    def _visible_parent(self, parent_run_id: UUID | None) -> UUID | None:
        """The nearest ancestor that has an observation (hidden runs are skipped)."""
        while parent_run_id is not None and parent_run_id in self._hidden:
            parent_run_id = self._hidden[parent_run_id]
        return parent_run_id

    def _trace_values(
        self, parent: Run | None, metadata: Mapping[str, Any], tags: list[str]
    ) -> AttributeMap:
        """Constructor values, then the parent run's, then this run's metadata (first wins)."""
        values: AttributeMap = dict(parent.trace_values) if parent else dict(self._fixed)
        for key, value in _metadata_trace_values(metadata).items():
            values.setdefault(key, value)
        if parent is None and tags:
            known = values.get(keys.TRACE_TAGS, ())
            assert isinstance(known, tuple)
            values[keys.TRACE_TAGS] = keys.merged_tags(known, tags)
        return values

    def _end(self, run_id: UUID, fields: dict[str, Any]) -> None:
        with self._lock:
            self._hidden.pop(run_id, None)
            run = self._runs.pop(run_id, None)
        if run is not None:
            run.observation.update(**fields).end()

    def _fail(self, run_id: UUID, error: BaseException) -> None:
        with self._lock:
            self._hidden.pop(run_id, None)
            run = self._runs.pop(run_id, None)
        if run is not None:
            record_error(run.observation.otel_span, error)
            run.observation.end()


# --- trace-level values ------------------------------------------------------------------------


def _fixed_trace_values(
    session_id: str | None,
    user_id: str | None,
    tags: Iterable[str] | None,
    metadata: Mapping[str, Any] | None,
    trace_name: str | None,
) -> AttributeMap:
    values: AttributeMap = {}
    if session_id is not None and (checked := keys.checked_id("session", session_id)):
        values[keys.SESSION_ID] = checked
    if user_id is not None and (checked := keys.checked_id("user", user_id)):
        values[keys.USER_ID] = checked
    if tags:
        values[keys.TRACE_TAGS] = keys.tag_tuple(tags)
    if metadata:
        values.update(keys.metadata_attributes(keys.TRACE_METADATA, metadata))
    if trace_name:
        values[keys.TRACE_NAME] = str(trace_name)
    return values


def _metadata_trace_values(metadata: Mapping[str, Any]) -> AttributeMap:
    values: AttributeMap = {}
    session = _first_value(metadata, SESSION_KEYS)
    if session is not None and (checked := keys.checked_id("session", session)):
        values[keys.SESSION_ID] = checked
    user = _first_value(metadata, USER_KEYS)
    if user is not None and (checked := keys.checked_id("user", user)):
        values[keys.USER_ID] = checked
    tags = _first_value(metadata, TAG_KEYS)
    if isinstance(tags, list | tuple):
        values[keys.TRACE_TAGS] = keys.tag_tuple(tags)
    name = _first_value(metadata, TRACE_NAME_KEYS)
    if isinstance(name, str):
        values[keys.TRACE_NAME] = name
    return values


def _first_value(metadata: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    return next((metadata[name] for name in names if metadata.get(name) is not None), None)


# --- turning LangChain objects into plain data -------------------------------------------------


def _run_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    serialized = serialized or {}
    if isinstance(serialized.get("name"), str):
        return str(serialized["name"])
    path = serialized.get("id")
    if isinstance(path, list) and path:
        return str(path[-1])
    return default


def _model_name(
    parameters: Mapping[str, Any], metadata: Mapping[str, Any], serialized: Mapping[str, Any]
) -> str | None:
    for source in (parameters, serialized.get("kwargs") or {}):
        for key in MODEL_KEYS:
            if isinstance(source.get(key), str):
                return str(source[key])
    model = metadata.get("ls_model_name")
    return model if isinstance(model, str) else None


def _model_parameters(parameters: Mapping[str, Any]) -> dict[str, Any] | None:
    found = {
        key: value
        for key, value in parameters.items()
        if key not in MODEL_KEYS
        and not key.startswith("_")
        and isinstance(value, str | int | float | bool)
    }
    return found or None


def _message(message: BaseMessage) -> dict[str, Any]:
    """A message as `{role, content}` plus tool calls, tool call id and name when present."""
    role = ROLES.get(message.type) or str(getattr(message, "role", message.type))
    found: dict[str, Any] = {"role": role, "content": _plain(message.content)}
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        found["tool_calls"] = [_tool_call(call) for call in tool_calls]
    for extra in ("tool_call_id", "name"):
        value = getattr(message, extra, None)
        if value:
            found[extra] = value
    return found


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": call.get("id"), "name": call.get("name"), "arguments": _plain(call.get("args"))}


def _plain(value: Any, depth: int = 0) -> Any:
    """VALUE with LangChain messages, prompt values and documents turned into plain data."""
    if depth > MAX_DEPTH:
        return repr(value)
    if isinstance(value, BaseMessage):
        return _message(value)
    if isinstance(value, Document):
        return {"page_content": value.page_content, "metadata": _plain(value.metadata, depth + 1)}
    if callable(getattr(value, "to_messages", None)):
        return [_message(message) for message in value.to_messages()]
    if isinstance(value, Mapping):
        return {str(key): _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, depth + 1) for item in value]
    return value


def _generation_result(response: LLMResult) -> dict[str, Any]:
    """Output, usage and (when the provider reports it) model of an LLM result."""
    last = (
        response.generations[-1][-1] if response.generations and response.generations[-1] else None
    )
    fields: dict[str, Any] = {}
    if isinstance(last, ChatGeneration):
        fields["output"] = _message(last.message)
    elif last is not None:
        fields["output"] = last.text
    usage = _usage(last, response.llm_output or {})
    if usage:
        fields["usage_details"] = usage
    model = (response.llm_output or {}).get("model_name")
    if isinstance(model, str):
        fields["model"] = model
    return fields


def _usage(last: Any, llm_output: Mapping[str, Any]) -> dict[str, int]:
    metadata = getattr(getattr(last, "message", None), "usage_metadata", None)
    if metadata:
        return _usage_from_metadata(metadata)
    reported = llm_output.get("token_usage") or llm_output.get("usage") or {}
    return _usage_from_counts(reported) if isinstance(reported, Mapping) else {}


def _usage_from_metadata(metadata: Mapping[str, Any]) -> dict[str, int]:
    usage = _usage_from_counts(metadata)
    for direction in ("input", "output"):
        details = metadata.get(f"{direction}_token_details") or {}
        for name, count in details.items():
            if isinstance(count, int):
                usage[f"{direction}_{name}"] = count
    return usage


def _usage_from_counts(counts: Mapping[str, Any]) -> dict[str, int]:
    names = {
        "input_tokens": "input",
        "prompt_tokens": "input",
        "output_tokens": "output",
        "completion_tokens": "output",
        "total_tokens": "total",
    }
    usage: dict[str, int] = {}
    for source, target in names.items():
        count = counts.get(source)
        if isinstance(count, int) and not isinstance(count, bool):
            usage.setdefault(target, count)
    return usage
