"""Project isolation over every route the app serves, found by walking its route table.

Project B holds objects whose ids exist only there (a trace and its spans, a session, a
score, a model price, a comment, a bookmark). Every route is called as project A — with A's
API key for the API, and logged into the web UI with A's key pair — with B's ids in the
path, in the query (plus `?project=` naming B) and in the body. Then:

- reads of B's objects answer 404, and no answer to a read or delete names any of B's ids;
- nothing B holds has changed (writes naming B's ids land in A, or are refused);
- spans sent with A's key but a scope `public_key` of B are dropped.

A route added later is walked too; its path parameters get B's ids by name.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from skein.app import create_app
from skein.keys import KeyPair
from skein.prices import ModelPrice
from skein.projects import add_key
from skein.records import MappedBatch, Score, TraceAttributes
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Comment, Store
from tests.api.factories import (
    B_ONLY_INDEX,
    B_ONLY_SESSION,
    PROJECT_B,
    PUBLIC_A,
    PUBLIC_B,
    SECRET_A,
    SECRET_B,
    add_b_only_trace,
    basic_auth,
)
from tests.ingest.test_receiver import langfuse_body
from tests.store.factories import make_observation
from tests.store.query_factories import seed, span_id_of, trace_id_of

B_TRACE = trace_id_of(B_ONLY_INDEX)
B_SPAN = span_id_of(B_ONLY_INDEX, 0)
B_SCORE = "b-only-score-7f3a"
B_MODEL = "b-only-model-7f3a"
B_COMMENT = "b-only-comment-7f3a"
B_COMMENT_TEXT = "b-only-comment-text-7f3a"
B_CONTENT = "b-secret-7f3a"  # in the name, user, input, output and metadata of a B trace
B_CONTENT_TRACE = "b5ec0000000000000000000000007f3a"
# What must never appear in an answer to project A (unless the request itself sent it).
B_SECRETS = (
    B_TRACE, B_SPAN, B_ONLY_SESSION, B_SCORE, B_MODEL, B_COMMENT, B_COMMENT_TEXT, PUBLIC_B,
    B_CONTENT, B_CONTENT_TRACE,
)  # fmt: skip
PATH_VALUES = {
    "trace_id": B_TRACE,
    "session_id": B_ONLY_SESSION,
    "observation_id": B_SPAN,
    "score_id": B_SCORE,
    "model_id": B_MODEL,
    "comment_id": B_COMMENT,
    "name": "b-only-prompt",
    "source": "observation",
    "field": "input",
}
QUERY = {
    "sessionId": B_ONLY_SESSION,
    "traceId": B_TRACE,
    "session_id": B_ONLY_SESSION,
    "trace_id": B_TRACE,
    "observationId": B_SPAN,
    "project": PROJECT_B,
    "projectId": PROJECT_B,
}
# Routes that answer the same to everyone (or only the caller's login state).
PUBLIC_ROUTES = {"/api/public/health", "/api/public/ready", "/openapi.json", "/login", "/logout"}
PUBLIC_ROUTES |= {"/api/public/openapi.json"}
# /ui/events streams (checked on its own below); /logout would end the login the walk uses.
SKIP_ROUTES = {"/ui/events", "/logout"}


def b_json_body() -> dict[str, Any]:
    """A body that names B's objects in every field a write endpoint might read."""
    now = "2026-01-01T00:00:00.000Z"
    events = [
        {"id": "e1", "type": "trace-create", "timestamp": now,
         "body": {"id": B_TRACE, "sessionId": B_ONLY_SESSION, "name": "from-a"}},
        {"id": "e2", "type": "span-create", "timestamp": now,
         "body": {"id": B_SPAN, "traceId": B_TRACE, "name": "from-a", "startTime": now}},
        {"id": "e3", "type": "score-create", "timestamp": now,
         "body": {"id": B_SCORE, "traceId": B_TRACE, "name": "q", "value": 9}},
    ]  # fmt: skip
    return {
        "batch": events,
        "id": B_SCORE,
        "traceId": B_TRACE,
        "traceIds": [B_TRACE],
        "sessionId": B_ONLY_SESSION,
        "sessionIds": [B_ONLY_SESSION],
        "observationId": B_SPAN,
        "name": "q",
        "value": 1,
        "modelName": "b-model",
        "matchPattern": "b-model",
        "unit": "TOKENS",
        "inputPrice": 0.1,
        "from": B_ONLY_SESSION,
        "to": "a-session",
        "source": B_ONLY_SESSION,
        "target": "a-session",
        "newSessionId": "a-session",
        "rules": [],
    }


