"""Scores: `POST/GET /api/public/scores`, `GET /api/public/v2|v3/scores`, one score by id.

    POST   /api/public/scores          one score → 200 {"id"}; an array (Python SDK 5.x) →
                                       202 {"message": "Accepted"}, or 207 {accepted,
                                       rejected, errors} when some are refused
    GET    /api/public/scores          Langfuse's v2 list: {data, meta: {page, limit,
    GET    /api/public/v2/scores        totalItems, totalPages}}
    GET    /api/public/v3/scores       Langfuse's v3 list: typed `value`, `subject`, cursor
    GET    /api/public/scores/{id}     one score (also under /v2/)
    DELETE /api/public/scores/{id}     {"message": "Score deleted"}

A score belongs to the project of the key that wrote it; another project's id is a 404.
Every write is committed (and the sessions' score aggregates refolded) before the answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
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
from skein.records import MappedBatch, Score
from skein.request_body import read_body
from skein.scores import DATA_TYPES, ScoreError, ScoreQuery, parse_score
from skein.services import Services

MAX_LIMIT = 100
V3_FIELD_GROUPS = ("details", "subject", "annotation")
# Langfuse filters Skein does not keep the data for: refused rather than ignored.
UNSUPPORTED_FILTERS = (
    "userId", "queueId", "traceTags", "value", "operator", "datasetRunId", "experimentId",
    "authorUserId", "valueMin", "valueMax",
)  # fmt: skip


# ── Writing ───────────────────────────────────────────────────────────────────────────


async def create_scores(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    document = parse_json(await read_body(request, services.settings.max_body_bytes))
    now_ns = time.time_ns()
    if isinstance(document, list):
        return await _create_many(services, project_id, document, now_ns)
    score = _parsed(document, now_ns)
    await _submit(services, project_id, [score])
    return JSONResponse({"id": score.id})


async def _create_many(
    services: Services, project_id: str, documents: list[Any], now_ns: int
) -> JSONResponse:
    scores: list[Score] = []
    errors: list[dict[str, Any]] = []
    for index, document in enumerate(documents):
        try:
            scores.append(_parsed(document, now_ns))
        except BadRequest as error:
            errors.append({"index": index, "id": _id_of(document), "message": error.message})
    await _submit(services, project_id, scores)
    if not errors:
        return JSONResponse({"message": "Accepted"}, status_code=202)
    body = {"accepted": len(scores), "rejected": len(errors), "errors": errors}
    return JSONResponse(body, status_code=207)


def _parsed(document: Any, now_ns: int) -> Score:
    try:
        return parse_score(document, default_id=str(uuid.uuid4()), received_ns=now_ns)
    except ScoreError as error:
        raise BadRequest(str(error)) from None


def _id_of(document: Any) -> Any:
    return document.get("id") if isinstance(document, dict) else None


async def _submit(services: Services, project_id: str, scores: list[Score]) -> None:
    if scores:
        batch = MappedBatch(project_id, (), scores=tuple(scores))
        await asyncio.wrap_future(services.writer.submit(batch))


async def delete_score(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    score_id = request.path_params["score_id"]
    if not await in_thread(store_of(request).delete_score, project_id, score_id):
        raise NotFound(f"score {score_id} not found in this project")
    return JSONResponse({"message": "Score deleted"})


# ── Reading ───────────────────────────────────────────────────────────────────────────


async def get_score(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    score_id = request.path_params["score_id"]
    score = await in_thread(store_of(request).get_score, project_id, score_id)
    if score is None:
        raise NotFound(f"score {score_id} not found in this project")
    return JSONResponse(score_json(score, project_id))


async def list_scores(request: Request) -> JSONResponse:
    """Langfuse's v1/v2 list, paged by page number."""
    project_id = await project_of(request)
    params = Params(request.query_params)
    paging = params.paging(max_limit=MAX_LIMIT)
    query = score_query(params, paging.limit, (paging.page - 1) * paging.limit, split=False)
    page = await in_thread(store_of(request).query_scores, project_id, query)
    total = page.total or 0
    meta = {
        "page": paging.page,
        "limit": paging.limit,
        "totalItems": total,
        "totalPages": math.ceil(total / paging.limit),
    }
    return JSONResponse({"data": [score_json(s, project_id) for s in page.items], "meta": meta})


