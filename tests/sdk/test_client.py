"""The `Skein` client: observations, current updates, scores, auth check, export errors."""

from __future__ import annotations

import base64
import datetime
import json
import logging
import time

import pytest

from skein import Skein, SkeinGeneration, get_client, observe, propagate_attributes
from skein.sdk import attributes as keys
from tests.sdk.conftest import LoopbackServer, Traced, make_traced


def test_update_current_generation_records_model_usage_cost_and_timing(traced: Traced) -> None:
    client = get_client()
    started = datetime.datetime(2025, 1, 1, 12, 0, tzinfo=datetime.UTC)
    with client.start_as_current_generation(name="llm", model="draft") as generation:
        client.update_current_generation(
            model="gpt-4o",
            model_parameters={"temperature": 0.2},
            usage_details={"input": 10, "output": 20, "total": 30},
            cost_details={"input": 0.0001, "output": 0.0002},
            completion_start_time=started,
            input=[{"role": "user", "content": "hi"}],
            output="hello",
        )

    values = traced.attributes()["llm"]
    assert isinstance(generation, SkeinGeneration)
    assert values[keys.MODEL_NAME] == "gpt-4o"
    assert json.loads(str(values[keys.MODEL_PARAMETERS])) == {"temperature": 0.2}
    assert json.loads(str(values[keys.USAGE_DETAILS])) == {"input": 10, "output": 20, "total": 30}
    assert json.loads(str(values[keys.COST_DETAILS])) == {"input": 0.0001, "output": 0.0002}
    assert json.loads(str(values[keys.COMPLETION_START_TIME])) == "2025-01-01T12:00:00.000000Z"
    assert values[keys.OBSERVATION_OUTPUT] == "hello"


def test_a_late_nested_update_current_trace_reaches_the_whole_trace(traced: Traced) -> None:
    @observe()
    def grandchild() -> None:
        get_client().update_current_trace(session_id="late", user_id="u-late", name="named")

    @observe()
    def child() -> None:
        grandchild()

    @observe()
    def sibling_before() -> None:
        with get_client().start_as_current_generation(name="early-generation"):
            pass

    @observe()
    def sibling_after() -> None:
        return None

    @observe()
    def root() -> None:
        sibling_before()
        child()
        sibling_after()

    root()
    spans = traced.attributes()
    assert set(spans) == {
        "root",
        "sibling_before",
        "early-generation",
        "child",
        "grandchild",
        "sibling_after",
    }
    for name, values in spans.items():
        assert values.get(keys.SESSION_ID) == "late", name
        assert values.get(keys.USER_ID) == "u-late", name
        assert values.get(keys.TRACE_NAME) == "named", name


