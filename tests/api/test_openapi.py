"""The served OpenAPI document describes exactly the API routes the app has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from starlette.routing import Route

from skein.api.openapi import build_spec
from skein.app import routes
from tests.api.factories import Api, api

__all__ = ["api"]  # fixtures

PLACEHOLDER = re.compile(r"\{[^}]*\}")
DOCUMENTED_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def is_api_path(path: str) -> bool:
    """The HTTP API (the web UI's pages are not part of it)."""
    return path.startswith("/api/") or path in ("/v1/traces", "/openapi.json")


def shape(path: str) -> str:
    """A path with its parameters blanked: `/traces/{trace_id}` and `/traces/{traceId}` agree."""
    return PLACEHOLDER.sub("{}", path)


def routed() -> set[tuple[str, str]]:
    pairs = set()
    for route in routes():
        if isinstance(route, Route) and is_api_path(route.path):
            methods = (route.methods or set()) & DOCUMENTED_METHODS
            pairs |= {(shape(route.path), method) for method in methods}
    return pairs


def documented(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (shape(path), method.upper()) for path, item in spec["paths"].items() for method in item
    }


def test_every_api_route_is_documented_and_every_documented_path_is_routed() -> None:
    spec = build_spec()

    assert routed() - documented(spec) == set(), "routes missing from the OpenAPI document"
    assert documented(spec) - routed() == set(), "documented paths that are not routed"


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "$ref":
                yield inner
            else:
                yield from refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from refs(inner)


def test_every_reference_resolves_and_every_path_parameter_is_declared() -> None:
    spec = build_spec()
    schemas = spec["components"]["schemas"]

    assert {r.removeprefix("#/components/schemas/") for r in refs(spec)} <= schemas.keys()
    for path, item in spec["paths"].items():
        names = set(re.findall(r"\{([^}]*)\}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{path}: path parameters {declared} != {names}"
            assert any(status.startswith("2") for status in operation["responses"])


def test_the_document_is_served_without_a_key(api: Api) -> None:
    for url in ("/api/public/openapi.json", "/openapi.json"):
        response = api.client.get(url)
        assert response.status_code == 200
        assert response.json()["openapi"].startswith("3.")
        assert response.json()["paths"].keys() == build_spec()["paths"].keys()
