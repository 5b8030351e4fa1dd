from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from skein.ingest.conventions import SESSION_ALIASES, USER_ALIASES, read_id
from skein.ingest.mapping import (
    MAX_TIME_NS,
    MIN_TIME_NS,
    READ_KEYS,
    IngestContext,
    KeyShape,
    MappingError,
    RequestMemo,
    key_shape,
    map_request,
    map_span,
    normalised_environment,
    read_environment,
    read_session_id,
    sends_python_repr,
)
from skein.ingest.otlp import decode_request
from skein.records import (
    LEVELS,
    OBSERVATION_TYPES,
    STATUS_ERROR,
    STATUS_OK,
    DecodedRequest,
    IngestWarning,
    MappedBatch,
    Observation,
    RejectedSpan,
    Span,
)
from tests.factories import (
    DURATION_NS,
    SPAN_ID,
    START_NS,
    TRACE_ID,
    make_event,
    make_resource,
    make_span,
)
from tests.vectors.wire import WireRequest, all_wire_requests

NO_CONTEXT = IngestContext()
PYTHON_V5 = IngestContext("python", "5.0.4", 4)
PYTHON_V4 = IngestContext("python", "4.18.0")
JS_V5 = IngestContext("javascript", "5.11.1")
LANGFUSE_SDK = make_resource(scope_name="langfuse-sdk", scope_version="5.0.4")
LEGACY_SDK = make_resource(scope_name="langfuse-sdk", scope_version="3.2.0")
VERCEL_AI = make_resource(scope_name="ai")


def mapped(context: IngestContext = NO_CONTEXT, **overrides: Any) -> Observation:
    observation, _ = map_span(make_span(**overrides), context)
    return observation


def warnings_of(**overrides: Any) -> list[IngestWarning]:
    return map_span(make_span(**overrides), NO_CONTEXT)[1]


def iso_ns(text: str) -> int:
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


# ── Ids, roots and times ──────────────────────────────────────────────────────────────


def test_a_plain_span_maps_to_a_default_root_span_observation() -> None:
    observation = mapped()
    assert (observation.id, observation.trace_id) == (SPAN_ID, TRACE_ID)
    assert observation.parent_id is None and observation.is_root
    assert (observation.name, observation.type, observation.level) == ("span", "SPAN", "DEFAULT")
    assert (observation.start_ns, observation.end_ns) == (START_NS, START_NS + DURATION_NS)
    assert observation.environment == "default"
    assert observation.total_cost is None and observation.usage == {}


@pytest.mark.parametrize(
    ("parent", "as_root", "parent_id", "is_root"),
    [
        ("a1b2c3d4e5f60718", None, "a1b2c3d4e5f60718", False),
        ("a1b2c3d4e5f60718", True, "a1b2c3d4e5f60718", True),
        ("a1b2c3d4e5f60718", "true", "a1b2c3d4e5f60718", True),
        ("a1b2c3d4e5f60718", "no", "a1b2c3d4e5f60718", False),
        ("", None, None, True),
        ("0000000000000000", None, None, True),
    ],
)
def test_roots(parent: str, as_root: Any, parent_id: str | None, is_root: bool) -> None:
    attributes = {} if as_root is None else {"langfuse.internal.as_root": as_root}
    observation = mapped(parent_span_id=parent, attributes=attributes)
    assert (observation.parent_id, observation.is_root) == (parent_id, is_root)


@pytest.mark.parametrize(
    ("trace_id", "span_id"), [("", SPAN_ID), (TRACE_ID, ""), ("0" * 32, SPAN_ID)]
)
def test_spans_without_ids_are_refused(trace_id: str, span_id: str) -> None:
    with pytest.raises(MappingError, match="id"):
        map_span(make_span(trace_id=trace_id, span_id=span_id), NO_CONTEXT)


@pytest.mark.parametrize(
    ("start_ns", "end_ns", "word"),
    [
        (0, 0, "neither"),
        (1, 2, "start"),
        (MIN_TIME_NS - 1, MIN_TIME_NS, "start"),
        (START_NS, MAX_TIME_NS + 1, "end"),
        (-START_NS, START_NS, "start"),
        (10**30, 10**30, "start"),
    ],
)
def test_spans_with_unusable_times_are_refused(start_ns: int, end_ns: int, word: str) -> None:
    with pytest.raises(MappingError, match=word):
        map_span(make_span(start_ns=start_ns, end_ns=end_ns), NO_CONTEXT)


def test_the_time_window_is_1970_01_02_to_2262_01_01_within_int64_ns() -> None:
    assert MIN_TIME_NS == iso_ns("1970-01-02T00:00:00")
    assert MAX_TIME_NS == iso_ns("2262-01-01T00:00:00") < 2**63
    observation = mapped(start_ns=MIN_TIME_NS, end_ns=MAX_TIME_NS)
    assert (observation.start_ns, observation.end_ns) == (MIN_TIME_NS, MAX_TIME_NS)


def test_a_missing_start_or_end_copies_the_other() -> None:
    assert mapped(start_ns=0, end_ns=START_NS).start_ns == START_NS
    assert mapped(start_ns=START_NS, end_ns=0).end_ns == START_NS


def test_an_end_before_the_start_is_clamped_with_a_warning() -> None:
    span = make_span(start_ns=START_NS, end_ns=START_NS - 5)
    observation, warnings = map_span(span, NO_CONTEXT)
    assert observation.end_ns == START_NS
    [warning] = warnings
    assert (warning.code, warning.trace_id, warning.span_id) == (
        "end_before_start",
        TRACE_ID,
        SPAN_ID,
    )
    assert "5 ns" in warning.message


# ── Name, type, level ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("attributes", "name"),
    [
        ({"gen_ai.tool.name": "search", "logfire.msg": "m"}, "search"),
        ({"genkit:name": "flow", "logfire.msg": "m"}, "flow"),
        ({"logfire.msg": "m", "ai.toolCall.name": "t"}, "m"),
        ({"ai.toolCall.name": "t", "ai.operationId": "ai.generateText"}, "t"),
        (
            {"ai.operationId": "ai.generateText", "ai.telemetry.functionId": "f"},
            "f:ai.generateText",
        ),
        ({"ai.operationId": "ai.generateText"}, "ai.generateText"),
        ({"gen_ai.tool.name": ["not", "text"]}, "span"),
        ({}, "span"),
    ],
)
def test_observation_name(attributes: dict[str, Any], name: str) -> None:
    assert mapped(attributes=attributes).name == name


@pytest.mark.parametrize("kind", [k.lower() for k in OBSERVATION_TYPES] + ["AGENT", " Tool "])
def test_langfuse_type_attribute(kind: str) -> None:
    assert mapped(attributes={"langfuse.observation.type": kind}).type == kind.strip().upper()


