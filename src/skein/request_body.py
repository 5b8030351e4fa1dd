"""Request bodies, read whole but bounded: in size (413 as soon as a body passes its limit,
chunked ones too) and in time (408 when it has not all arrived within
`SKEIN_BODY_TIMEOUT_SECONDS`). Every route that reads a body reads it here, so a client that
promises a body and stalls, or sends an endless one, holds nothing for long."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from skein.errors import PayloadTooLarge, RequestTimeout
from skein.services import Services


async def read_body(request: Request, limit: int, timeout_seconds: float | None = None) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit`, and with 408 when it
    has not all arrived within `timeout_seconds` (default: the server's
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
