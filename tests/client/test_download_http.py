"""The lean HTTP/1.1 connection of campfire.transfer against a raw socket peer speaking the
framings our own server never uses (chunked, close-delimited, HTTP/1.0, a dropped keep-alive).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from campfire.transfer import Connections


@pytest.fixture
def peer() -> Iterator[tuple[str, list[bytes]]]:
    """A one-connection-at-a-time server replying with the queued raw responses in order;
    ``None`` in the queue means: close the connection without answering."""
    replies: list[bytes] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while replies:
                    while b"\r\n\r\n" not in buf:
                        data = conn.recv(65536)
                        if not data:
                            break
                        buf += data
                    if b"\r\n\r\n" not in buf:
                        break
                    buf = buf.split(b"\r\n\r\n", 1)[1]
                    reply = replies.pop(0)
                    if reply is None:
                        break
                    conn.sendall(reply)
                    if b"Connection: close" in reply or reply.startswith(b"HTTP/1.0"):
                        break

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}", replies
    stop.set()
    srv.shutdown(socket.SHUT_RDWR)  # wakes the accept()
    srv.close()
    t.join(5)


def _body(resp: object) -> bytes:
    return resp.read()  # type: ignore[attr-defined]


def test_content_length_chunked_and_keep_alive(peer: tuple[str, list[bytes]]) -> None:
    base, replies = peer
    replies += [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
        b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
        b"4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n",
        b"HTTP/1.1 206 Partial\r\nContent-Length: 3\r\nContent-Range: bytes 2-4/5\r\n\r\nllo",
    ]
    http = Connections(timeout=10)
    r = http.open(base + "/a", {})
    assert (r.status, r.getheader("x-a"), _body(r)) == (200, "1", b"hello")
    r = http.open(base + "/b", {})
    assert r.status == 503 and r.getheader("Retry-After") == "7"
    assert _body(r) == b"Wikipedia in \r\n\r\nchunks."  # the RFC 9112 example, decoded
    r = http.open(base + "/c", {"Range": "bytes=2-"})
    assert (r.status, r.getheader("Content-Range"), _body(r)) == (206, "bytes 2-4/5", b"llo")


def test_close_delimited_body_and_http10(peer: tuple[str, list[bytes]]) -> None:
    base, replies = peer
    replies += [b"HTTP/1.0 200 OK\r\n\r\nuntil the end", b"HTTP/1.1 200 OK\r\n\r\nagain"]
    http = Connections(timeout=10)
    r = http.open(base + "/a", {})
    assert _body(r) == b"until the end"
    r = http.open(base + "/b", {})  # a fresh connection: the first one was closed
    assert _body(r) == b"again"


def test_a_keep_alive_connection_the_server_dropped_is_retried_fresh(
    peer: tuple[str, list[bytes]],
) -> None:
    base, replies = peer
    replies += [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", None]
    http = Connections(timeout=10)
    assert _body(http.open(base + "/a", {})) == b"ok"
    replies.append(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nokay")
    assert _body(http.open(base + "/b", {})) == b"okay"


def test_a_truncated_body_leaves_length_to_read(peer: tuple[str, list[bytes]]) -> None:
    base, replies = peer
    replies += [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort"]
    r = Connections(timeout=10).open(base + "/a", {})
    buf = memoryview(bytearray(64))
    got = 0
    while n := r.readinto(buf[got:]):
        got += n
    assert bytes(buf[:got]) == b"short" and r.length == 5  # the caller sees the shortfall