@pytest.mark.parametrize(
    ("attributes", "kind"),
    [
        # 1. langfuse.observation.type beats everything; unknown values fall through.
        ({"langfuse.observation.type": "tool", "openinference.span.kind": "LLM"}, "TOOL"),
        ({"langfuse.observation.type": "widget", "openinference.span.kind": "LLM"}, "GENERATION"),
        # 2. OpenInference span kinds.
        ({"openinference.span.kind": "LLM"}, "GENERATION"),
        ({"openinference.span.kind": "retriever"}, "RETRIEVER"),
        ({"openinference.span.kind": "RERANKER"}, "SPAN"),
        ({"openinference.span.kind": "CHAIN", "gen_ai.operation.name": "chat"}, "CHAIN"),
        # 3. GenAI operation names.
        ({"gen_ai.operation.name": "chat"}, "GENERATION"),
        ({"gen_ai.operation.name": "generate_content"}, "GENERATION"),
        ({"gen_ai.operation.name": "embeddings"}, "EMBEDDING"),
        ({"gen_ai.operation.name": "invoke_agent"}, "AGENT"),
        ({"gen_ai.operation.name": "execute_tool", "gen_ai.request.model": "m"}, "TOOL"),
        # 4. Genkit.
        ({"genkit:metadata:subtype": "embedder"}, "EMBEDDING"),
        # 5. Vercel generation-like operations, only with a model.
        ({"operation.name": "ai.streamText.doStream chat", "ai.model.id": "m"}, "GENERATION"),
        ({"ai.operationId": "ai.embedMany.doEmbed", "ai.model.id": "m"}, "EMBEDDING"),
        ({"ai.operationId": "ai.generateText.doGenerate"}, "SPAN"),
        # 6. Vercel tool calls.
        ({"operation.name": "ai.toolCall my-fn"}, "TOOL"),
        ({"ai.operationId": "ai.toolCall"}, "TOOL"),
        # 7. GenAI tool attributes.
        ({"gen_ai.tool.call.id": "call-1"}, "TOOL"),
        ({"gen_ai.tool.name": "search", "gen_ai.request.model": "m"}, "TOOL"),
        # 10. Any model attribute.
        ({"gen_ai.request.model": "m"}, "GENERATION"),
        ({"llm.model_name": "m"}, "GENERATION"),
        ({"model": "m"}, "GENERATION"),
        ({"model": ["not", "a", "name"]}, "SPAN"),
        ({"langfuse.observation.type": 5}, "SPAN"),
    ],
)
def test_observation_type_priorities(attributes: dict[str, Any], kind: str) -> None:
    assert mapped(attributes=attributes).type == kind


@pytest.mark.parametrize(
    ("version", "kind"), [("3.2.1", "GENERATION"), ("3.3.0", "GENERATION"), ("3.4.0", "SPAN")]
)
def test_python_sdk_up_to_3_3_sent_generations_as_spans(version: str, kind: str) -> None:
    resource = make_resource(scope_name="langfuse-sdk", scope_version=version)
    attributes = {"langfuse.observation.type": "span", "langfuse.observation.usage_details": "{}"}
    assert mapped(attributes=attributes, resource=resource).type == kind
    assert (
        mapped(attributes={"langfuse.observation.type": "span"}, resource=resource).type == "SPAN"
    )


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("debug", "DEBUG"),
        ("TRACE", "DEBUG"),
        ("verbose", "DEBUG"),
        ("info", "DEFAULT"),
        ("Success", "DEFAULT"),
        ("warn", "WARNING"),
        ("WARNING", "WARNING"),
        ("fatal", "ERROR"),
        ("critical", "ERROR"),
        ("error", "ERROR"),
        ("nonsense", "DEFAULT"),
        (3, "DEFAULT"),
    ],
)
def test_level_aliases(value: Any, level: str) -> None:
    assert mapped(attributes={"langfuse.observation.level": value}).level == level


def test_an_explicit_level_beats_the_otel_status() -> None:
    attributes = {"langfuse.observation.level": "WARNING"}
    assert mapped(attributes=attributes, status_code=STATUS_ERROR).level == "WARNING"


def test_an_otel_error_status_is_an_error() -> None:
    observation = mapped(status_code=STATUS_ERROR, status_message="js boom")
    assert (observation.level, observation.status_message) == ("ERROR", "js boom")


EXCEPTION = make_event(
    "exception",
    **{"exception.type": "RuntimeError", "exception.message": "boom", "exception.stacktrace": "…"},
)


def test_an_exception_event_is_an_error_and_names_the_exception() -> None:
    observation = mapped(events=(make_event("log"), EXCEPTION))
    assert (observation.level, observation.status_message) == ("ERROR", "RuntimeError: boom")


def test_an_exception_on_a_span_marked_ok_is_not_an_error() -> None:
    assert mapped(events=(EXCEPTION,), status_code=STATUS_OK).level == "DEFAULT"


def test_status_message_precedence() -> None:
    attributes = {"langfuse.observation.status_message": "explicit"}
    span = {"status_code": STATUS_ERROR, "status_message": "otel", "events": (EXCEPTION,)}
    assert mapped(attributes=attributes, **span).status_message == "explicit"
    assert mapped(**span).status_message == "otel"
    assert (
        mapped(events=(make_event("exception", **{"exception.type": "E"}),)).status_message == "E"
    )
    assert mapped().status_message is None


# ── Environment, release, version, prompt, completion start ───────────────────────────


@pytest.mark.parametrize(
    ("value", "environment"),
    [
        ("production", "production"),
        ("Staging", "staging"),
        ("langfuse-prod", "prod"),
        ("langfuse_langfuse-dev", "dev"),
        ("langfuseqa", "qa"),
        ("langfuse", "default"),
        ("has space", "default"),
        ("é", "default"),
        ("x" * 50, "x" * 40),
        ("a_b-1", "a_b-1"),
    ],
)
def test_environment_normalisation(value: str, environment: str) -> None:
    assert normalised_environment(value) == environment


def test_environment_keys_in_order_span_before_resource() -> None:
    resource = make_resource(attributes={"langfuse.environment": "from-resource"})
    assert mapped(resource=resource).environment == "from-resource"
    span_attributes = {"deployment.environment.name": "from-span"}
    assert mapped(attributes=span_attributes, resource=resource).environment == "from-resource"
    assert mapped(attributes=span_attributes).environment == "from-span"
    both = {"deployment.environment": "legacy", "langfuse.environment": "lf"}
    assert mapped(attributes=both).environment == "lf"
    assert mapped(attributes={"langfuse.environment": ""}).environment == "default"
    assert mapped(attributes={"langfuse.environment": 5}).environment == "default"


def test_release_and_version_fall_back_to_the_resource() -> None:
    resource = make_resource(attributes={"langfuse.release": "r-res", "service.version": "9.9"})
    observation = mapped(resource=resource)
    assert (observation.release, observation.version) == ("r-res", "9.9")
    attributes = {"langfuse.release": "r-span", "langfuse.version": "v-span"}
    observation = mapped(attributes=attributes, resource=resource)
    assert (observation.release, observation.version) == ("r-span", "v-span")


