"""Every API endpoint answers its failures in the one error shape (`skein.errors.error_body`).

The routes are walked from the app, so a new endpoint is checked without being listed here:
without a key it answers 401 (unless public); with a path parameter naming nothing, 404; with a
malformed body, 400. Bad query parameters answer 400 with a message naming the parameter.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from skein.app import routes
from skein.errors import error_body
from tests.api.factories import Api, api

__all__ = ["api"]  # fixtures

PUBLIC_PATHS = {
    "/api/public/health",
    "/api/public/ready",
    "/api/public/openapi.json",
    "/openapi.json",
}
# Bodies these endpoints never read: OTLP metrics are accepted and dropped.
UNREAD_BODIES = {"/api/public/otel/v1/metrics"}
PLACEHOLDER = re.compile(r"\{[^}]*\}")
UNKNOWN_ID = "no-such-id-0123"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path == "/v1/traces"


def api_endpoints() -> list[tuple[str, str]]:
    """(method, path template) of every API route."""
    found = []
    for route in routes():
        if isinstance(route, Route) and is_api_path(route.path):
            found += [(m, route.path) for m in sorted(route.methods or ()) if m in METHODS]
    return found


def concrete(path: str) -> str:
    return PLACEHOLDER.sub(UNKNOWN_ID, path)


def assert_error_shape(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    error = body["error"]
    expected = error_body(status, error["code"], error["message"], error.get("details"))
    assert body == expected
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]


def call(api: Api, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return api.client.request(method, path, **kwargs)


def test_there_are_endpoints_to_walk() -> None:
    paths = {path for _, path in api_endpoints()}

    assert {"/api/public/traces", "/api/public/sessions/{session_id:path}"} <= paths
    assert len(api_endpoints()) >= 20


@pytest.mark.parametrize(("method", "path"), api_endpoints())
def test_without_a_key_every_endpoint_answers_401(api: Api, method: str, path: str) -> None:
    if path in PUBLIC_PATHS:
        pytest.skip("public endpoint")

    response = call(api, method, concrete(path))

    assert_error_shape(response, 401)
    assert (
        call(api, method, concrete(path), headers={"Authorization": "Basic eDp5"}).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p in api_endpoints() if "{" in p and m in ("GET", "DELETE")]
)
def test_an_unknown_id_answers_404(api: Api, method: str, path: str) -> None:
    response = call(api, method, concrete(path), headers=api.auth_a)

    assert_error_shape(response, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        (m, p)
        for m, p in api_endpoints()
        if m in ("POST", "PUT", "PATCH") and p not in UNREAD_BODIES
    ],
)
def test_a_malformed_body_answers_400(api: Api, method: str, path: str) -> None:
    headers = {**api.auth_a, "Content-Type": "application/json"}

    response = call(api, method, concrete(path), headers=headers, content=b"{not json")

    assert_error_shape(response, 400)


BAD_PARAMETERS = [
    ("/api/public/traces?limit=abc", "limit"),
    ("/api/public/traces?limit=0", "limit"),
    ("/api/public/traces?limit=10000", "limit"),
    ("/api/public/traces?page=0", "page"),
    ("/api/public/traces?fromTimestamp=yesterday", "fromTimestamp"),
    ("/api/public/traces?orderBy=mood.desc", "orderBy"),
    ("/api/public/traces?orderBy=timestamp.sideways", "orderBy"),
    ("/api/public/traces?fields=core,everything", "fields"),
    ("/api/public/traces?cursor=garbage!", "cursor"),
    ("/api/public/traces?filter=%5B%5D", "filter"),
    ("/api/public/sessions?limit=-1", "limit"),
    ("/api/public/sessions?toTimestamp=2024-13-45", "toTimestamp"),
    ("/api/public/sessions?hasErrors=maybe", "hasErrors"),
    ("/api/public/sessions?minTraces=many", "minTraces"),
    (
        "/api/public/sessions?orderBy=totalCost.desc&cursor=WyJ0aW1lc3RhbXAiLHRydWUsMSwiYSJd",
        "cursor",
    ),
    ("/api/public/sessions/s1?tracesLimit=0", "tracesLimit"),
    ("/api/public/sessions/s1?tracesPage=x", "tracesPage"),
    ("/api/public/observations?fromStartTime=noon", "fromStartTime"),
    ("/api/public/observations?limit=1001", "limit"),
    ("/api/public/v2/observations?limit=5000", "limit"),
    ("/api/public/v2/observations?fields=core,secrets", "fields"),
    ("/api/public/v2/observations?isRootObservation=perhaps", "isRootObservation"),
    ("/api/public/traces/abc?fields=nope", "fields"),
    ("/api/public/export/sessions?format=xlsx", "format"),
    ("/api/public/export/traces?toTimestamp=later", "toTimestamp"),
]


@pytest.mark.parametrize(("url", "parameter"), BAD_PARAMETERS)
def test_bad_parameters_answer_400_naming_the_parameter(api: Api, url: str, parameter: str) -> None:
    response = api.get(url)

    assert_error_shape(response, 400)
    assert f"'{parameter}'" in response.json()["message"]


def test_unknown_paths_and_methods_answer_in_the_shape(api: Api) -> None:
    assert_error_shape(api.get("/api/public/nothing-here"), 404)
    assert_error_shape(api.client.request("PATCH", "/api/public/traces", headers=api.auth_a), 405)
