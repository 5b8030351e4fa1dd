"""`skein.request_body`: bodies read whole, refused when they stall or grow past the limit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from starlette.requests import Request

from skein.errors import PayloadTooLarge, RequestTimeout
from skein.request_body import read_body

PATH = "/api/public/otel/v1/traces"


def request_of(receive: Any, headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    scope = {"type": "http", "method": "POST", "path": PATH, "headers": headers or [],
             "query_string": b""}  # fmt: skip
    return Request(scope, receive)


def request_whose_body_stalls(after: bytes) -> Request:
    """A request that sends `after` and then nothing more, forever."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": after, "more_body": True}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    return request_of(receive)


def request_in_chunks(*chunks: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    return request_of(receive, headers)


def test_a_body_that_stops_arriving_times_out_with_408() -> None:
    started = time.monotonic()
    with pytest.raises(RequestTimeout) as raised:
        asyncio.run(read_body(request_whose_body_stalls(b"abc"), 1000, timeout_seconds=0.2))
    assert time.monotonic() - started < 2
    assert raised.value.status == 408 and "0.2 seconds" in raised.value.message


def test_a_body_that_arrives_in_time_is_read_whole() -> None:
    request = request_in_chunks(b"ab", b"cd", b"")

    assert asyncio.run(read_body(request, 100, timeout_seconds=5)) == b"abcd"


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    request = request_in_chunks(b"abc", b"def", b"never read")

    with pytest.raises(PayloadTooLarge) as raised:
        asyncio.run(read_body(request, 5, timeout_seconds=5))
    assert raised.value.status == 413


def test_a_body_declared_too_long_is_refused_before_it_is_read() -> None:
    request = request_in_chunks(b"", headers=[(b"content-length", b"6")])

    with pytest.raises(PayloadTooLarge, match="6 bytes"):
        asyncio.run(read_body(request, 5, timeout_seconds=5))
