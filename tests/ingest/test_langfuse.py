"""Reading Langfuse batch ingestion events into patches, scores and warnings."""

from __future__ import annotations

import re
from typing import Any

import pytest

from skein.errors import BadRequest
from skein.ingest.langfuse import IngestionBatch, derived_id, read_batch
from skein.records import EventPatch

NOW = 1_800_000_000_000_000_000
STAMP = "2024-05-01T12:00:00Z"
STAMP_NS = 1_714_564_800_000_000_000


def event(kind: str, body: dict[str, Any], event_id: str = "e1", **extra: Any) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "timestamp": STAMP, "body": body, **extra}


def read(*events: Any) -> IngestionBatch:
    return read_batch({"batch": list(events), "metadata": {"sdk_name": "test"}}, received_ns=NOW)


def only_patch(*events: Any) -> EventPatch:
    batch = read(*events)
    assert batch.failures == () and len(batch.patches) == 1, batch.failures
    return batch.patches[0]


def failure(event_body: Any) -> str:
    batch = read(event_body)
    assert batch.accepted == () and len(batch.failures) == 1
    return batch.failures[0].message


@pytest.mark.parametrize("document", [[], {"batch": {}}, {"events": []}, "text"])
def test_a_body_without_a_batch_array_is_a_bad_request(document: Any) -> None:
    with pytest.raises(BadRequest, match="batch"):
        read_batch(document, received_ns=NOW)


@pytest.mark.parametrize(
    ("kind", "is_update", "observation_type"),
    [
        ("span-create", False, "SPAN"),
        ("span-update", True, "SPAN"),
        ("generation-create", False, "GENERATION"),
        ("generation-update", True, "GENERATION"),
        ("event-create", False, "EVENT"),
        ("agent-create", False, "AGENT"),
        ("guardrail-create", False, "GUARDRAIL"),
    ],
)
def test_observation_events_become_patches_of_their_type(
    kind: str, is_update: bool, observation_type: str
) -> None:
    patch = only_patch(event(kind, {"id": "o1", "traceId": "t1", "name": "step"}))

    assert (patch.kind, patch.target_id, patch.event_id) == ("observation", "o1", "e1")
    assert (patch.is_update, patch.timestamp_ns) == (is_update, STAMP_NS)
    assert patch.values == {"type": observation_type, "trace_id": "t1", "name": "step"}


def test_legacy_observation_events_take_their_type_from_the_body() -> None:
    created = only_patch(event("observation-create", {"id": "o1", "type": "generation"}))
    updated = only_patch(event("observation-update", {"id": "o1"}))

    assert created.values["type"] == "GENERATION" and "type" not in updated.values


def test_every_generation_field_is_read() -> None:
    body = {
        "id": "g1", "traceId": "t1", "parentObservationId": "p1", "name": "llm",
        "startTime": STAMP, "endTime": "2024-05-01T12:00:02Z",
        "completionStartTime": "2024-05-01T12:00:01Z", "level": "warning",
        "statusMessage": "slow", "version": "v2", "environment": "Langfuse-Prod",
        "input": [{"role": "user", "content": "hi"}], "output": "hello",
        "metadata": {"k": 1}, "model": "gpt-4o", "modelParameters": {"temperature": 0.2},
        "usageDetails": {"input": 7, "output": 3}, "costDetails": {"total": 0.01},
        "promptName": "greeting", "promptVersion": 2,
    }  # fmt: skip

    values = only_patch(event("generation-create", body)).values

    assert values == {
        "type": "GENERATION", "trace_id": "t1", "parent_id": "p1", "name": "llm",
        "start_ns": STAMP_NS, "end_ns": STAMP_NS + 2_000_000_000,
        "completion_start_ns": STAMP_NS + 1_000_000_000, "level": "WARNING",
        "status_message": "slow", "version": "v2", "environment": "prod",
        "input": '[{"role":"user","content":"hi"}]', "output": "hello", "metadata": {"k": 1},
        "model": "gpt-4o", "model_parameters": '{"temperature":0.2}',
        "usage": {"input": 7, "output": 3}, "cost": {"total": 0.01},
        "prompt_name": "greeting", "prompt_version": 2,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "usage", "cost"),
    [
        ({"usage": {"promptTokens": 10, "completionTokens": 4, "totalTokens": 14}},
         {"input": 10, "output": 4, "total": 14}, None),
        ({"usage": {"input": 5, "output": 6, "unit": "TOKENS", "inputCost": 0.1,
                    "outputCost": 0.2, "totalCost": 0.3}},
         {"input": 5, "output": 6}, {"input": 0.1, "output": 0.2, "total": 0.3}),
        ({"usage": {"input": 5}, "usageDetails": {"input": 9, "cache_read": 2}},
         {"input": 9, "cache_read": 2}, None),
        ({"usageDetails": {"prompt_tokens": 10, "completion_tokens": 5,
                           "prompt_tokens_details": {"cached_tokens": 4}}},
         {"input": 6, "output": 5, "input_cached_tokens": 4}, None),
        ({"usage": {"totalCost": 1.0}, "costDetails": {"input": 0.5}}, None, {"input": 0.5}),
    ],
)  # fmt: skip
def test_usage_and_cost_in_every_form(
    body: dict[str, Any], usage: dict[str, float] | None, cost: dict[str, float] | None
) -> None:
    values = only_patch(event("generation-create", {"id": "g1", **body})).values

    assert values.get("usage") == usage
    assert values.get("cost") == cost


