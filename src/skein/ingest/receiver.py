"""The OTLP/HTTP trace receiver: authenticate, read, decode and map, commit, answer.

Decoding, mapping and pricing (cost from the model price table where a generation reports
usage but no cost) run in one worker-thread hop per request; the answer comes after the
group commit, in the request's encoding (protobuf or JSON), with `partial_success` naming
spans that could not be stored while the rest were.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from skein.errors import BadRequest, PayloadTooLarge
from skein.ingest.mapping import IngestContext, map_request
from skein.ingest.otlp import decode_request, encode_response, is_json
from skein.prices import PriceCache, priced_batch
from skein.records import MappedBatch, RejectedSpan
from skein.services import Services

MAX_INGESTION_VERSION = 4


async def receive_traces(request: Request) -> Response:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    context = ingest_context(request)
    body = await read_body(request, services.settings.max_body_bytes)
    batch = await run_in_threadpool(
        _decode_and_map,
        body,
        request.headers.get("content-type"),
        request.headers.get("content-encoding"),
        services.settings.max_decoded_bytes,
        project_id,
        context,
        services.prices,
    )
    if batch.observations or batch.warnings:
        await asyncio.wrap_future(services.writer.submit(batch))
    json_answer = is_json(request.headers.get("content-type"))
    content = encode_response(len(batch.rejected), rejection_message(batch.rejected), json_answer)
    media_type = "application/json" if json_answer else "application/x-protobuf"
    return Response(content, status_code=200, media_type=media_type)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` (chunked too)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def ingest_context(request: Request) -> IngestContext:
    """SDK attribution headers, in their hyphen or underscore spellings."""
    version_text = _header(request, "x-langfuse-ingestion-version")
    version: int | None = None
    if version_text is not None:
        if not version_text.strip().isdigit():
            raise BadRequest(
                f"x-langfuse-ingestion-version must be an integer, got {version_text!r}"
            )
        version = int(version_text)
    return IngestContext(
        sdk_name=_header(request, "x-langfuse-sdk-name"),
        sdk_version=_header(request, "x-langfuse-sdk-version"),
        ingestion_version=version,
    )


def rejection_message(rejected: Sequence[RejectedSpan]) -> str:
    if not rejected:
        return ""
    shown = "; ".join(f"span {r.span_id or '#' + str(r.index)}: {r.reason}" for r in rejected[:5])
    more = f" (and {len(rejected) - 5} more)" if len(rejected) > 5 else ""
    return f"{len(rejected)} span(s) rejected: {shown}{more}"


def _decode_and_map(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    max_decoded_bytes: int,
    project_id: str,
    context: IngestContext,
    prices: PriceCache,
) -> MappedBatch:
    decoded = decode_request(
        body, content_type, content_encoding, max_decoded_bytes=max_decoded_bytes
    )
    return priced_batch(map_request(decoded, project_id, context), prices.book(project_id))


def _header(request: Request, name: str) -> str | None:
    return request.headers.get(name) or request.headers.get(name.replace("-", "_"))