@pytest.mark.parametrize("prefix", ["langfuse.observation.prompt.", "langfuse.prompt."])
def test_prompt_links_apply_to_generations_only(prefix: str) -> None:
    prompt = {prefix + "name": "greeting", prefix + "version": "3"}
    generation = mapped(attributes={**prompt, "langfuse.observation.type": "generation"})
    assert (generation.prompt_name, generation.prompt_version) == ("greeting", 3)
    span = mapped(attributes={**prompt, "langfuse.observation.type": "span"})
    assert (span.prompt_name, span.prompt_version) == (None, None)


@pytest.mark.parametrize("version", [True, "v3", -1, 2**40, "99999999999", 1.5])
def test_unusable_prompt_versions_are_dropped(version: Any) -> None:
    attributes = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.prompt.name": "p",
        "langfuse.observation.prompt.version": version,
    }
    assert mapped(attributes=attributes).prompt_version is None


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ('"2025-01-01T12:00:00Z"', "2025-01-01T12:00:00"),
        ('"2025-01-01T12:00:00.000Z"', "2025-01-01T12:00:00"),
        ("2025-01-01T12:00:00.250+00:00", "2025-01-01T12:00:00.250"),
        (json.dumps(json.dumps("2025-01-01T13:00:00+01:00")), "2025-01-01T12:00:00"),
        ("2025-01-01T12:00:00", "2025-01-01T12:00:00"),
    ],
)
def test_completion_start_time(value: str, iso: str) -> None:
    attributes = {"langfuse.observation.completion_start_time": value}
    assert mapped(attributes=attributes).completion_start_ns == iso_ns(iso)


@pytest.mark.parametrize("value", ["soon", 1_700_000_000, '"0001-01-01T00:00:00Z"', None])
def test_unreadable_completion_start_time_is_none(value: Any) -> None:
    attributes = {"langfuse.observation.completion_start_time": value}
    assert mapped(attributes=attributes).completion_start_ns is None


# ── Generation fields ─────────────────────────────────────────────────────────────────


def test_generation_fields_are_mapped() -> None:
    attributes = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": "gpt-4o-mini",
        "langfuse.observation.model.parameters": '{"temperature": 0.2}',
        "langfuse.observation.usage_details": json.dumps(
            {"input": 10, "input_cached_tokens": 2, "output": 20}
        ),
        "langfuse.observation.cost_details": '{"input": 0.25, "output": 0.5}',
        "langfuse.observation.input": '[{"role": "user", "content": "hi"}]',
        "langfuse.observation.output": "plain text",
    }
    observation = mapped(attributes=attributes)
    assert observation.type == "GENERATION"
    assert observation.model == "gpt-4o-mini"
    assert observation.model_parameters == '{"temperature": 0.2}'
    assert (observation.input_tokens, observation.output_tokens, observation.total_tokens) == (
        12,
        20,
        32,
    )
    assert observation.total_cost == 0.75
    assert observation.input == attributes["langfuse.observation.input"]
    assert observation.output == "plain text"


def test_rebuilt_input_is_stored_as_json_text() -> None:
    attributes = {"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hi"}
    assert json.loads(mapped(attributes=attributes).input or "") == [
        {"role": "user", "content": "hi"}
    ]


def test_vercel_agent_spans_do_not_count_their_steps_usage_again() -> None:
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "ai.model.id": "m",
        "ai.usage.promptTokens": 100,
        "gen_ai.usage.cost": 1.0,
    }
    agent = mapped(attributes=attributes, resource=make_resource(scope_name="ai"))
    assert (agent.type, agent.model, agent.usage, agent.total_cost) == ("AGENT", None, {}, None)
    elsewhere = mapped(attributes=attributes)
    assert (elsewhere.input_tokens, elsewhere.total_cost) == (100, 1.0)


def test_vercel_call_spans_do_not_count_their_steps_usage_again() -> None:
    # As ai 6.x sends them: the generateText span repeats the sum of its doGenerate steps.
    call = {"ai.operationId": "ai.generateText", "ai.model.id": "gpt-4o-mini"}
    call |= {"ai.usage.inputTokens": 81, "ai.usage.outputTokens": 21}
    step = {**call, "ai.operationId": "ai.generateText.doGenerate", "ai.usage.inputTokens": 33}
    in_scope = make_resource(scope_name="ai")
    outer = mapped(attributes=call, resource=in_scope)
    inner = mapped(attributes=step, resource=in_scope)
    assert (outer.type, outer.model, outer.usage, outer.input_tokens) == ("SPAN", None, {}, 0)
    assert (inner.type, inner.model, inner.input_tokens) == ("GENERATION", "gpt-4o-mini", 33)
    assert mapped(attributes=call).input_tokens == 81


@pytest.mark.parametrize(
    "attributes",
    [
        {"langfuse.observation.usage_details": 12, "langfuse.observation.cost_details": [1]},
        {"langfuse.observation.model.name": ["a"], "langfuse.observation.model.parameters": 5},
        {"gen_ai.usage.input_tokens": "lots", "llm.cost.total": {"x": 1}},
        {"langfuse.observation.input": {"nested": [1, b"\x00", math.nan]}},
        {"langfuse.trace.tags": {"a": 1}, "langfuse.trace.name": 3.5, "langfuse.trace.public": []},
    ],
)
def test_values_of_the_wrong_type_do_not_raise(attributes: dict[str, Any]) -> None:
    observation = mapped(attributes=attributes)
    json.dumps([observation.input, observation.output, dict(observation.metadata)], allow_nan=False)


# ── Trace-level values ────────────────────────────────────────────────────────────────


def test_trace_attributes_are_read_from_any_span() -> None:
    attributes = {
        "session.id": "s1",
        "langfuse.user.id": "u1",
        "langfuse.trace.name": "checkout",
        "langfuse.trace.tags": ["a", "b"],
        "langfuse.trace.metadata.tenant": '"acme"',
        "langfuse.trace.public": "true",
        "langfuse.trace.input": {"q": 1},
        "langfuse.trace.output": "done",
    }
    trace = mapped(parent_span_id="a1b2c3d4e5f60718", attributes=attributes).trace
    assert (trace.session_id, trace.session_source) == ("s1", "session.id")
    assert (trace.user_id, trace.user_source) == ("u1", "langfuse.user.id")
    assert (trace.name, trace.tags, trace.public) == ("checkout", ("a", "b"), True)
    assert trace.metadata == {"tenant": "acme"}
    assert (trace.input, trace.output) == ('{"q":1}', "done")


def test_an_unset_trace_stays_empty() -> None:
    trace = mapped().trace
    assert (trace.session_id, trace.user_id, trace.name, trace.tags, trace.public) == (
        None,
        None,
        None,
        (),
        None,
    )
    assert (trace.metadata, trace.input, trace.output) == ({}, None, None)


