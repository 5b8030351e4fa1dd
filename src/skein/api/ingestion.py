"""`POST /api/public/ingestion`: Langfuse batch events, answered per event with a 207.

Authenticate, read the body (up to `max_body_bytes`, else 413), read every event in a worker
thread (`skein.ingest.langfuse`), submit what the usable events contribute to the group-commit
writer with the project's prices, and answer once it is committed:

    207 {"successes": [{"id", "status": 201}],
         "errors": [{"id", "status": 400, "message", "error"}]}

A body that is not `{"batch": [...]}` JSON is a 400; gzip and deflate bodies are decompressed
(bounded by the decoded-size limit, like OTLP). String values longer than
`max_attribute_chars` are cut and marked, with a warning each, as OTLP attributes are
(`skein.ingest.guards.cap_patches`).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from skein.errors import BadRequest
from skein.ingest.guards import cap_patches
from skein.ingest.langfuse import IngestionBatch, read_batch
from skein.ingest.otlp import decompress_body
from skein.prices import pricing_for
from skein.records import MappedBatch
from skein.repair.rules import ruled_pricing
from skein.request_body import read_body
from skein.services import Services

MULTI_STATUS = 207


async def ingest_batch(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    raw = await read_body(request, services.settings.max_body_bytes)
    body = await run_in_threadpool(
        decompress_body,
        raw,
        request.headers.get("content-encoding"),
        limit=services.settings.max_decoded_bytes,
    )
    limit = services.settings.max_attribute_chars
    read = await run_in_threadpool(_read, body, time.time_ns(), limit)
    if read.patches or read.scores or read.warnings:
        book = await run_in_threadpool(services.prices.book, project_id)
        rule_keys = await run_in_threadpool(services.session_rules.keys, project_id)
        batch = MappedBatch(
            project_id,
            (),
            read.warnings,
            patches=read.patches,
            scores=read.scores,
            pricing=ruled_pricing(pricing_for(book), rule_keys),
        )
        await asyncio.wrap_future(services.writer.submit(batch))
    return JSONResponse(read.answer(), status_code=MULTI_STATUS)


def parse_json(body: bytes) -> Any:
    """The JSON document of a request body; BadRequest when it is not JSON."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadRequest(f"the body is not JSON: {error}") from None


def _read(body: bytes, received_ns: int, limit: int) -> IngestionBatch:
    """The batch's events, values longer than `limit` cut (with a warning each)."""
    read = read_batch(parse_json(body), received_ns=received_ns)
    patches, cut = cap_patches(read.patches, limit)
    return replace(read, patches=patches, warnings=read.warnings + cut) if cut else read
