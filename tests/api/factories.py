"""Shared by the API tests: an app on a real SQLite store with two projects and their keys.

api = make_api(tmp_path)          # project A (keys A) seeded, project B (keys B) seeded
api.get("/api/public/sessions")   # as project A
api.get(path, headers=api.auth_b) # as project B
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from skein.app import create_app
from skein.keys import KeyPair
from skein.projects import add_key
from skein.records import MappedBatch
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Store
from tests.store.query_factories import TraceSpec, seed, trace_observations

PUBLIC_A, SECRET_A = "pk-test-a", "sk-test-a"
PUBLIC_B, SECRET_B = "pk-test-b", "sk-test-b"
PROJECT_B = "project-b"


def basic_auth(public: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{public}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass(frozen=True, slots=True)
class Api:
    """A test client (authenticated as project A by default) and the store behind it."""

    client: TestClient
    store: Store
    project_a: str
    project_b: str
    specs: tuple[TraceSpec, ...]

    @property
    def auth_a(self) -> dict[str, str]:
        return basic_auth(PUBLIC_A, SECRET_A)

    @property
    def auth_b(self) -> dict[str, str]:
        return basic_auth(PUBLIC_B, SECRET_B)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.auth_a)
        return self.client.get(url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.auth_a)
        return self.client.delete(url, **kwargs)

    def delete_with_body(self, url: str, body: Any, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.auth_a)
        return self.client.request("DELETE", url, json=body, **kwargs)

    def json(self, url: str, **kwargs: Any) -> Any:
        response = self.get(url, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


def make_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, init_public_key=PUBLIC_A, init_secret_key=SECRET_A)


@contextlib.contextmanager
def running_api(tmp_path: Path, seeded: bool = True) -> Iterator[Api]:
    """The app on a fresh database: project A (the default) and project B, both seeded with
    `tests.store.query_factories.seed` (the same ids in each, so leaks would show)."""
    settings = make_settings(tmp_path)
    store = open_store(settings.resolved_database_url())
    try:
        with TestClient(create_app(settings, store)) as client:
            key = store.find_key(PUBLIC_A)
            assert key is not None
            store.create_project("b", PROJECT_B)
            add_key(store, PROJECT_B, KeyPair(PUBLIC_B, SECRET_B))
            specs = tuple(seed(store, key.project_id)) if seeded else ()
            if seeded:
                seed(store, PROJECT_B)
            yield Api(client, store, key.project_id, PROJECT_B, specs)
    finally:
        store.close()


# The id of a trace (and its session) stored only in project B: project A must never see it.
B_ONLY_INDEX = 900
B_ONLY_SESSION = "b-only-session"


def add_b_only_trace(api: Api) -> None:
    spec = TraceSpec(index=B_ONLY_INDEX, session_id=B_ONLY_SESSION, start_s=1)
    api.store.write([MappedBatch(project_id=api.project_b, observations=trace_observations(spec))])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One seeded app for a module's read-only tests."""
    with running_api(tmp_path_factory.mktemp("api")) as opened:
        add_b_only_trace(opened)
        yield opened


@pytest.fixture
def fresh_api(tmp_path: Path) -> Iterator[Api]:
    """A seeded app of the test's own, for tests that delete."""
    with running_api(tmp_path) as opened:
        add_b_only_trace(opened)
        yield opened
