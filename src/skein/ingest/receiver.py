"""The OTLP/HTTP trace receiver: authenticate, read, decode and map, commit, answer.

Decoding, mapping and pricing (cost from the model price table where a generation reports
usage but no cost) run in one worker-thread hop per request; the answer comes after the
group commit, in the request's encoding (protobuf or JSON), with `partial_success` naming
spans that could not be stored while the rest were.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from skein.errors import BadRequest, PayloadTooLarge, RequestTimeout
from skein.ingest.guards import cap_attributes, drop_foreign_spans
from skein.ingest.mapping import IngestContext, map_request
from skein.ingest.otlp import decode_request, encode_response, is_json
from skein.keys import parse_basic_auth
from skein.prices import PriceCache, priced_batch
from skein.records import IngestWarning, MappedBatch, RejectedSpan
from skein.repair.rules import SessionRuleCache, ruled_batch
from skein.services import Services
from skein.settings import Settings

MAX_INGESTION_VERSION = 4


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a request: the authenticated project and key, and what the headers say."""

    project_id: str
    public_key: str
    context: IngestContext


async def receive_traces(request: Request) -> Response:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    public_key, _ = parse_basic_auth(request.headers.get("authorization"))
    sender = Sender(project_id, public_key, ingest_context(request))
    body = await read_body(request, services.settings.max_body_bytes)
    batch = await run_in_threadpool(
        _decode_and_map,
        body,
        request.headers.get("content-type"),
        request.headers.get("content-encoding"),
        services.settings,
        sender,
        services.prices,
        services.session_rules,
        getattr(services.store, "prepare_write", _nothing_to_prepare),
    )
    if batch.observations or batch.warnings:
        await asyncio.wrap_future(services.writer.submit(batch))
    json_answer = is_json(request.headers.get("content-type"))
    content = encode_response(len(batch.rejected), rejection_message(batch.rejected), json_answer)
    media_type = "application/json" if json_answer else "application/x-protobuf"
    return Response(content, status_code=200, media_type=media_type)


async def read_body(request: Request, limit: int, timeout_seconds: float | None = None) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` (chunked too), and
    with 408 when it has not all arrived within `timeout_seconds` (default: the server's
    `SKEIN_BODY_TIMEOUT_SECONDS`)."""
    seconds = _body_timeout(request) if timeout_seconds is None else timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            return await _read_limited(request, limit)
    except TimeoutError:
        raise RequestTimeout(
            f"the request body did not arrive within {seconds:g} seconds"
        ) from None


def _body_timeout(request: Request) -> float:
    services: Services = request.app.state.services
    return services.settings.body_timeout_seconds


async def _read_limited(request: Request, limit: int) -> bytes:
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
    settings: Settings,
    sender: Sender,
    prices: PriceCache,
    session_rules: SessionRuleCache,
    prepare_write: Callable[[MappedBatch], None],
) -> MappedBatch:
    """Everything a request needs before the writer, in one worker thread; `prepare_write`
    lets the store do its lock-free part of the write here (SQLite: compressing text)."""
    decoded = decode_request(
        body, content_type, content_encoding, max_decoded_bytes=settings.max_decoded_bytes
    )
    decoded = drop_foreign_spans(decoded, sender.public_key)
    cut: tuple[IngestWarning, ...] = ()
    if _may_hold_long_values(body, content_encoding, settings.max_attribute_chars):
        decoded, cut = cap_attributes(decoded, settings.max_attribute_chars)
    batch = map_request(decoded, sender.project_id, sender.context)
    if cut:
        batch = replace(batch, warnings=batch.warnings + cut)
    batch = ruled_batch(batch, session_rules.keys(sender.project_id))
    batch = priced_batch(batch, prices.book(sender.project_id))
    prepare_write(batch)
    return batch


def _nothing_to_prepare(batch: MappedBatch) -> None:
    """`prepare_write` of a store that has none."""


def _may_hold_long_values(body: bytes, content_encoding: str | None, limit: int) -> bool:
    """Whether any attribute value can be longer than `limit`: no value of an uncompressed
    body is longer than the body."""
    return (content_encoding or "identity").strip().lower() != "identity" or len(body) > limit


def _header(request: Request, name: str) -> str | None:
    return request.headers.get(name) or request.headers.get(name.replace("-", "_"))
