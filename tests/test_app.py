"""In-process tests of the HTTP surface: routes, auth, encodings, errors, commit-before-answer."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.testclient import TestClient

from skein.app import create_app
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Store
from tests.otlp_bodies import SpanSpec, json_body, protobuf_body

PUBLIC, SECRET = "pk-test", "sk-test"
TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT, CHILD = "b7ad6b7169203331", "00f067aa0ba902b7"
PROTOBUF = "application/x-protobuf"


def auth(public: str = PUBLIC, secret: str = SECRET) -> dict[str, str]:
    token = base64.b64encode(f"{public}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=tmp_path, init_public_key=PUBLIC, init_secret_key=SECRET, **overrides)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(make_settings(tmp_path).resolved_database_url())
    yield opened
    opened.close()


def make_client(store: Store, tmp_path: Path, **overrides: Any) -> TestClient:
    return TestClient(create_app(make_settings(tmp_path, **overrides), store))


def project_of(store: Store) -> str:
    key = store.find_key(PUBLIC)
    assert key is not None
    return key.project_id


def assert_error(response: Any, status: int) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["error"]["status"] == status
    assert body["error"]["message"] and body["message"] == body["error"]["message"]


def two_spans() -> tuple[SpanSpec, SpanSpec]:
    root = SpanSpec(TRACE, ROOT, name="turn")
    child = SpanSpec(
        TRACE,
        CHILD,
        ROOT,
        name="llm",
        attributes={"session.id": "chat-1", "gen_ai.usage.input_tokens": 7},
    )
    return root, child


def test_health_answers_without_keys(store: Store, tmp_path: Path) -> None:
    with make_client(store, tmp_path) as client:
        response = client.get("/api/public/health")
    assert response.status_code == 200 and response.json()["status"] == "OK"


def test_projects_has_the_shape_auth_check_needs(store: Store, tmp_path: Path) -> None:
    with make_client(store, tmp_path) as client:
        data = client.get("/api/public/projects", headers=auth()).json()["data"]
    assert data[0]["id"] == project_of(store)
    assert set(data[0]) >= {"id", "name", "organization", "metadata"}
    assert set(data[0]["organization"]) == {"id", "name"}


@pytest.mark.parametrize("headers", [{}, auth(secret="wrong"), auth(public="pk-unknown")])
def test_bad_keys_get_401(store: Store, tmp_path: Path, headers: dict[str, str]) -> None:
    with make_client(store, tmp_path) as client:
        assert_error(client.get("/api/public/projects", headers=headers), 401)
        response = client.post(
            "/v1/traces",
            content=protobuf_body(*two_spans()),
            headers={**headers, "content-type": PROTOBUF},
        )
        assert_error(response, 401)
    assert store.get_trace(project_of(store), TRACE) is None


@pytest.mark.parametrize("path", ["/v1/traces", "/api/public/otel/v1/traces"])
def test_protobuf_is_committed_before_the_answer(store: Store, tmp_path: Path, path: str) -> None:
    with make_client(store, tmp_path) as client:
        response = client.post(
            path, content=protobuf_body(*two_spans()), headers={**auth(), "content-type": PROTOBUF}
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == PROTOBUF
        ExportTraceServiceResponse.FromString(response.content)
        trace = store.get_trace(project_of(store), TRACE)
    assert trace is not None and trace.session_id == "chat-1" and trace.observation_count == 2
    session = store.get_session(project_of(store), "chat-1")
    assert session is not None and session.input_tokens == 7


def test_gzipped_json_gets_a_json_answer(store: Store, tmp_path: Path) -> None:
    headers = {**auth(), "content-type": "application/json", "content-encoding": "gzip"}
    with make_client(store, tmp_path) as client:
        response = client.post(
            "/v1/traces", content=gzip.compress(json_body(*two_spans())), headers=headers
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.content) == {}
    assert store.get_session(project_of(store), "chat-1") is not None


def test_chunked_body_without_content_length(store: Store, tmp_path: Path) -> None:
    body = json_body(*two_spans())
    chunks = iter([body[:10], body[10:]])
    with make_client(store, tmp_path) as client:
        response = client.post(
            "/v1/traces", content=chunks, headers={**auth(), "content-type": "application/json"}
        )
    assert response.status_code == 200
    assert store.get_trace(project_of(store), TRACE) is not None


def test_a_bad_span_is_reported_and_its_neighbours_kept(store: Store, tmp_path: Path) -> None:
    root, child = two_spans()
    document = json.loads(json_body(root, child))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "zz"
    with make_client(store, tmp_path) as client:
        response = client.post(
            "/v1/traces",
            content=json.dumps(document),
            headers={**auth(), "content-type": "application/json"},
        )
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1 and partial["errorMessage"]
    observations = store.list_observations(project_of(store), TRACE)
    assert [o.id for o in observations] == [CHILD]


def test_an_over_long_session_id_keeps_the_span_and_warns(store: Store, tmp_path: Path) -> None:
    span = SpanSpec(TRACE, ROOT, attributes={"session.id": "x" * 201})
    with make_client(store, tmp_path) as client:
        response = client.post(
            "/v1/traces", content=protobuf_body(span), headers={**auth(), "content-type": PROTOBUF}
        )
    assert response.status_code == 200
    trace = store.get_trace(project_of(store), TRACE)
    assert trace is not None and trace.session_id is None
    codes = [w.warning.code for w in store.list_warnings(project_of(store), TRACE)]
    assert codes == ["session_id_too_long"]


@pytest.mark.parametrize(
    ("content", "content_type", "encoding", "status"),
    [
        (b"\x00\xff garbage", PROTOBUF, None, 400),
        (b"{not json", "application/json", None, 400),
        (b"not gzip", PROTOBUF, "gzip", 400),
        (b"hello", "text/plain", None, 415),
        (b"hello", None, None, 415),
        (b"hello", PROTOBUF, "br", 415),
    ],
)
def test_undecodable_bodies_get_a_clear_4xx(
    store: Store,
    tmp_path: Path,
    content: bytes,
    content_type: str | None,
    encoding: str | None,
    status: int,
) -> None:
    headers = auth()
    if content_type:
        headers["content-type"] = content_type
    if encoding:
        headers["content-encoding"] = encoding
    with make_client(store, tmp_path) as client:
        assert_error(client.post("/v1/traces", content=content, headers=headers), status)


def test_oversized_bodies_get_413(store: Store, tmp_path: Path) -> None:
    body = protobuf_body(*two_spans())
    with make_client(store, tmp_path, max_body_bytes=len(body) - 1) as client:
        headers = {**auth(), "content-type": PROTOBUF}
        assert_error(client.post("/v1/traces", content=body, headers=headers), 413)
        chunked = client.post("/v1/traces", content=iter([body]), headers=headers)
        assert_error(chunked, 413)
    assert store.get_trace(project_of(store), TRACE) is None


def test_bomb_over_the_decoded_limit_gets_413(store: Store, tmp_path: Path) -> None:
    bomb = gzip.compress(b"\x00" * 2_000_000)
    headers = {**auth(), "content-type": PROTOBUF, "content-encoding": "gzip"}
    with make_client(store, tmp_path, max_decoded_bytes=1_000_000) as client:
        assert_error(client.post("/v1/traces", content=bomb, headers=headers), 413)


def test_bad_ingestion_version_header_gets_400(store: Store, tmp_path: Path) -> None:
    headers = {**auth(), "content-type": PROTOBUF, "x-langfuse-ingestion-version": "four"}
    with make_client(store, tmp_path) as client:
        assert_error(client.post("/v1/traces", content=protobuf_body(), headers=headers), 400)


def test_unknown_routes_and_methods_use_the_error_shape(store: Store, tmp_path: Path) -> None:
    with make_client(store, tmp_path) as client:
        assert_error(client.get("/api/public/nothing-here"), 404)
        assert_error(client.get("/v1/traces"), 405)
