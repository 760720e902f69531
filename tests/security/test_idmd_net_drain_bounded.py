"""A network party with no token cannot hold idmd's connections open by never sending a body.

idmd reads the rest of a request's body before an early answer (a 401, a 413 from the header),
so the client reads that answer instead of a reset (``idmd/https/inputs.py``). The attack: ask
for a body and never send it. The defence is the drain's bounds: at most
``limits.DRAIN_SECONDS`` of waiting, and no waiting at all for a body declared over
``limits.MAX_DRAIN_BYTES``. Meanwhile everyone else is served.
"""

from __future__ import annotations

import socket
import ssl
import time

from idmd import limits
from tests.integration.idmd_server import IdmdServer
from tests.integration.tls_clients import address

SLACK_S = 3.0


def _connect(idmd: IdmdServer) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(idmd.ca))
    raw = socket.create_connection(address(idmd), timeout=limits.DRAIN_SECONDS + 30)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def _read_all(tls: ssl.SSLSocket) -> bytes:
    received = b""
    try:
        while chunk := tls.recv(65536):
            received += chunk
    except (ssl.SSLEOFError, ConnectionResetError):
        pass
    return received


def _status(idmd: IdmdServer) -> bytes:
    with _connect(idmd) as tls:
        tls.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return _read_all(tls)


def _stall(idmd: IdmdServer, declared: int) -> tuple[bytes, float]:
    """Headers of an unauthenticated write declaring ``declared`` body bytes, and none sent."""
    with _connect(idmd) as tls:
        started = time.monotonic()
        tls.sendall(
            b"POST /v1/person HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % declared
        )
        reply = _read_all(tls)
        return reply, time.monotonic() - started


def test_drain__a_body_that_never_comes_is_waited_for_at_most_drain_seconds(
    idmd: IdmdServer,
) -> None:
    stalled = [_connect(idmd) for _ in range(8)]
    try:
        for tls in stalled:
            tls.sendall(
                b"POST /v1/person HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
        # Everyone else is served while eight connections wait for their bodies.
        began = time.monotonic()
        assert _status(idmd).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - began < limits.DRAIN_SECONDS
        for tls in stalled:
            reply = _read_all(tls)
            assert reply.startswith(b"HTTP/1.1 401"), reply[:80]
    finally:
        for tls in stalled:
            tls.close()

    reply, waited = _stall(idmd, 100_000)
    assert reply.startswith(b"HTTP/1.1 401"), reply[:80]
    assert waited < limits.DRAIN_SECONDS + SLACK_S
    assert _status(idmd).startswith(b"HTTP/1.1 200")


def test_drain__a_body_declared_over_the_drain_bound_is_not_waited_for(
    idmd: IdmdServer,
) -> None:
    reply, waited = _stall(idmd, limits.MAX_DRAIN_BYTES + 1)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:80]
    assert waited < SLACK_S
    assert _status(idmd).startswith(b"HTTP/1.1 200")