@dataclass(frozen=True, slots=True)
class Setup:
    client: TestClient
    store: Store
    project_a: str
    csrf: str


def seed_b_only(store: Store) -> None:
    trace = TraceAttributes(
        session_id=B_ONLY_SESSION, session_source="session.id", user_id=f"{B_CONTENT}-user",
        user_source="user.id", name=f"{B_CONTENT}-name", metadata={"k": f"{B_CONTENT}-meta"},
        input=f"{B_CONTENT}-trace-input",
    )  # fmt: skip
    secret = make_observation(
        trace_id=B_CONTENT_TRACE, id="b5ec00000000aaaa", name=f"{B_CONTENT}-span",
        input=f"{B_CONTENT}-input", output=f"{B_CONTENT}-output", trace=trace,
    )  # fmt: skip
    store.write([MappedBatch(PROJECT_B, (secret,))])
    score = Score(B_SCORE, "q", "NUMERIC", 1.0, None, time.time_ns(), trace_id=B_TRACE)
    store.write([MappedBatch(PROJECT_B, (), scores=(score,))])
    store.put_model_price(
        ModelPrice(B_MODEL, "b-model", "b-model", {"input": 1.0}, project_id=PROJECT_B)
    )
    comment = Comment(B_COMMENT, "session", B_ONLY_SESSION, B_COMMENT_TEXT, "b", time.time_ns())
    store.add_comment(PROJECT_B, comment)
    store.set_bookmark(PROJECT_B, B_ONLY_SESSION, True)


