"""How idmd ends a TLS connection: always with a ``close_notify`` alert, never a bare TCP close.

A TLS peer that sees the TCP stream end without ``close_notify`` cannot tell the end from a
truncation attack, and Python's ``ssl`` says "EOF occurred in violation of protocol"
(``SSLEOFError``); schemathesis' fuzz run failed on that. A raw client (``ssl`` over a socket,
``suppress_ragged_eofs=False``) reads until the server closes: a clean close is
``SSLZeroReturnError`` from the TLS object, or the socket's ``recv`` answering ``b""``, and
``unwrap()`` then finishes the shutdown; a bare TCP close raises ``SSLEOFError`` instead.
"""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from tests.integration.idmd_server import IdmdServer
from tests.integration.tls_clients import address, tls_client

# hypercorn's keep-alive timeout (idmd leaves its default): an idle connection is closed
# after it. The read deadline below leaves it room on a loaded machine.
KEEP_ALIVE_S = 5
READ_DEADLINE_S = KEEP_ALIVE_S + 25


def _connect(idmd: IdmdServer, context: ssl.SSLContext | None = None) -> ssl.SSLSocket:
    context = context or idmd.ssl_context()
    # Python's default context takes a bare TCP close for a clean one (OpenSSL's
    # IGNORE_UNEXPECTED_EOF): this client must see the difference.
    context.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    raw = socket.create_connection(address(idmd), timeout=READ_DEADLINE_S)
    return context.wrap_socket(
        raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False
    )


def _read_until_closed(tls: ssl.SSLSocket) -> bytes:
    """Everything the server sends until it closes; ``SSLEOFError`` if it closes uncleanly."""
    received = b""
    while chunk := tls.recv(65536):
        received += chunk
    return received


def _request(close: bool) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + connection + b"\r\n"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=str)
def test_tls_close__connection_close_ends_with_close_notify(
    idmd: IdmdServer, version: ssl.TLSVersion
) -> None:
    with _connect(idmd, tls_client(idmd, version)) as tls:
        tls.sendall(_request(close=True))
        reply = _read_until_closed(tls)
        assert reply.startswith(b"HTTP/1.1 200")
        assert reply.endswith(b'{"status":"ok"}')
        tls.unwrap()


def test_tls_close__keep_alive_timeout_ends_with_close_notify(idmd: IdmdServer) -> None:
    with _connect(idmd) as tls:
        tls.sendall(_request(close=False))
        started = time.monotonic()
        reply = _read_until_closed(tls)
        assert time.monotonic() - started >= KEEP_ALIVE_S - 1
        assert reply.startswith(b"HTTP/1.1 200")
        tls.unwrap()


def test_tls_close__refused_body_ends_with_close_notify(idmd: IdmdServer) -> None:
    # A body over the limit is refused before it is read: the connection cannot be reused.
    with _connect(idmd) as tls:
        tls.sendall(
            b"POST /v1/auth/begin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{"
        )
        reply = _read_until_closed(tls)
        assert reply.startswith(b"HTTP/1.1 413")
        tls.unwrap()


def _post(tls: ssl.SSLSocket, path: bytes, size: int) -> None:
    """Send a POST of ``path`` with a JSON body of ``size`` spaces, all of it."""
    tls.sendall(
        b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (path, size)
    )
    tls.sendall(b" " * size)


def test_tls_close__body_refused_early_is_read_so_the_answer_arrives(idmd: IdmdServer) -> None:
    # 1 MiB, over the 256 KiB a body may have: the 413 is decided from the header alone. The
    # server reads the rest before it answers and closes (body_too_large carries Connection:
    # close), so the client sends all of it and reads the 413, instead of a reset.
    with _connect(idmd) as tls:
        _post(tls, b"/v1/auth/begin", 1024 * 1024)
        assert _read_until_closed(tls).startswith(b"HTTP/1.1 413")
        tls.unwrap()


def test_tls_close__streamed_body_over_the_limit_is_read_too(idmd: IdmdServer) -> None:
    # Chunked, so no Content-Length: the limit is found while reading; the rest is still read.
    chunk = b" " * 65536
    with _connect(idmd) as tls:
        tls.sendall(
            b"POST /v1/auth/begin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(16):
            tls.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        tls.sendall(b"0\r\n\r\n")
        assert _read_until_closed(tls).startswith(b"HTTP/1.1 413")
        tls.unwrap()


def test_tls_close__early_401_reads_the_body_and_keeps_the_connection(idmd: IdmdServer) -> None:
    # A 401 is decided before the handler reads the body: the body is read all the same, so
    # the connection is ready for the next request.
    with _connect(idmd) as tls:
        _post(tls, b"/v1/group", 200 * 1024)
        tls.sendall(_request(close=True))
        replies = _read_until_closed(tls)
        assert replies.startswith(b"HTTP/1.1 401")
        assert b"HTTP/1.1 200" in replies
        tls.unwrap()