def test_session_and_user_metadata_keys_stay_in_the_trace_metadata() -> None:
    attributes = {
        "langfuse.trace.metadata.langfuse_session_id": '"s1"',
        "ai.telemetry.metadata.userId": "u1",
        "traceloop.association.properties.thread_id": "t1",
    }
    trace = mapped(attributes=attributes).trace
    assert (trace.session_id, trace.session_source) == (
        "s1",
        "langfuse.trace.metadata.langfuse_session_id",
    )
    assert trace.user_id == "u1"
    assert trace.metadata == {"langfuse_session_id": "s1", "userId": "u1", "thread_id": "t1"}


def test_bad_session_and_user_ids_become_warnings_and_the_span_is_kept() -> None:
    attributes = {"session.id": "s" * 201, "user.id": "", "metadata.userId": 42}
    observation, warnings = map_span(make_span(attributes=attributes), NO_CONTEXT)
    assert (observation.trace.session_id, observation.trace.user_id) == (None, None)
    assert [w.code for w in warnings] == [
        "session_id_too_long",
        "user_id_empty",
        "user_id_not_string",
    ]
    assert all((w.trace_id, w.span_id) == (TRACE_ID, SPAN_ID) for w in warnings)
    assert "201" in warnings[0].message and "'session.id'" in warnings[0].message


def test_read_session_id_reports_the_source_and_the_problems() -> None:
    value, source, problems = read_session_id({"session.id": 5, "metadata": '{"threadId": "t-1"}'})
    assert (value, source) == ("t-1", "metadata[threadId]")
    [problem] = problems
    assert "'session.id'" in problem and "number" in problem


@pytest.mark.parametrize(
    ("context", "python_repr"),
    [
        (NO_CONTEXT, True),
        (PYTHON_V4, True),
        (IngestContext("python"), True),
        (PYTHON_V5, False),
        (IngestContext("python", "5.0.4"), False),
        (IngestContext("python", "3.15.0"), False),
        (JS_V5, False),
        (IngestContext(ingestion_version=4), False),
    ],
)
def test_which_senders_may_send_python_reprs(context: IngestContext, python_repr: bool) -> None:
    assert sends_python_repr(context) is python_repr


@pytest.mark.parametrize(
    ("context", "metadata"),
    [
        (PYTHON_V4, {"flag": True, "obj": {"x": 1}, "name": "acme"}),
        (JS_V5, {"flag": "True", "obj": "{'x': 1}", "name": "acme"}),
    ],
)
def test_metadata_decoding_follows_the_sender(
    context: IngestContext, metadata: dict[str, Any]
) -> None:
    attributes = {
        "langfuse.trace.metadata.flag": "True",
        "langfuse.trace.metadata.obj": "{'x': 1}",
        "langfuse.observation.metadata.name": "acme",
    }
    observation = mapped(context, attributes=attributes)
    assert dict(observation.trace.metadata) == {"flag": metadata["flag"], "obj": metadata["obj"]}
    assert observation.metadata["name"] == metadata["name"]


# ── Observation metadata ──────────────────────────────────────────────────────────────


def test_observation_metadata_layout_for_other_instrumentations() -> None:
    attributes = {
        "langfuse.observation.metadata": '{"blob": 1}',
        "langfuse.observation.metadata.key": '"v"',
        "input.value": "question",
        "session.id": "s1",
        "gen_ai.prompt.0.content": "consumed",
        "http.method": "POST",
        "raw": b"\x01",
        "ratio": math.inf,
    }
    resource = make_resource(
        attributes={"service.name": "svc"},
        scope_name="openinference.instrumentation.openai",
        scope_version="0.1",
        scope_attributes={"k": "v"},
    )
    metadata = mapped(attributes=attributes, resource=resource).metadata
    assert metadata == {
        "blob": 1,
        "key": "v",
        "resourceAttributes": {"service.name": "svc"},
        "scope": {
            "name": "openinference.instrumentation.openai",
            "version": "0.1",
            "attributes": {"k": "v"},
        },
        "attributes": {"http.method": "POST", "raw": "AQ==", "ratio": "Infinity"},
    }


def test_observation_metadata_of_langfuse_sdk_spans_has_no_catch_all() -> None:
    attributes = {"langfuse.observation.metadata.k": "1", "custom": "x"}
    metadata = mapped(attributes=attributes, resource=LANGFUSE_SDK).metadata
    assert set(metadata) == {"k", "resourceAttributes", "scope"}
    assert metadata["scope"]["name"] == "langfuse-sdk"


def test_a_non_object_observation_metadata_blob_is_kept() -> None:
    metadata = mapped(attributes={"langfuse.observation.metadata": "just text"}).metadata
    assert metadata["metadata"] == "just text"


# ── Requests ──────────────────────────────────────────────────────────────────────────


def span_number(number: int, **overrides: Any) -> Span:
    return make_span(span_id=f"{number + 1:016x}", **overrides)


def test_map_request_keeps_good_spans_and_rejects_bad_ones_in_request_order() -> None:
    decoder_rejection = RejectedSpan(1, "bad id")
    spans = (
        span_number(0),
        span_number(2, start_ns=0, end_ns=0),
        span_number(3, attributes={"session.id": ""}),
        span_number(4, start_ns=5, end_ns=6),
    )
    batch = map_request(DecodedRequest(spans, (decoder_rejection,)), "proj", NO_CONTEXT)
    assert batch.project_id == "proj"
    assert [o.id for o in batch.observations] == [spans[0].span_id, spans[2].span_id]
    assert [(r.index, r.span_id) for r in batch.rejected] == [
        (1, None),
        (2, spans[1].span_id),
        (4, spans[3].span_id),
    ]
    assert "neither" in batch.rejected[1].reason and "1970-01-02" in batch.rejected[2].reason
    assert [w.code for w in batch.warnings] == ["session_id_empty"]


def test_map_request_of_nothing() -> None:
    batch = map_request(DecodedRequest(()), "proj", NO_CONTEXT)
    assert (batch.observations, batch.warnings, batch.rejected) == ((), (), ())


# ── Any input: never raises ───────────────────────────────────────────────────────────

