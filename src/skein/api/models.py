"""Model prices: `GET/POST /api/public/models`, `GET/DELETE /api/public/models/{id}`.

The list holds the project's own prices first (newest first, the order they are matched
in), then Skein's table (`isLangfuseManaged: true`, with its `source` note). A POST takes
Langfuse's model definition (`modelName`, `matchPattern`, `inputPrice`/`outputPrice`/
`totalPrice` or `prices` or `pricingTiers`, `unit`) and applies to generations ingested from
then on; Skein's own prices cannot be deleted, only overridden.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from skein.api.access import in_thread, project_of, store_of
from skein.api.ingestion import parse_json
from skein.api.params import Params
from skein.api.shapes import iso
from skein.errors import BadRequest, NotFound
from skein.prices import ModelPrice, PriceError, price_from_body
from skein.request_body import read_body
from skein.services import Services

MAX_LIMIT = 100


async def list_models(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    paging = Params(request.query_params).paging(max_limit=MAX_LIMIT)
    prices = await _all_prices(request, project_id)
    start = (paging.page - 1) * paging.limit
    meta = {
        "page": paging.page,
        "limit": paging.limit,
        "totalItems": len(prices),
        "totalPages": math.ceil(len(prices) / paging.limit),
    }
    shown = prices[start : start + paging.limit]
    return JSONResponse({"data": [model_json(p) for p in shown], "meta": meta})


async def get_model(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    return JSONResponse(model_json(await _find(request, project_id)))


async def create_model(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    body = parse_json(await read_body(request, services.settings.max_body_bytes))
    try:
        price = price_from_body(
            body, project_id=project_id, price_id=uuid.uuid4().hex, now_ns=time.time_ns()
        )
    except PriceError as error:
        raise BadRequest(str(error)) from None
    await in_thread(services.store.put_model_price, price)
    services.prices.invalidate(project_id)
    return JSONResponse(model_json(price))


async def delete_model(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    price_id = request.path_params["model_id"]
    if any(price.id == price_id for price in services.prices.builtin):
        raise BadRequest(f"model {price_id} is one of Skein's prices; override it with a POST")
    if not await in_thread(services.store.delete_model_price, project_id, price_id):
        raise NotFound(f"model {price_id} not found in this project")
    services.prices.invalidate(project_id)
    return JSONResponse({"message": "Model deleted"})


async def _all_prices(request: Request, project_id: str) -> list[ModelPrice]:
    services: Services = request.app.state.services
    own = await in_thread(store_of(request).list_model_prices, project_id)
    return [*own, *services.prices.builtin]


async def _find(request: Request, project_id: str) -> ModelPrice:
    model_id = request.path_params["model_id"]
    for price in await _all_prices(request, project_id):
        if price.id == model_id:
            return price
    raise NotFound(f"model {model_id} not found")


def model_json(price: ModelPrice) -> dict[str, Any]:
    """Langfuse's Model, with one default pricing tier, plus Skein's `source` note."""
    prices = dict(price.prices)
    return {
        "id": price.id,
        "modelName": price.model_name,
        "matchPattern": price.match_pattern,
        "startDate": None,
        "unit": price.unit,
        "inputPrice": prices.get("input"),
        "outputPrice": prices.get("output"),
        "totalPrice": prices.get("total"),
        "prices": {key: {"price": value} for key, value in prices.items()},
        "pricingTiers": [
            {
                "id": f"{price.id}-default",
                "name": "Standard",
                "isDefault": True,
                "priority": 0,
                "conditions": [],
                "prices": prices,
            }
        ],
        "tokenizerId": None,
        "tokenizerConfig": None,
        "isLangfuseManaged": price.project_id is None,
        "createdAt": iso(price.created_ns),
        "source": price.source or None,
    }
