"""Raw TLS clients of a test's idmd: its address, a context offering exactly one TLS version,
and a handshake. The TLS tests use them where an HTTP client would hide what the server did."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from tests.integration.idmd_server import IdmdServer

CONNECT_TIMEOUT_S = 10


def address(idmd: IdmdServer) -> tuple[str, int]:
    parts = urlsplit(idmd.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def tls_client(idmd: IdmdServer, version: ssl.TLSVersion) -> ssl.SSLContext:
    """A client pinned to the server's CA that offers exactly ``version``."""
    context = ssl.create_default_context(cafile=str(idmd.ca))
    # Level 0 lets OpenSSL offer old versions at all: the refusal must come from the server.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    return context


def handshake(idmd: IdmdServer, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection(address(idmd), timeout=CONNECT_TIMEOUT_S)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")
