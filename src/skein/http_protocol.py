"""The HTTP protocol `skein serve` runs: uvicorn's h11 protocol with Nagle's algorithm off.

asyncio turns Nagle's algorithm off (`TCP_NODELAY`) on the connections it accepts only when
the listening socket says it is TCP (`proto == IPPROTO_TCP`). The socket uvicorn binds itself
for `--workers N` says `proto == 0`, so those connections kept Nagle on: a response goes out
as two writes (head, then body), the second waits for the client to acknowledge the first,
and the client delays that acknowledgement by 40 ms. Every request to a multi-worker server
took at least 40 ms (bench/RESULTS.md). This protocol sets `TCP_NODELAY` on every TCP
connection, whichever socket accepted it.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

# What `skein serve` passes to uvicorn as its `http` protocol.
IMPORT_PATH = "skein.http_protocol:NoDelayH11Protocol"


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_no_delay(transport.get_extra_info("socket"))
        super().connection_made(transport)


def set_no_delay(sock: socket.socket | None) -> None:
    """Turn Nagle's algorithm off on a TCP socket; leave any other socket as it is."""
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