KNOWN_KEYS = [
    "langfuse.session.id",
    "session.id",
    "gen_ai.conversation.id",
    "langfuse.trace.metadata.sessionId",
    "langfuse.observation.metadata.langfuse_session_id",
    "metadata.thread_id",
    "ai.telemetry.metadata.userId",
    "traceloop.association.properties.session_id",
    "langfuse.user.id",
    "user.id",
    "enduser.id",
    "langfuse.trace.metadata",
    "langfuse.observation.metadata",
    "metadata",
    "langfuse.trace.name",
    "langfuse.trace.tags",
    "langfuse.tags",
    "tag.tags",
    "langfuse.trace.public",
    "langfuse.trace.input",
    "langfuse.trace.output",
    "langfuse.internal.as_root",
    "langfuse.observation.type",
    "langfuse.observation.level",
    "langfuse.observation.status_message",
    "langfuse.observation.input",
    "langfuse.observation.output",
    "langfuse.observation.model.name",
    "langfuse.observation.model.parameters",
    "langfuse.observation.usage_details",
    "langfuse.observation.cost_details",
    "langfuse.observation.completion_start_time",
    "langfuse.observation.prompt.name",
    "langfuse.observation.prompt.version",
    "langfuse.environment",
    "deployment.environment.name",
    "langfuse.release",
    "langfuse.version",
    "openinference.span.kind",
    "gen_ai.operation.name",
    "genkit:metadata:subtype",
    "genkit:name",
    "operation.name",
    "ai.operationId",
    "ai.telemetry.functionId",
    "ai.model.id",
    "ai.prompt.messages",
    "ai.response.text",
    "ai.response.toolCalls",
    "ai.usage.promptTokens",
    "gen_ai.tool.name",
    "gen_ai.tool.call.id",
    "gen_ai.request.model",
    "gen_ai.request.temperature",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.cost",
    "gen_ai.input.messages",
    "gen_ai.system_instructions",
    "gen_ai.output.messages",
    "gen_ai.prompt.0.content",
    "gen_ai.prompt.9999.role",
    "gen_ai.completion.0.tool_calls.0.name",
    "llm.input_messages.0.message.content",
    "llm.token_count.prompt",
    "llm.cost.total",
    "llm.invocation_parameters",
    "input.value",
    "output.value",
    "mlflow.spanInputs",
    "traceloop.entity.output",
    "model",
    # Keys the readers are skipped without (see `KeyShape`), in every convention.
    "langfuse.public",
    "langfuse.prompt.name",
    "langfuse.prompt.version",
    "deployment.environment",
    "gen_ai.response.model",
    "llm.response.model",
    "llm.model_name",
    "logfire.msg",
    "ai.toolCall.name",
    "ai.toolCall.args",
    "ai.toolCall.result",
    "ai.result.text",
    "ai.usage.completionTokens",
    "gen_ai.usage.output_tokens",
    "llm.invocation_parameters.temperature",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "traceloop.entity.input",
    "mlflow.spanOutputs",
    "llm.output_messages.0.message.role",
    "ai.telemetry.metadata.tags",
    "langfuse.trace.metadata.langfuse_tags",
    "langfuse.observation.metadata.note",
    "gen_ai.conversation",
]
TRICKY_TEXT = [
    "",
    " ",
    '"s1"',
    '""',
    "null",
    "True",
    "NaN",
    "{'x': [1, 2]}",
    "(1, 2)",
    "[" * 2_000,
    "{" * 20_000,
    '"' + "x" * 500 + '"',
    "x" * 100_000,
    "1" * 5_000,
    "a,b,,c",
    "2025-01-01T12:00:00Z",
    '"\\ud800"',
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.binary(max_size=20),
    st.sampled_from(TRICKY_TEXT),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=20))
attribute_maps = st.dictionaries(keys, values, max_size=12)
events = st.builds(
    make_event,
    st.sampled_from(["exception", "gen_ai.user.message", "gen_ai.choice", "log"]),
    st.integers(min_value=0, max_value=2**64),
)
span_times = st.integers(min_value=MIN_TIME_NS, max_value=MAX_TIME_NS)
any_times = st.integers(min_value=-(2**64), max_value=2**64)
any_spans = st.builds(
    make_span,
    attributes=attribute_maps,
    events=st.lists(events, max_size=3).map(tuple),
    status_code=st.integers(min_value=-1, max_value=3),
    status_message=st.sampled_from(["", "boom"]),
    parent_span_id=st.sampled_from([None, "", "0" * 16, "a1b2c3d4e5f60718"]),
    start_ns=st.one_of(st.just(START_NS), span_times, any_times),
    end_ns=st.one_of(st.just(START_NS + 1), span_times, any_times),
    resource=st.builds(
        make_resource,
        attributes=attribute_maps,
        scope_name=st.sampled_from(["langfuse-sdk", "ai", "openinference", ""]),
    ),
)
contexts = st.sampled_from([NO_CONTEXT, PYTHON_V4, PYTHON_V5, JS_V5])


def assert_storable(observation: Observation) -> None:
    """Everything a store writes is strict JSON or text that encodes as UTF-8."""
    assert observation.type in OBSERVATION_TYPES and observation.level in LEVELS
    assert MIN_TIME_NS <= observation.start_ns <= observation.end_ns <= MAX_TIME_NS
    trace = observation.trace
    documents = [observation.metadata, trace.metadata, observation.usage, observation.cost]
    json.dumps([dict(d) for d in documents], allow_nan=False, ensure_ascii=False).encode()
    texts = [
        observation.name,
        observation.input,
        observation.output,
        observation.model,
        observation.model_parameters,
        observation.status_message,
        observation.release,
        observation.version,
        observation.prompt_name,
        trace.session_id,
        trace.user_id,
        trace.name,
        trace.input,
        trace.output,
        *trace.tags,
    ]
    for text in texts:
        assert text is None or isinstance(text, str) and text.encode("utf-8") is not None
    assert all(tag.strip() for tag in trace.tags)
    for identity in (trace.session_id, trace.user_id):
        assert identity is None or 0 < len(identity.strip()) <= len(identity) <= 200


WEIRD_VALUES = [
    ["list", 1],
    {"nested": {"dict": [1, 2]}},
    b"\x00\xff",
    math.nan,
    -math.inf,
    2**80,
    True,
    "",
    "x" * 300,
    "{" * 20_000,
    '"\\ud800"',
    "{'k': (1, 2)}",
]


@pytest.mark.parametrize("value", WEIRD_VALUES, ids=repr)
@pytest.mark.parametrize("scope_name", ["ai", "langfuse-sdk", "openinference"])
def test_every_known_key_with_a_weird_value_still_maps(value: Any, scope_name: str) -> None:
    attributes = dict.fromkeys(KNOWN_KEYS, value)
    resource = make_resource(attributes=attributes, scope_name=scope_name)
    for context in (NO_CONTEXT, PYTHON_V4, JS_V5):
        observation, _ = map_span(make_span(attributes=attributes, resource=resource), context)
        assert_storable(observation)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span=any_spans, context=contexts)
def test_any_span_maps_to_a_storable_observation_or_a_mapping_error(
    span: Span, context: IngestContext
) -> None:
    try:
        observation, warnings = map_span(span, context)
    except MappingError as error:
        assert str(error)
        return
    assert_storable(observation)
    assert all(isinstance(w, IngestWarning) for w in warnings)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spans=st.lists(any_spans, max_size=5), context=contexts)
def test_map_request_never_raises_and_accounts_for_every_span(
    spans: list[Span], context: IngestContext
) -> None:
    batch = map_request(DecodedRequest(tuple(spans)), "p", context)
    assert len(batch.observations) + len(batch.rejected) == len(spans)
    assert [r.index for r in batch.rejected] == sorted(r.index for r in batch.rejected)


