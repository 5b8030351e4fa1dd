"""A project's own model prices in the store.

Parametrised over backends through the contract suite's fixtures.
"""

from __future__ import annotations

from typing import Any

import pytest

from skein.prices import ModelPrice
from skein.store.base import Store
from tests.store.factories import PROJECT_ID
from tests.store.test_contract import make_store, store

__all__ = ["make_store", "store"]  # fixtures


def make_price(price_id: str, created_ns: int, **overrides: Any) -> ModelPrice:
    fields: dict[str, Any] = {
        "id": price_id,
        "model_name": "m",
        "match_pattern": "(?i)^m$",
        "prices": {"input": 1e-6, "output": 2e-6},
        "unit": "TOKENS",
        "project_id": PROJECT_ID,
        "created_ns": created_ns,
    }
    fields.update(overrides)
    return ModelPrice(**fields)


def test_prices_are_listed_newest_first_per_project(store: Store) -> None:
    old, new = make_price("p1", 1), make_price("p2", 2, prices={"total": 0.5})
    store.put_model_price(old)
    store.put_model_price(new)
    store.put_model_price(make_price("p3", 3, project_id="project-b"))

    assert store.list_model_prices(PROJECT_ID) == [new, old]


def test_a_price_with_a_known_id_is_replaced(store: Store) -> None:
    store.put_model_price(make_price("p1", 1))
    replacement = make_price("p1", 5, model_name="renamed", match_pattern="x")
    store.put_model_price(replacement)

    assert store.list_model_prices(PROJECT_ID) == [replacement]


def test_deleting_a_price_only_touches_its_project(store: Store) -> None:
    store.put_model_price(make_price("p1", 1))

    assert not store.delete_model_price("project-b", "p1")
    assert store.delete_model_price(PROJECT_ID, "p1")
    assert store.list_model_prices(PROJECT_ID) == []


def test_skeins_own_prices_are_not_stored(store: Store) -> None:
    with pytest.raises(ValueError, match="project prices"):
        store.put_model_price(make_price("p1", 1, project_id=None))