def test_a_trace_create_carries_the_trace_values() -> None:
    body = {
        "id": "t1", "timestamp": STAMP, "name": "chat", "sessionId": '"s1"', "userId": "u1",
        "tags": ["b", "a", "b", " "], "metadata": "note", "public": True, "input": "q",
        "output": {"a": 1}, "release": "r1", "version": "v1", "environment": "prod",
    }  # fmt: skip

    patch = only_patch(event("trace-create", body))

    assert (patch.kind, patch.target_id, patch.is_update) == ("trace", "t1", False)
    assert patch.values == {
        "timestamp_ns": STAMP_NS, "name": "chat", "session_id": "s1",
        "session_source": "trace-create.sessionId", "user_id": "u1",
        "user_source": "trace-create.userId", "tags": ["a", "b"],
        "metadata": {"metadata": "note"}, "public": True, "input": "q", "output": '{"a":1}',
        "release": "r1", "version": "v1", "environment": "prod",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("session_id", "code"),
    [("x" * 201, "session_id_too_long"), ("  ", "session_id_empty"), (42, "session_id_not_string")],
)
def test_an_unusable_session_id_warns_and_keeps_the_trace(session_id: Any, code: str) -> None:
    batch = read(event("trace-create", {"id": "t1", "name": "chat", "sessionId": session_id}))

    assert batch.accepted == ("e1",)
    assert "session_id" not in batch.patches[0].values
    assert batch.patches[0].values["name"] == "chat"
    assert [(w.trace_id, w.code) for w in batch.warnings] == [("t1", code)]


def test_a_body_without_an_id_gets_one_derived_from_the_event() -> None:
    trace = only_patch(event("trace-create", {"name": "x"}, event_id="ev-7"))
    span = only_patch(event("span-create", {"name": "x"}, event_id="ev-8"))

    assert trace.target_id == derived_id("ev-7") != derived_id("ev-8") == span.target_id


def test_score_create_becomes_a_score_at_the_event_time() -> None:
    batch = read(event("score-create", {"traceId": "t1", "name": "q", "value": 1}, "ev-9"))

    [score] = batch.scores
    assert (score.id, score.trace_id, score.value) == (derived_id("ev-9"), "t1", 1.0)
    assert (score.timestamp_ns, score.created_ns) == (STAMP_NS, NOW)


def test_sdk_log_is_accepted_and_stores_nothing() -> None:
    batch = read(event("sdk-log", {"log": "hello"}))

    assert batch.accepted == ("e1",) and not batch.patches and not batch.scores


def test_one_bad_event_never_loses_the_others() -> None:
    batch = read(
        event("span-create", {"id": "o1"}, event_id="good-1"),
        event("span-create", {"id": 5}, event_id="bad"),
        "not an event",
        event("span-create", {"id": "o2"}, event_id="good-2"),
    )

    assert batch.accepted == ("good-1", "good-2")
    assert [p.target_id for p in batch.patches] == ["o1", "o2"]
    answer = batch.answer()
    assert answer["successes"] == [{"id": "good-1", "status": 201}, {"id": "good-2", "status": 201}]
    assert [(e["id"], e["status"]) for e in answer["errors"]] == [("bad", 400), (None, 400)]
    assert "body.id must be a string" in answer["errors"][0]["error"]
    assert answer["errors"][0]["message"] == "Invalid request data"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "span-create", "timestamp": STAMP, "body": {}}, "id is required"),
        ({"id": "e", "type": "span-explode", "timestamp": STAMP, "body": {}}, "unknown event type"),
        ({"id": "e", "type": "span-create", "body": {}}, "timestamp is required"),
        ({"id": "e", "type": "span-create", "timestamp": "noon", "body": {}}, "ISO 8601"),
        ({"id": "e", "type": "span-create", "timestamp": STAMP, "body": []}, "body must be"),
        ({"id": "e" * 801, "type": "span-create", "timestamp": STAMP, "body": {}}, "800"),
        (event("span-update", {"name": "x"}), "body.id is required"),
        (event("span-create", {"id": ""}), "body.id must not be empty"),
        (event("span-create", {"id": "o", "traceId": " "}), "body.traceId must not be empty"),
        (event("trace-create", {"id": ""}), "body.id must not be empty"),
        (event("span-create", {"name": 5}), "body.name must be a string, got number"),
        (event("span-create", {"level": "LOUD"}), "body.level must be one of"),
        (event("span-create", {"startTime": 17}), "body.startTime must be an ISO 8601"),
        (event("span-create", {"environment": ["a"]}), "body.environment must be a string"),
        (event("trace-create", {"tags": "a,b"}), "body.tags must be an array of strings"),
        (event("trace-create", {"public": "yes"}), "body.public must be true or false"),
        (event("generation-create", {"modelParameters": "t=1"}), "modelParameters must be"),
        (event("generation-create", {"usage": 5}), "body.usage must be an object"),
        (event("generation-create", {"usage": {"input": -1}}), "usage.input must be"),
        (event("generation-create", {"usageDetails": {"a": "x"}}), "usageDetails.a must be"),
        (event("generation-create", {"promptVersion": "2"}), "promptVersion must be"),
        (event("observation-create", {"type": "WIDGET"}), "body.type must be one of"),
        (event("score-create", {"traceId": "t", "name": "q"}), "value is required"),
    ],
)
def test_bad_events_are_refused_naming_the_field(raw: Any, message: str) -> None:
    assert re.search(re.escape(message), failure(raw))


def test_lone_surrogates_in_ids_become_replacement_characters() -> None:
    batch = read(event("span-create", {"id": "o\ud800"}, event_id="e\udfff"))

    assert batch.accepted == ("e\ufffd",)
    assert (batch.patches[0].event_id, batch.patches[0].target_id) == ("e\ufffd", "o\ufffd")
