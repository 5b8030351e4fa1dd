"""`POST /api/public/ingestion` in process: per-event 207s, commit before the answer, the
error answers, project isolation, and cost from prices on both ingestion paths."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from skein.app import create_app
from skein.errors import error_body
from skein.ingest.guards import truncation_marker
from skein.prices import builtin_prices
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Store
from tests.api.factories import PUBLIC_A, SECRET_A, Api, basic_auth, running_api
from tests.otlp_bodies import SpanSpec, protobuf_body

INGESTION = "/api/public/ingestion"
STAMP = "2024-05-01T12:00:00Z"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, seeded=False) as opened:
        yield opened


def event(event_id: str, kind: str, **body: Any) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "timestamp": STAMP, "body": body}


def post(api: Api, *events: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return api.client.post(INGESTION, json={"batch": list(events)}, headers=headers or api.auth_a)


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body == error_body(status, body["error"]["code"], body["message"])


def test_every_event_gets_its_result_and_the_good_ones_are_committed(api: Api) -> None:
    response = post(
        api,
        event("e1", "trace-create", id="t1", name="chat", sessionId="s1"),
        event("e2", "span-create", id="o1", traceId="t1", name=7),
        event("e3", "generation-create", id="g1", traceId="t1", name="llm"),
        event("e4", "score-create", traceId="t1", name="q", value=0.5),
        event("e5", "sdk-log", log="hi"),
    )

    assert response.status_code == 207
    body = response.json()
    assert body["successes"] == [{"id": i, "status": 201} for i in ("e1", "e3", "e4", "e5")]
    [error] = body["errors"]
    assert (error["id"], error["status"]) == ("e2", 400) and "body.name" in error["error"]
    assert [o.id for o in api.store.list_observations(api.project_a, "t1")] == ["g1"]
    session = api.store.get_session(api.project_a, "s1")
    assert session is not None and session.trace_count == 1 and "q" in session.scores


def test_a_resent_batch_changes_nothing(api: Api) -> None:
    events = [event("e1", "trace-create", id="t1", sessionId="s1"),
              event("e2", "span-create", id="o1", traceId="t1", name="a")]  # fmt: skip
    post(api, *events)
    before = (api.store.get_trace(api.project_a, "t1"), api.store.list_sessions(api.project_a))

    assert post(api, *events).status_code == 207
    after = (api.store.get_trace(api.project_a, "t1"), api.store.list_sessions(api.project_a))
    assert after == before


def test_events_land_in_the_project_of_the_key(api: Api) -> None:
    post(api, event("e1", "span-create", id="o1", traceId="t1"), headers=api.auth_b)

    assert api.store.get_trace(api.project_b, "t1") is not None
    assert api.store.get_trace(api.project_a, "t1") is None


@pytest.mark.parametrize(
    "headers", [{}, basic_auth(PUBLIC_A, "wrong"), basic_auth("pk-unknown", SECRET_A)]
)
def test_bad_keys_get_401(api: Api, headers: dict[str, str]) -> None:
    response = api.client.post(INGESTION, json={"batch": []}, headers=headers)

    assert_error(response, 401)


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"batch": {}}', b"[]", b'{"events": []}', b"\xff\xfe"]
)
def test_a_body_that_is_not_a_batch_gets_400(api: Api, content: bytes) -> None:
    response = api.client.post(
        INGESTION, content=content, headers={**api.auth_a, "content-type": "application/json"}
    )

    assert_error(response, 400)


def test_a_gzipped_batch_is_decompressed(api: Api) -> None:
    document = {"batch": [event("e1", "trace-create", id="t1", sessionId="s-gzip")]}
    headers = {**api.auth_a, "content-type": "application/json", "content-encoding": "gzip"}
    body = gzip.compress(json.dumps(document).encode())
    response = api.client.post(INGESTION, content=body, headers=headers)

    assert response.status_code == 207 and response.json()["errors"] == []
    assert api.store.get_session(api.project_a, "s-gzip") is not None


@pytest.mark.parametrize(("encoding", "status"), [("gzip", 400), ("br", 415)])
def test_a_body_in_a_bad_encoding_is_refused(api: Api, encoding: str, status: int) -> None:
    headers = {**api.auth_a, "content-type": "application/json", "content-encoding": encoding}
    response = api.client.post(INGESTION, content=b'{"batch": []}', headers=headers)

    assert_error(response, status)


@contextlib.contextmanager
def small_api(tmp_path: Path, **limits: int) -> Iterator[tuple[TestClient, Store]]:
    settings = Settings(data_dir=tmp_path, init_public_key=PUBLIC_A, init_secret_key=SECRET_A,
                        **limits)  # fmt: skip
    store = open_store(settings.resolved_database_url())
    try:
        with TestClient(create_app(settings, store)) as client:
            yield client, store
    finally:
        store.close()


def test_a_batch_over_the_body_limit_gets_413(tmp_path: Path) -> None:
    batch = {"batch": [event(f"e{i}", "span-create", id=f"o{i}") for i in range(20)]}
    content = json.dumps(batch).encode()
    with small_api(tmp_path, max_body_bytes=len(content) - 1) as (client, _):
        response = client.post(INGESTION, content=content, headers=basic_auth(PUBLIC_A, SECRET_A))

    assert_error(response, 413)


def test_values_over_the_attribute_limit_are_cut_with_a_warning_and_the_rest_kept(
    tmp_path: Path,
) -> None:
    batch = [
        event("e1", "trace-create", id="t1", sessionId="s1", input="i" * 500),
        event(
            "e2",
            "generation-create",
            id="g1",
            traceId="t1",
            output="o" * 300,
            metadata={"deep": {"text": "m" * 200}},
            model="gpt-4o",
        ),
        event("e3", "span-create", id="o2", traceId="t1", name="short", input="fits"),
    ]
    with small_api(tmp_path, max_attribute_chars=100) as (client, store):
        response = client.post(
            INGESTION, json={"batch": batch}, headers=basic_auth(PUBLIC_A, SECRET_A)
        )
        [project] = store.list_projects()
        detail = store.get_trace_detail(project.id, "t1")
        trace_io = store.get_trace_io(project.id, ["t1"])["t1"]
        warnings = store.list_warnings(project.id, "t1")

    assert response.status_code == 207 and len(response.json()["successes"]) == 3
    assert detail is not None
    generation, span = sorted(detail.observations, key=lambda o: o.id)
    assert generation.output == "o" * 100 + truncation_marker(300)
    assert generation.metadata["deep"] == {"text": "m" * 100 + truncation_marker(200)}
    assert (generation.model, span.name, span.input) == ("gpt-4o", "short", "fits")
    assert (detail.trace.session_id, trace_io.input) == ("s1", "i" * 100 + truncation_marker(500))
    cut = [(w.warning.span_id or "", w.warning.message.split(" was")[0]) for w in warnings]
    assert {w.warning.code for w in warnings} == {"attribute_truncated"}
    assert sorted(cut) == [
        ("", "field 'input'"),
        ("g1", "field 'metadata'"),
        ("g1", "field 'output'"),
    ]


# -- Cost from prices ------------------------------------------------------------------------


def rates(price_id: str) -> dict[str, float]:
    return dict(next(p for p in builtin_prices() if p.id == price_id).prices)


def test_a_generation_without_cost_is_priced_from_the_table(api: Api) -> None:
    post(api, event("e1", "generation-create", id="g1", traceId="t1", model="gpt-4o-2024-08-06",
                    usage={"promptTokens": 2000, "completionTokens": 100}))  # fmt: skip

    [generation] = api.store.list_observations(api.project_a, "t1")
    price = rates("openai-gpt-4o")
    assert generation.total_cost == pytest.approx(2000 * price["input"] + 100 * price["output"])
    assert generation.cost_source == "price:openai-gpt-4o"


def test_a_project_price_applies_as_soon_as_it_is_posted(api: Api) -> None:
    model = {"modelName": "gpt-4o", "matchPattern": "(?i)^gpt-4o", "inputPrice": 0.5,
             "outputPrice": 1.0}  # fmt: skip
    created = api.client.post("/api/public/models", json=model, headers=api.auth_a).json()
    post(api, event("e1", "generation-create", id="g1", traceId="t1", model="gpt-4o",
                    usageDetails={"input": 4, "output": 2}))  # fmt: skip

    [generation] = api.store.list_observations(api.project_a, "t1")
    assert generation.total_cost == pytest.approx(4 * 0.5 + 2 * 1.0)
    assert generation.cost_source == f"project-price:{created['id']}"


def test_otlp_generations_are_priced_too(api: Api) -> None:
    span = SpanSpec("ab" * 16, "cd" * 8, name="llm", attributes={
        "gen_ai.request.model": "claude-3-5-haiku-20241022", "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 10})  # fmt: skip
    headers = {**api.auth_a, "content-type": "application/x-protobuf"}
    response = api.client.post("/v1/traces", content=protobuf_body(span), headers=headers)

    assert response.status_code == 200
    [generation] = api.store.list_observations(api.project_a, "ab" * 16)
    price = rates("anthropic-claude-3-5-haiku")
    assert generation.total_cost == pytest.approx(100 * price["input"] + 10 * price["output"])
    assert generation.cost_source == "price:anthropic-claude-3-5-haiku"


def test_a_cost_sent_by_the_sdk_is_kept(api: Api) -> None:
    post(api, event("e1", "generation-create", id="g1", traceId="t1", model="gpt-4o",
                    usageDetails={"input": 4}, costDetails={"input": 9.0}))  # fmt: skip

    [generation] = api.store.list_observations(api.project_a, "t1")
    assert (generation.total_cost, generation.cost_source) == (9.0, "sdk")