# ── Replays of the captured SDK requests (tests/vectors/langfuse-wire) ────────────────


def context_of(request: WireRequest) -> IngestContext:
    version = request.header("x-langfuse-ingestion-version")
    return IngestContext(
        sdk_name=request.header("x-langfuse-sdk-name"),
        sdk_version=request.header("x-langfuse-sdk-version"),
        ingestion_version=int(version) if version else None,
    )


def replay_batch(request: WireRequest) -> MappedBatch:
    decoded = decode_request(
        request.body, request.content_type, request.content_encoding, max_decoded_bytes=1 << 26
    )
    return map_request(decoded, "proj", context_of(request))


Replays = dict[str, list[Observation]]


@pytest.fixture(scope="module")
def replays() -> Replays:
    """Every scenario's observations, keyed "sdk/scenario"."""
    found: Replays = {}
    for request in all_wire_requests():
        key = f"{request.sdk}/{request.scenario}"
        found.setdefault(key, []).extend(replay_batch(request).observations)
    return found


def tokens(observation: Observation) -> tuple[int, int, int]:
    return (observation.input_tokens, observation.output_tokens, observation.total_tokens)


def named(observations: list[Observation], name: str) -> Observation:
    [observation] = [o for o in observations if o.name == name]
    return observation


def trace_of(observations: list[Observation], name: str) -> list[Observation]:
    trace_id = named(observations, name).trace_id
    return [o for o in observations if o.trace_id == trace_id]


@pytest.mark.parametrize("request_", all_wire_requests(), ids=lambda r: r.id)
def test_every_captured_span_maps_cleanly(request_: WireRequest) -> None:
    batch = replay_batch(request_)
    assert (batch.rejected, batch.warnings) == ((), ())
    assert len(batch.observations) == len(request_.spans)
    for observation, raw in zip(batch.observations, request_.spans, strict=True):
        assert (observation.id, observation.name) == (raw["spanId"], raw["name"])
        assert observation.is_root == (
            not raw["parentSpanId"] or raw["attributes"].get("langfuse.internal.as_root") is True
        )
        assert_storable(observation)
        assert "attributes" not in observation.metadata  # all captured scopes are langfuse-sdk
        assert observation.metadata["resourceAttributes"] == raw["resourceAttributes"]


def test_python_langchain_session_ids_in_every_spelling(
    replays: Replays,
) -> None:
    observations = replays["python/e_langchain_callback"]
    for o in trace_of(observations, "chain-s1"):
        assert (o.trace.session_id, o.trace.session_source, o.trace.user_id) == (
            "s1",
            "session.id",
            "u1",
        )
    # camelCase metadata, which the SDK does not recognise, JSON-quoted by Python 5.x.
    for o in trace_of(observations, "chain-s2"):
        assert (o.trace.session_id, o.trace.user_id) == ("s2", "u2")
        assert o.trace.session_source == "langfuse.trace.metadata.langfuseSessionId"
        assert o.metadata["langfuseSessionId"] == "s2"
    # A chat model invoked directly: only observation metadata carries the id.
    direct = named(observations, "direct-model-s3")
    assert (direct.trace.session_id, direct.trace.session_source) == (
        "s3",
        "langfuse.observation.metadata.langfuse_session_id",
    )
    assert named(observations, "chain-s5-custom-trace-id").is_root
    assert named(observations, "chain-s7").trace.tags == ("cfg-tag",)


def test_python_langchain_usage(replays: Replays) -> None:
    [generation] = replays["python/e2_langchain_usage"]
    assert generation.trace.session_id == "s-usage"
    assert (generation.type, generation.model) == ("GENERATION", "fake-model-ls")
    assert dict(generation.usage) == {"input": 11, "output": 7, "total": 18}
    assert (generation.input_tokens, generation.output_tokens, generation.total_tokens) == (
        11,
        7,
        18,
    )


def test_js_langchain_snake_case_metadata_gives_a_session(
    replays: Replays,
) -> None:
    observations = replays["js/js6_langchain"]
    snake = trace_of(observations, "js-chain-snake")
    assert len(snake) == 3
    for o in snake:
        assert o.trace.session_id == "js-lc-s2"
        assert o.trace.session_source == "langfuse.observation.metadata.langfuse_session_id"
    camel = trace_of(observations, "js-chain-camel")
    assert [o.trace.session_id for o in camel if o.is_root] == ["js-lc-s1"]
    assert {o.trace.session_id for o in camel if not o.is_root} == {None}
    assert named(observations, "js-chain-ctor").trace.tags == ("ctor-tag",)


def test_python_generation_fields(replays: Replays) -> None:
    observations = replays["python/b2_observation_generation_v5"]
    generation = named(observations, "llm-call")
    assert (generation.type, generation.model, generation.is_root) == (
        "GENERATION",
        "gpt-4o-mini",
        False,
    )
    assert dict(generation.usage) == {"input": 10, "output": 20, "total": 30}
    assert dict(generation.cost) == {"input": 0.0001, "output": 0.0002, "total": 0.0003}
    assert generation.total_cost == 0.0003
    assert (generation.input_tokens, generation.output_tokens, generation.total_tokens) == (
        10,
        20,
        30,
    )
    assert json.loads(generation.model_parameters or "") == {"temperature": 0.2, "max_tokens": 100}
    assert generation.completion_start_ns == iso_ns("2025-01-01T12:00:00")
    assert json.loads(generation.input or "") == [{"role": "user", "content": "hello"}]
    assert (generation.trace.session_id, generation.trace.user_id) == ("sess-b2", "user-b2")
    root = named(observations, "root-b2")
    assert (root.type, root.is_root, root.metadata["m1"]) == ("SPAN", True, "x")


def test_python_propagated_metadata_is_json_decoded(replays: Replays) -> None:
    root = named(replays["python/d_propagate_attributes"], "root-d")
    assert dict(root.trace.metadata) == {
        "tenant": "acme",
        "num": 42,
        "flag": True,
        "obj": {"x": 1},
        "inner": "yes",
    }
    assert root.trace.session_id == "sess-d-inner"
    assert (root.environment, root.version) == ("staging", "v-d")


@pytest.mark.parametrize(
    ("capture", "levels"),
    [
        (
            "python/g_exception",
            {
                "observe-raises": ("ERROR", "boom from observe"),
                "ctxmgr-raises": ("ERROR", "RuntimeError: boom from context manager"),
                "explicit-error": ("ERROR", "explicit failure"),
                "warning-level": ("WARNING", "just a warning"),
            },
        ),
        (
            "js/js4_exception_and_levels",
            {
                "js4-throws": ("ERROR", "js boom"),
                "js4-observe-throws": ("ERROR", "observe boom"),
                "js4-explicit-error": ("ERROR", "explicit failure"),
            },
        ),
    ],
)
def test_captured_errors_are_error_levels(
    replays: Replays, capture: str, levels: dict[str, tuple[str, str]]
) -> None:
    found = {o.name: (o.level, o.status_message) for o in replays[capture]}
    assert found == levels