async def list_scores_v3(request: Request) -> JSONResponse:
    """Langfuse's v3 list: typed values, the subject, and an opaque cursor."""
    project_id = await project_of(request)
    params = Params(request.query_params)
    params.fields("fields", V3_FIELD_GROUPS, V3_FIELD_GROUPS)
    limit = params.integer("limit", 50, 1, MAX_LIMIT)
    offset = decode_offset(params.text("cursor"))
    query = score_query(params, limit, offset, split=True)
    page = await in_thread(store_of(request).query_scores, project_id, query)
    meta: dict[str, Any] = {"limit": limit}
    if offset + len(page.items) < (page.total or 0):
        meta["cursor"] = encode_offset(offset + limit)
    return JSONResponse({"data": [score_v3_json(s, project_id) for s in page.items], "meta": meta})


def score_query(params: Params, limit: int, offset: int, *, split: bool) -> ScoreQuery:
    """The filters of a list request; `split` reads comma lists (v3) and `scoreIds` (v2)."""
    refused = [name for name in UNSUPPORTED_FILTERS if params.text(name)]
    if refused:
        raise BadRequest(f"parameter(s) {', '.join(refused)} are not supported")
    values = params.texts if split else _single(params)
    if split and values("observationId") and not values("traceId"):
        raise BadRequest("parameter 'observationId' needs 'traceId'")
    return ScoreQuery(
        ids=values("id") or params.texts("scoreIds"),
        trace_ids=values("traceId"),
        observation_ids=values("observationId"),
        session_ids=values("sessionId"),
        names=values("name"),
        data_types=_data_types(values("dataType")),
        sources=tuple(v.upper() for v in values("source")),
        environments=params.texts("environment"),
        config_ids=values("configId"),
        from_ns=params.timestamp("fromTimestamp"),
        to_ns=params.timestamp("toTimestamp"),
        limit=limit,
        offset=offset,
    )


def _single(params: Params) -> Any:
    def value(name: str) -> tuple[str, ...]:
        text = params.text(name)
        return (text,) if text is not None else ()

    return value


def _data_types(values: tuple[str, ...]) -> tuple[str, ...]:
    types = tuple(v.upper() for v in values)
    unknown = [t for t in types if t not in DATA_TYPES]
    if unknown:
        raise BadRequest(f"parameter 'dataType' must be one of {', '.join(DATA_TYPES)}")
    return types


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise BadRequest("parameter 'cursor' is not a cursor this server gave out") from None
    if not isinstance(offset, int) or offset < 0:
        raise BadRequest("parameter 'cursor' is not a cursor this server gave out")
    return offset


# ── JSON shapes ───────────────────────────────────────────────────────────────────────


def score_json(score: Score, project_id: str) -> dict[str, Any]:
    """Langfuse's Score (v1/v2): `value` a number, `stringValue` for the other types."""
    document = _common_json(score, project_id)
    document.update(
        traceId=score.trace_id,
        observationId=score.observation_id,
        sessionId=score.session_id,
        datasetRunId=None,
        value=score.value if score.value is not None else 0,
    )
    if score.data_type != "NUMERIC":
        document["stringValue"] = score.string_value
    return document


def score_v3_json(score: Score, project_id: str) -> dict[str, Any]:
    """Langfuse's ScoreV3: `value` typed by `dataType`, and the `subject` it is on."""
    document = _common_json(score, project_id)
    document["value"] = _v3_value(score)
    document["subject"] = _subject(score)
    return document


def _common_json(score: Score, project_id: str) -> dict[str, Any]:
    return {
        "id": score.id,
        "projectId": project_id,
        "name": score.name,
        "dataType": score.data_type,
        "source": score.source,
        "timestamp": iso(score.timestamp_ns),
        "createdAt": iso(score.created_ns),
        "updatedAt": iso(score.updated_ns),
        "environment": score.environment,
        "comment": score.comment,
        "configId": score.config_id,
        "metadata": dict(score.metadata),
        "authorUserId": None,
        "queueId": None,
    }


def _v3_value(score: Score) -> Any:
    if score.data_type == "BOOLEAN":
        return bool(score.value)
    if score.data_type == "CATEGORICAL":
        return score.string_value
    return score.value


def _subject(score: Score) -> dict[str, Any]:
    if score.session_id is not None:
        return {"kind": "session", "id": score.session_id}
    if score.observation_id is not None:
        return {"kind": "observation", "id": score.observation_id, "traceId": score.trace_id}
    return {"kind": "trace", "id": score.trace_id}
