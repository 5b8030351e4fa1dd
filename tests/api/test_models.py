"""The model price endpoints in process: Skein's table, project prices, and their errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skein.errors import error_body
from skein.prices import builtin_prices
from tests.api.factories import Api, running_api

MODELS = "/api/public/models"
BUILTIN_COUNT = len(builtin_prices())


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, seeded=False) as opened:
        yield opened


def definition(**fields: Any) -> dict[str, Any]:
    return {"modelName": "house-model", "matchPattern": "(?i)^house-model$",
            "inputPrice": 1e-6, "outputPrice": 3e-6, **fields}  # fmt: skip


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body == error_body(status, body["error"]["code"], body["message"])


def test_the_list_holds_skeins_table_with_sources(api: Api) -> None:
    body = api.json(f"{MODELS}?limit=100")

    assert body["meta"]["totalItems"] == BUILTIN_COUNT
    assert all(m["isLangfuseManaged"] and m["source"] for m in body["data"])
    gpt = next(m for m in body["data"] if m["id"] == "openai-gpt-4o")
    assert gpt["inputPrice"] == gpt["prices"]["input"]["price"] == gpt["pricingTiers"][0][
        "prices"]["input"]  # fmt: skip


def test_a_posted_price_is_listed_first_and_found_by_id(api: Api) -> None:
    created = api.client.post(MODELS, json=definition(), headers=api.auth_a)

    assert created.status_code == 200
    model = created.json()
    assert (model["modelName"], model["inputPrice"], model["outputPrice"]) == (
        "house-model", 1e-6, 3e-6)  # fmt: skip
    assert model["isLangfuseManaged"] is False and model["unit"] == "TOKENS"
    listed = api.json(f"{MODELS}?limit=2")
    assert listed["data"][0]["id"] == model["id"]
    assert listed["meta"]["totalItems"] == BUILTIN_COUNT + 1
    assert api.json(f"{MODELS}/{model['id']}") == model
    assert api.json(f"{MODELS}/openai-gpt-4o")["modelName"] == "gpt-4o"


def test_project_prices_stay_in_their_project(api: Api) -> None:
    model = api.client.post(MODELS, json=definition(), headers=api.auth_a).json()

    assert_error(api.get(f"{MODELS}/{model['id']}", headers=api.auth_b), 404)
    assert_error(api.delete(f"{MODELS}/{model['id']}", headers=api.auth_b), 404)
    assert api.json(MODELS, headers=api.auth_b)["meta"]["totalItems"] == BUILTIN_COUNT


def test_deleting_a_project_price(api: Api) -> None:
    model = api.client.post(MODELS, json=definition(), headers=api.auth_a).json()

    response = api.delete(f"{MODELS}/{model['id']}")

    assert response.status_code == 200
    assert_error(api.get(f"{MODELS}/{model['id']}"), 404)
    assert_error(api.delete(f"{MODELS}/{model['id']}"), 404)


def test_skeins_prices_cannot_be_deleted(api: Api) -> None:
    assert_error(api.delete(f"{MODELS}/openai-gpt-4o"), 400)
    assert api.get(f"{MODELS}/openai-gpt-4o").status_code == 200


@pytest.mark.parametrize(
    "body",
    [definition(matchPattern="("), definition(modelName=""), definition(inputPrice=-1),
     {"modelName": "m", "matchPattern": "m"}, [definition()]],
)  # fmt: skip
def test_a_bad_definition_gets_400(api: Api, body: Any) -> None:
    assert_error(api.client.post(MODELS, json=body, headers=api.auth_a), 400)


def test_paging_past_the_end_is_empty(api: Api) -> None:
    body = api.json(f"{MODELS}?limit=50&page=99")

    assert body["data"] == [] and body["meta"]["totalPages"] == -(-BUILTIN_COUNT // 50)
