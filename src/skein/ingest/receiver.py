"""The OTLP/HTTP trace receiver: authenticate, read, decode and map, commit, answer.

Decoding, mapping and pricing (cost from the model price table where a generation reports
usage but no cost) run either in an ingestion worker process that also commits the batch
(`skein.ingest.pool`, when `SKEIN_INGEST_PROCESSES` gives one or more), or in one
worker-thread hop followed by the group-commit writer. Either way the answer comes after
the commit, in the request's encoding (protobuf or JSON), with `partial_success` naming
spans that could not be stored while the rest were.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from skein.errors import BadRequest
from skein.ingest.mapping import IngestContext
from skein.ingest.otlp import encode_response, is_json
from skein.ingest.pipeline import OtlpRequest, Pipeline, Sender
from skein.keys import parse_basic_auth
from skein.records import RejectedSpan
from skein.request_body import read_body
from skein.services import Services

MAX_INGESTION_VERSION = 4


async def receive_traces(request: Request) -> Response:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    public_key, _ = parse_basic_auth(request.headers.get("authorization"))
    sender = Sender(project_id, public_key, ingest_context(request))
    body = await read_body(request, services.settings.max_body_bytes)
    otlp = OtlpRequest(
        body,
        request.headers.get("content-type"),
        request.headers.get("content-encoding"),
        sender,
    )
    if services.ingest_pool is not None:
        rejected = (await services.ingest_pool.ingest(otlp)).rejected
    else:
        rejected = await ingest_in_process(services, otlp)
    json_answer = is_json(otlp.content_type)
    content = encode_response(len(rejected), rejection_message(rejected), json_answer)
    media_type = "application/json" if json_answer else "application/x-protobuf"
    return Response(content, status_code=200, media_type=media_type)


async def ingest_in_process(services: Services, otlp: OtlpRequest) -> tuple[RejectedSpan, ...]:
    """Decode and map in a worker thread, then commit through the group-commit writer."""
    pipeline = Pipeline.of(
        services.settings, services.store, services.prices, services.session_rules
    )
    batch = await run_in_threadpool(pipeline.run, otlp)
    if batch.observations or batch.warnings:
        await asyncio.wrap_future(services.writer.submit(batch))
    return batch.rejected


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


def _header(request: Request, name: str) -> str | None:
    return request.headers.get(name) or request.headers.get(name.replace("-", "_"))
