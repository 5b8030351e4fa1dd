"""`GET /api/public/ready`: readiness for a load balancer, on both backends."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from skein.app import create_app
from skein.settings import Settings
from skein.store.base import Store
from tests.store.test_contract import make_store, store

__all__ = ["make_store", "store"]  # fixtures


def client(store: Store, tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path), store=store))


def test_ready_when_the_store_answers(store: Store, tmp_path: Path) -> None:
    with client(store, tmp_path) as http:
        response = http.get("/api/public/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "READY"
    assert response.json()["pendingSpans"] == 0


def test_not_ready_when_the_store_does_not_answer(store: Store, tmp_path: Path) -> None:
    with client(store, tmp_path) as http:
        store.close()
        response = http.get("/api/public/ready")
        health = http.get("/api/public/health")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "overloaded"
    assert "Retry-After" in response.headers
    assert health.status_code == 200  # liveness does not depend on the database
