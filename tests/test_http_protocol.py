"""`skein serve`'s HTTP protocol turns Nagle's algorithm off on every TCP connection."""

from __future__ import annotations

import socket

from skein.http_protocol import set_no_delay


def test_a_tcp_socket_made_without_a_protocol_number_gets_no_delay() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn binds
    with listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with client, accepted:
            assert accepted.proto == 0
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            set_no_delay(accepted)
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_other_sockets_are_left_alone() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        set_no_delay(left)
        set_no_delay(None)