def test_a_bad_id_in_update_current_trace_is_refused_once(
    traced: Traced, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    client = get_client()
    for _ in range(3):
        with client.start_as_current_span(name="kept"):
            client.update_current_trace(session_id="s" * 201, user_id="fine")

    spans = traced.spans()
    assert len(spans) == 3
    assert all(keys.SESSION_ID not in (span.attributes or {}) for span in spans)
    assert all((span.attributes or {})[keys.USER_ID] == "fine" for span in spans)
    assert len([r for r in caplog.records if "longer than 200" in r.getMessage()]) == 1


def test_update_current_span_and_trace_fields(traced: Traced) -> None:
    client = get_client()
    with client.start_as_current_span(name="root"):
        client.update_current_span(
            metadata={"tenant": "acme", "n": 3, "nested": {"x": 1}}, version="v2", level="WARNING"
        )
        client.update_current_trace(
            name="trace-name",
            user_id="u1",
            session_id="s1",
            tags=["b", "a"],
            metadata={"plan": "pro"},
            input={"q": 1},
            output="answer",
            version="t1",
            release="r1",
            public=True,
        )

    values = traced.attributes()["root"]
    assert values["langfuse.observation.metadata.tenant"] == "acme"
    assert values["langfuse.observation.metadata.n"] == 3
    assert values["langfuse.observation.metadata.nested"] == '{"x": 1}'
    assert values[keys.OBSERVATION_LEVEL] == "WARNING"
    assert values[keys.TRACE_NAME] == "trace-name"
    assert values[keys.USER_ID] == "u1"
    assert values[keys.SESSION_ID] == "s1"
    assert values[keys.TRACE_TAGS] == ("a", "b")
    assert values["langfuse.trace.metadata.plan"] == "pro"
    assert values[keys.TRACE_INPUT] == '{"q": 1}'
    assert values[keys.TRACE_OUTPUT] == "answer"
    assert values[keys.VERSION] == "t1", "the span update_trace is called on takes it"
    assert values[keys.RELEASE] == "r1"
    assert values[keys.TRACE_PUBLIC] is True


def test_start_span_children_and_events(traced: Traced) -> None:
    client = get_client()
    root = client.start_span("manual-observation", input={"query": "capital of France?"})
    child = root.start_span("child")
    child.create_event("noticed", metadata={"k": "v"})
    child.end()
    generation = root.start_generation("gen", model="m", usage_details={"input": 1})
    generation.end()
    root.update_trace(session_id="session-123")
    root.update(output="Paris").end()

    spans = traced.by_name()
    assert set(spans) == {"manual-observation", "child", "noticed", "gen"}
    assert {(s.attributes or {}).get(keys.SESSION_ID) for s in spans.values()} == {"session-123"}
    event = spans["noticed"]
    assert (event.attributes or {})[keys.OBSERVATION_TYPE] == "event"
    assert event.end_time is not None and event.start_time is not None
    assert event.end_time - event.start_time < 10_000_000
    assert (spans["manual-observation"].attributes or {})[keys.OBSERVATION_OUTPUT] == "Paris"


@pytest.mark.parametrize("as_type", ["agent", "tool", "chain", "retriever", "embedding"])
def test_start_as_current_observation_as_type(traced: Traced, as_type: str) -> None:
    with get_client().start_as_current_observation(name="typed", as_type=as_type):  # type: ignore[arg-type]
        pass
    assert traced.attributes()["typed"][keys.OBSERVATION_TYPE] == as_type


def test_context_manager_records_an_exception_and_reraises(traced: Traced) -> None:
    with pytest.raises(ZeroDivisionError):
        with get_client().start_as_current_span(name="divides"):
            _ = 1 / 0

    span = traced.by_name()["divides"]
    assert (span.attributes or {})[keys.OBSERVATION_LEVEL] == "ERROR"
    assert [event.name for event in span.events] == ["exception"]


def test_trace_context_starts_in_a_given_trace(traced: Traced) -> None:
    trace_id = Skein.create_trace_id(seed="external-id-1")
    assert trace_id.startswith("d809bc6d")
    span = get_client().start_span("seeded", trace_context={"trace_id": trace_id})
    span.end()

    found = traced.by_name()["seeded"]
    assert f"{found.context.trace_id:032x}" == trace_id
    assert (found.attributes or {})[keys.AS_ROOT] is True


def test_unknown_fields_are_ignored_with_one_warning(
    traced: Traced, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with get_client().start_as_current_span(name="pitfall") as span:
        span.update(session_id="not-here")  # type: ignore[call-arg]
        span.update(session_id="not-here")  # type: ignore[call-arg]

    assert keys.SESSION_ID not in traced.attributes()["pitfall"]
    hints = [r for r in caplog.records if "update_trace" in r.getMessage()]
    assert len(hints) == 1


def test_updates_outside_any_span_are_ignored_with_a_warning(
    traced: Traced, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    client = get_client()
    client.update_current_trace(session_id="nowhere")
    client.update_current_span(output="nowhere")
    assert client.get_current_trace_id() is None
    assert traced.spans() == []
    assert "outside any span" in caplog.text


def test_propagate_attributes_from_the_package(traced: Traced) -> None:
    @observe()
    def handle() -> None:
        with propagate_attributes(session_id="p-1", user_id="u-1", version="1.0"):
            with get_client().start_as_current_generation(name="gen"):
                pass

    handle()
    spans = traced.attributes()
    assert spans["handle"][keys.SESSION_ID] == "p-1"
    assert spans["gen"][keys.USER_ID] == "u-1"
    assert spans["gen"][keys.VERSION] == "1.0"


def test_get_client_returns_the_latest_client_and_by_public_key() -> None:
    first = make_traced()
    second = make_traced()
    try:
        assert get_client() is second.client
        assert get_client(public_key="pk-test") is second.client
        second.client.shutdown()
        assert get_client() is not second.client
    finally:
        first.client.shutdown()
        second.client.shutdown()
        get_client().shutdown()


def test_environment_and_release_go_on_every_span() -> None:
    made = make_traced(environment="staging", release="rel-42")
    try:
        with made.client.start_as_current_span(name="configured"):
            pass
        span = made.by_name()["configured"]
        assert (span.attributes or {})[keys.ENVIRONMENT] == "staging"
        assert span.resource.attributes[keys.RELEASE] == "rel-42"
    finally:
        made.client.shutdown()


def basic(public: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{public}:{secret}".encode()).decode()


def wait_for_requests(server: LoopbackServer, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(server.requests) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def loopback_client(server: LoopbackServer, traced: Traced) -> Skein:
    return Skein(
        base_url=server.base_url,
        public_key="pk-lb",
        secret_key="sk-lb",
        span_exporter=traced.exporter,
    )


def test_scores_are_posted_as_a_json_array(loopback: LoopbackServer, traced: Traced) -> None:
    loopback.replies["/api/public/scores"] = (202, {"message": "Accepted"})
    client = loopback_client(loopback, traced)
    try:
        with client.start_as_current_span(name="scored") as span:
            client.score_current_trace(name="quality", value=0.9, comment="good")
            span.score(name="relevance", value=1)
        client.create_score(
            name="csat", value="happy", session_id="sess-h", data_type="CATEGORICAL"
        )
        client.flush()
    finally:
        client.shutdown()

    bodies = [request.body for request in loopback.requests]
    assert all(isinstance(body, list) and len(body) == 1 for body in bodies)
    scores = {body[0]["name"]: body[0] for body in bodies}
    assert scores["quality"]["traceId"] == span.trace_id
    assert "observationId" not in scores["quality"]
    assert scores["relevance"]["observationId"] == span.id
    assert scores["csat"] == {**scores["csat"], "sessionId": "sess-h", "dataType": "CATEGORICAL"}
    assert loopback.requests[0].headers["authorization"] == basic("pk-lb", "sk-lb")


def test_score_failures_are_logged_once_and_never_raised(
    loopback: LoopbackServer, traced: Traced, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    client = loopback_client(loopback, traced)
    try:
        for value in range(3):
            client.create_score(name="n", value=value, trace_id="a" * 32)
        client.flush()
    finally:
        client.shutdown()
    assert len(loopback.requests) == 3
    assert len([r for r in caplog.records if "score" in r.getMessage()]) == 1


def test_auth_check(loopback: LoopbackServer, traced: Traced) -> None:
    project = {"id": "p", "name": "n", "organization": {"id": "o", "name": "o"}, "metadata": {}}
    client = loopback_client(loopback, traced)
    try:
        loopback.replies["/api/public/projects"] = (200, {"data": [project]})
        assert client.auth_check() is True
        loopback.replies["/api/public/projects"] = (200, {"data": []})
        assert client.auth_check() is False
        loopback.replies["/api/public/projects"] = (401, {"message": "bad key"})
        assert client.auth_check() is False
    finally:
        client.shutdown()
    assert [r.method + " " + r.path for r in loopback.requests] == ["GET /api/public/projects"] * 3


def test_auth_check_when_nothing_listens(traced: Traced) -> None:
    client = Skein(base_url="http://127.0.0.1:9", public_key="pk", secret_key="sk", timeout=1)
    try:
        assert client.auth_check() is False
    finally:
        client.shutdown()


def test_export_errors_are_logged_once_not_per_batch(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    loopback.replies["/api/public/otel/v1/traces"] = (401, {"message": "bad key"})
    client = Skein(base_url=loopback.base_url, public_key="pk-x", secret_key="sk-x", timeout=2)
    caplog.set_level(logging.INFO)
    try:
        for index in range(3):
            with client.start_as_current_span(name=f"batch-{index}"):
                pass
            client.flush()
    finally:
        client.shutdown()

    posts = [r for r in loopback.requests if r.path == "/api/public/otel/v1/traces"]
    assert len(posts) == 3
    assert posts[0].headers["authorization"] == basic("pk-x", "sk-x")
    assert posts[0].headers["content-type"] == "application/x-protobuf"
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert "401" in problems[0].getMessage()


def test_export_recovery_is_reported_and_a_new_outage_logged_again(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = Skein(base_url=loopback.base_url, public_key="pk-x", secret_key="sk-x", timeout=2)
    caplog.set_level(logging.INFO)
    try:
        for status in (400, 200, 400):
            loopback.replies["/api/public/otel/v1/traces"] = (status, {})
            with client.start_as_current_span(name=f"status-{status}"):
                pass
            client.flush()
    finally:
        client.shutdown()

    messages = [r.getMessage() for r in caplog.records if r.name.startswith("skein")]
    assert len([m for m in messages if "could not export" in m]) == 2
    assert len([m for m in messages if "works again" in m]) == 1