def test_python_environment_and_release_from_the_resource(
    replays: Replays,
) -> None:
    observations = replays["python/o_env_release"]
    for o in observations:
        assert (o.environment, o.release) == ("prod-eu", "rel-42")
    assert named(observations, "root-o").version == "obs-v1"
    assert named(observations, "child-o").type == "GENERATION"


def test_js_environment_and_custom_parents(replays: Replays) -> None:
    observations = replays["js/js5_propagate_variants"]
    assert {named(observations, n).environment for n in ("js5-root", "js5-agent")} == {"staging"}
    custom = named(observations, "js5-custom-trace")
    assert (custom.is_root, custom.parent_id) == (False, "0123456789abcdef")
    root = named(observations, "js5-root")
    assert (root.trace.public, root.trace.tags, root.trace.session_id) == (
        True,
        ("inner",),
        "js-sess-5-inner",
    )


def test_python_all_observation_types(replays: Replays) -> None:
    observations = replays["python/h_scores_and_misc"]
    types = {o.name: o.type for o in observations}
    assert types == {
        "an-event": "EVENT",
        "emb": "EMBEDDING",
        "type-agent": "AGENT",
        "type-tool": "TOOL",
        "type-chain": "CHAIN",
        "type-retriever": "RETRIEVER",
        "type-evaluator": "EVALUATOR",
        "type-guardrail": "GUARDRAIL",
        "root-h": "SPAN",
        "root-h-custom-trace": "SPAN",
    }
    embedding = named(observations, "emb")
    assert (embedding.model, dict(embedding.usage), embedding.input_tokens) == (
        "text-embedding-3-small",
        {"input": 5},
        5,
    )
    root = named(observations, "root-h")
    assert (root.trace.public, root.output, root.metadata["upd"]) == (True, "out", 1)
    custom = named(observations, "root-h-custom-trace")
    assert custom.is_root and custom.parent_id is not None
    assert {o.trace.session_id for o in observations if o.name != "root-h-custom-trace"} == {
        "sess-h"
    }


def test_removed_sdk_calls_leave_no_session(replays: Replays) -> None:
    [handle] = replays["python/a_observe_update_current_trace"]
    assert (handle.level, handle.trace.session_id) == ("ERROR", None)
    assert "update_current_trace" in (handle.status_message or "")


# ── Resource metadata made once per request ───────────────────────────────────────────


def test_spans_of_one_resource_share_its_metadata_and_match_a_span_mapped_alone() -> None:
    resource = make_resource(attributes={"service.name": "svc", "blob": b"\x00\xff", "n": 3})
    spans = tuple(make_span(span_id=f"{i:016x}", resource=resource) for i in range(1, 4))
    batch = map_request(DecodedRequest(spans), "p", IngestContext())
    first, second, _ = batch.observations
    alone, _ = map_span(spans[0], IngestContext())
    assert first.metadata == alone.metadata
    assert first.metadata["resourceAttributes"] == {"service.name": "svc", "blob": "AP8=", "n": 3}
    assert first.metadata["scope"]["name"] == resource.scope_name
    assert second.metadata["resourceAttributes"] is first.metadata["resourceAttributes"]


def test_user_metadata_keys_named_like_resource_keys_are_overridden_in_place() -> None:
    span = make_span(
        attributes={
            "langfuse.observation.metadata.scope": '"mine"',
            "langfuse.observation.metadata.other": '"kept"',
        }
    )
    observation, _ = map_span(span, IngestContext(ingestion_version=4))
    assert list(observation.metadata)[:3] == ["scope", "other", "resourceAttributes"]
    assert observation.metadata["scope"]["name"] == "test-instrumentation"
    assert observation.metadata["other"] == "kept"


# ── Readers skipped for spans without their keys (KeyShape, RequestMemo) ──────────────


class UngatedMemo(RequestMemo):
    """A memo whose key shapes let every reader run: the mapping with none skipped."""

    def shape(self, attributes: Mapping[str, Any]) -> KeyShape:
        return replace(super().shape(attributes), **dict.fromkeys(READ_KEYS, True))


READER_VALUES = [
    "s1",
    '"s1"',
    "5",
    "span",
    "generation",
    "chat",
    "LLM",
    "model",
    "tool",
    "ai.generateText",
    "ai.generateText.doGenerate",
    "ai.toolCall",
    '{"input": 3, "output": 4}',
    '{"sessionId": "m1", "user_id": "u1", "langfuse_tags": ["t"]}',
    '[{"role": "user", "content": "q"}]',
    "2025-01-01T12:00:00Z",
    "production",
]
reader_spans = st.builds(
    make_span,
    attributes=st.dictionaries(
        keys, st.one_of(st.sampled_from(READER_VALUES), values), max_size=10
    ),
    events=st.lists(events, max_size=2).map(tuple),
    resource=st.builds(
        make_resource,
        attributes=st.dictionaries(
            st.sampled_from(["langfuse.environment", "langfuse.release", "service.version"]),
            st.sampled_from(["prod", "", 5, "v1"]),
        ).map(lambda found: {"telemetry.sdk.language": "python", **found}),
        scope_name=st.sampled_from(["langfuse-sdk", "skein-sdk", "ai", "openinference"]),
        scope_version=st.sampled_from(["3.2.0", "5.0.4"]),
    ),
)