def log_in(client: TestClient) -> str:
    """Log the client into the UI with A's key pair; the CSRF token of its forms."""
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    form = {"csrf": token.group(1), "public_key": PUBLIC_A, "secret_key": SECRET_A}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    settings_page = client.get("/settings")
    found = re.search(r'name="csrf" value="([^"]+)"', settings_page.text)
    assert found, settings_page.text[:500]
    return found.group(1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    data_dir = tmp_path_factory.mktemp("isolation")
    settings = Settings(
        data_dir=data_dir, init_public_key=PUBLIC_A, init_secret_key=SECRET_A, ui_login="required"
    )
    store = open_store(settings.resolved_database_url())
    try:
        with TestClient(create_app(settings, store)) as client:
            key = store.find_key(PUBLIC_A)
            assert key is not None
            store.create_project("b", PROJECT_B)
            add_key(store, PROJECT_B, KeyPair(PUBLIC_B, SECRET_B))
            seed(store, key.project_id)
            seed(store, PROJECT_B)
            add_b_only_trace(_Api(store, PROJECT_B))
            seed_b_only(store)
            yield Setup(client, store, key.project_id, log_in(client))
    finally:
        store.close()


@dataclass(frozen=True, slots=True)
class _Api:
    """What `add_b_only_trace` needs of the API factory's `Api`."""

    store: Store
    project_b: str


def snapshot_of_b(store: Store) -> dict[str, Any]:
    """Everything project B holds that a route could change."""
    traces = store.list_traces(PROJECT_B, limit=10_000)
    return {
        "traces": traces,
        "sessions": store.list_sessions(PROJECT_B, limit=10_000),
        "observations": {
            t.trace_id: store.list_observations(PROJECT_B, t.trace_id) for t in traces
        },
        "score": store.get_score(PROJECT_B, B_SCORE),
        "prices": store.list_model_prices(PROJECT_B),
        "comments": store.list_comments(PROJECT_B, "session", B_ONLY_SESSION),
        "bookmarks": store.list_bookmarks(PROJECT_B),
        "keys": store.list_keys(PROJECT_B),
        "project": store.get_project(PROJECT_B),
    }


def every_route() -> list[tuple[str, str]]:
    found = []
    for route in create_app(Settings()).routes:
        if isinstance(route, Route) and route.methods:
            found += [(method, route.path) for method in sorted(route.methods - {"HEAD"})]
    return found


def concrete(path: str) -> str:
    """The route's path with B's ids for its parameters."""

    def value(match: re.Match[str]) -> str:
        return quote(PATH_VALUES.get(match.group(1), "b-only-unknown"), safe="")

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def request_text(method: str, path: str) -> str:
    """Everything a call sends (an answer may repeat it without leaking anything)."""
    sent = concrete(path) + repr(QUERY) if method == "GET" else concrete(path)
    return sent + repr(b_json_body()) + PUBLIC_B if method != "GET" else sent


def call(setup: Setup, method: str, path: str) -> Any:
    url = concrete(path)
    headers = basic_auth(PUBLIC_A, SECRET_A)
    if method == "GET":
        return setup.client.get(url, params=QUERY, headers=headers, follow_redirects=False)
    if path.startswith("/api/") or path == "/v1/traces":
        return setup.client.request(method, url, json=b_json_body(), headers=headers)
    form = {"csrf": setup.csrf, "public_key": PUBLIC_B, "price_id": B_MODEL, "body": "x"}
    return setup.client.post(url, data=form, headers=headers, follow_redirects=False)


def leaked(text: str, sent: str = "") -> list[str]:
    return [secret for secret in B_SECRETS if secret in text and secret not in sent]


def remove_b_ids_from_a(store: Store, project_a: str) -> None:
    """Writes naming B's ids create A's own objects with those ids: remove them, so later
    reads of those ids must find nothing in A."""
    store.delete_session(project_a, B_ONLY_SESSION)
    store.delete_traces(project_a, [B_TRACE, B_CONTENT_TRACE])
    store.delete_score(project_a, B_SCORE)
    store.delete_model_price(project_a, B_MODEL)


# Reads and deletes first, then writes (each test also cleans up what a write made in A).
ORDER = {"GET": 0, "DELETE": 1}
ROUTES = sorted(
    ((m, p) for m, p in every_route() if p not in SKIP_ROUTES), key=lambda r: ORDER.get(r[0], 2)
)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_project_a_cannot_see_or_change_project_b(setup: Setup, method: str, path: str) -> None:
    before = snapshot_of_b(setup.store)
    try:
        response = call(setup, method, path)
    finally:
        remove_b_ids_from_a(setup.store, setup.project_a)
    assert response.status_code < 500, response.text[:500]
    if method in ("GET", "DELETE"):
        assert leaked(response.text, request_text(method, path)) == [], response.text[:1000]
    names_b_object = "{" in path and path not in PUBLIC_ROUTES
    if method in ("GET", "DELETE") and names_b_object and "prompts" not in path:
        assert response.status_code == 404, (response.status_code, response.text[:300])
    assert snapshot_of_b(setup.store) == before


def test_every_route_was_walked() -> None:
    paths = {path for _, path in ROUTES}
    assert "/api/public/traces/{trace_id:path}" in paths and "/sessions" in paths
    assert len(ROUTES) >= 60


def test_the_live_event_stream_names_nothing_of_b(setup: Setup) -> None:
    with setup.client.stream("GET", "/ui/events", params={"project": PROJECT_B}) as response:
        assert response.status_code == 200
        first = next(response.iter_text())
    assert leaked(first) == []


def test_spans_sent_with_as_key_for_bs_public_key_are_dropped(setup: Setup) -> None:
    before = snapshot_of_b(setup.store)
    headers = {**basic_auth(PUBLIC_A, SECRET_A), "Content-Type": "application/x-protobuf"}
    body = langfuse_body([PUBLIC_B])
    response = setup.client.post("/api/public/otel/v1/traces", content=body, headers=headers)
    assert response.status_code == 200
    assert setup.store.list_observations(setup.project_a, "0af7651916cd43dd8448eb211c80319c") == []
    assert snapshot_of_b(setup.store) == before


def test_b_still_sees_its_own_objects(setup: Setup) -> None:
    """The ids used above are real: B's own key reads them."""
    headers = basic_auth(PUBLIC_B, SECRET_B)
    for path in (f"/api/public/traces/{B_TRACE}", f"/api/public/sessions/{B_ONLY_SESSION}"):
        assert setup.client.get(path, headers=headers).status_code == 200
    assert setup.client.get(f"/api/public/scores/{B_SCORE}", headers=headers).status_code == 200