# Rules that read several keys together, which random key sets seldom bring together.
MULTI_KEY_RULES = [
    {"genkit:metadata:subtype": "model", "genkit:name": "gemini"},
    {"operation.name": "ai.generateText.doGenerate", "ai.model.id": "m"},
    {"ai.operationId": "ai.streamText", "ai.telemetry.functionId": "f"},
    {"langfuse.observation.type": "span", "langfuse.observation.model.name": "m"},
    {"gen_ai.operation.name": "chat", "langfuse.prompt.name": "p", "langfuse.prompt.version": 2},
    {"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 5},
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span=reader_spans, context=contexts)
@example(span=make_span(attributes=MULTI_KEY_RULES[0]), context=NO_CONTEXT)
@example(span=make_span(attributes=MULTI_KEY_RULES[1]), context=NO_CONTEXT)
@example(span=make_span(attributes=MULTI_KEY_RULES[2]), context=NO_CONTEXT)
@example(span=make_span(attributes=MULTI_KEY_RULES[3], resource=LEGACY_SDK), context=NO_CONTEXT)
@example(span=make_span(attributes=MULTI_KEY_RULES[4]), context=NO_CONTEXT)
@example(span=make_span(attributes=MULTI_KEY_RULES[5], resource=VERCEL_AI), context=NO_CONTEXT)
def test_skipping_the_readers_a_span_has_no_keys_for_changes_nothing(
    span: Span, context: IngestContext
) -> None:
    skipping, warnings = map_span(span, context, RequestMemo())
    every_reader = map_span(span, context, UngatedMemo())
    assert (skipping, warnings) == every_reader
    assert repr(skipping) == repr(every_reader[0])  # dict orders too: stored JSON keeps them
    session = read_id(span.attributes, SESSION_ALIASES)
    user = read_id(span.attributes, USER_ALIASES)
    trace = skipping.trace
    assert (trace.session_id, trace.session_source) == (session.value, session.source)
    assert (trace.user_id, trace.user_source) == (user.value, user.source)
    assert skipping.environment == read_environment(span)


@pytest.mark.parametrize("request_", all_wire_requests(), ids=lambda r: r.id)
def test_captured_requests_map_the_same_with_every_reader_run(request_: WireRequest) -> None:
    decoded = decode_request(
        request_.body, request_.content_type, request_.content_encoding, max_decoded_bytes=1 << 26
    )
    memo, every_reader = RequestMemo(), UngatedMemo()
    for span in decoded.spans:
        skipping = map_span(span, context_of(request_), memo)
        assert skipping == map_span(span, context_of(request_), every_reader)


class LookupRecorder(dict[str, Any]):
    """Span attributes that remember every key a reader looks up in them."""

    def __init__(self, attributes: Mapping[str, Any]) -> None:
        super().__init__(attributes)
        self.looked_up: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.looked_up.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.looked_up.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.looked_up.add(str(key))
        return super().__contains__(key)


class OpenedMemo(RequestMemo):
    """A memo whose key shapes open exactly the readers named, whatever the keys."""

    def __init__(self, readers: Collection[str]) -> None:
        super().__init__()
        self.readers = readers

    def shape(self, attributes: Mapping[str, Any]) -> KeyShape:
        opened = {reader: reader in self.readers for reader in READ_KEYS}
        return replace(super().shape(attributes), **opened)


def keys_looked_up(span: Span, readers: Collection[str]) -> set[str]:
    attributes = LookupRecorder(span.attributes)
    map_span(replace(span, attributes=attributes), NO_CONTEXT, OpenedMemo(readers))
    return attributes.looked_up


# Spans on which readers look for more keys: (span, the readers that must run for that).
LOOKUP_SPANS = [
    (make_span(), ()),
    (make_span(resource=LEGACY_SDK), ()),
    (make_span(name="ai.generateText.doGenerate", resource=VERCEL_AI), ()),
    (make_span(resource=make_resource(scope_name="openinference.instrumentation.x")), ()),
    (make_span(attributes={"langfuse.observation.type": "generation"}), ("type",)),
]


@pytest.mark.parametrize("reader", sorted(READ_KEYS))
def test_every_key_a_reader_looks_up_is_one_that_opens_it(reader: str) -> None:
    """A span holding only such a key would skip the reader: its value (a session id, say)
    would be lost. So a new key a reader reads must join its `READ_KEYS` entry."""
    exact, prefixes = READ_KEYS[reader]
    for span, needed in LOOKUP_SPANS:
        looked_up = keys_looked_up(span, {reader, *needed}) - keys_looked_up(span, needed)
        undeclared = {key for key in looked_up if key not in exact and not key.startswith(prefixes)}
        assert not undeclared, (span.name, span.resource.scope_name)


def test_the_lookup_recorder_sees_what_readers_read() -> None:
    assert "gen_ai.request.model" in keys_looked_up(make_span(), {"model"})
    assert keys_looked_up(make_span(), {"model"}) > keys_looked_up(make_span(), ())


def test_a_span_without_attributes_leaves_every_reader_out() -> None:
    shape = key_shape(())
    assert not any(getattr(shape, reader) for reader in READ_KEYS)
    assert set(READ_KEYS) <= {field.name for field in fields(KeyShape)}


@pytest.mark.parametrize(
    ("key", "readers"),
    [
        ("session.id", {"session"}),
        ("metadata", {"session", "user", "tags"}),
        ("langfuse.trace.metadata", {"session", "user", "tags", "trace_metadata"}),
        ("langfuse.observation.metadata.x", {"observation_metadata"}),
        ("gen_ai.usage.input_tokens", {"usage"}),
        ("gen_ai.usage.cost", {"usage", "cost"}),
        ("gen_ai.request.model", {"model", "type", "parameters"}),
        ("gen_ai.tool.name", {"type", "name"}),
        ("llm.input_messages.0.message.content", {"input"}),
        ("deployment.environment", {"environment"}),
        ("langfuse.prompt.name", {"prompt"}),
        ("langfuse.public", {"trace_values"}),
        ("http.method", set()),
    ],
)
def test_a_key_opens_the_readers_that_read_it(key: str, readers: set[str]) -> None:
    shape = key_shape((key,))
    assert {reader for reader in READ_KEYS if getattr(shape, reader)} == readers


def test_key_shapes_list_the_keys_readers_take_in_their_order() -> None:
    keys = (
        "metadata.sessionId",
        "langfuse.observation.metadata.b",
        "session.id",
        "langfuse.trace.metadata.a",
        "ai.telemetry.metadata.c",
        "user.id",
        "http.method",
    )
    shape = key_shape(keys)
    assert shape.session_keys == ("session.id", "metadata.sessionId")
    assert shape.user_keys == ("user.id",)
    assert shape.trace_metadata_keys == (
        ("langfuse.trace.metadata.a", "a"),
        ("ai.telemetry.metadata.c", "c"),
    )
    assert shape.observation_metadata_keys == (("langfuse.observation.metadata.b", "b"),)
    assert shape.unconsumed_keys == ("metadata.sessionId", "http.method")


def test_a_request_works_out_each_key_set_once() -> None:
    memo = RequestMemo()
    first = memo.shape({"session.id": "a", "x": 1})
    assert memo.shape({"session.id": "b", "x": 2}) is first
    assert memo.shape({"x": 1, "session.id": "a"}) == key_shape(("x", "session.id"))


def test_spans_of_one_request_with_the_same_ids_share_their_trace_values() -> None:
    ids = {"session.id": "s1", "user.id": "u1"}
    spans = (
        make_span(span_id="1" * 16, attributes=ids),
        make_span(span_id="2" * 16, attributes={**ids, "langfuse.observation.input": "q"}),
        make_span(span_id="3" * 16, attributes={**ids, "langfuse.trace.name": "t"}),
        make_span(span_id="4" * 16, attributes={"session.id": "s2"}),
    )
    first, second, named_trace, other = map_request(
        DecodedRequest(spans), "p", IngestContext()
    ).observations
    assert second.trace is first.trace
    assert first.trace == map_span(spans[0], IngestContext())[0].trace
    assert (first.trace.session_id, first.trace.user_id, first.trace.name) == ("s1", "u1", None)
    assert named_trace.trace.name == "t" and named_trace.trace.session_id == "s1"
    assert (other.trace.session_id, other.trace.user_id) == ("s2", None)
