"""The HTTPS listener: TLS only, TLS 1.2 at least, ALPN http/1.1, and the healthcheck."""

from __future__ import annotations

import socket
import ssl

import pytest

from tests.integration.idmd_server import IdmdServer
from tests.integration.tls_clients import CONNECT_TIMEOUT_S, address, handshake, tls_client


def test_https__plaintext_http_gets_no_http_answer(idmd: IdmdServer) -> None:
    with socket.create_connection(address(idmd), timeout=CONNECT_TIMEOUT_S) as sock:
        sock.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        reply = b""
        try:
            while chunk := sock.recv(4096):
                reply += chunk
        except ConnectionResetError:
            pass
    assert not reply.startswith(b"HTTP/")
    assert b"status" not in reply


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=str)
def test_https__accepts_tls_1_2_and_1_3(idmd: IdmdServer, version: ssl.TLSVersion) -> None:
    with handshake(idmd, tls_client(idmd, version)) as tls:
        assert tls.version() == version.name.replace("v1_", "v1.")
        tls.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert tls.recv(4096).startswith(b"HTTP/1.1 200")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1], ids=str)
def test_https__refuses_tls_older_than_1_2(idmd: IdmdServer, version: ssl.TLSVersion) -> None:
    with pytest.raises(ssl.SSLError) as info:
        handshake(idmd, tls_client(idmd, version)).close()
    # The client did offer the old version and the server said no: by an alert, or by hanging
    # up (not a client-side NO_PROTOCOLS_AVAILABLE, which would prove nothing).
    refused = info.value
    assert isinstance(refused, ssl.SSLZeroReturnError | ssl.SSLEOFError) or (
        refused.reason == "TLSV1_ALERT_PROTOCOL_VERSION"
    ), refused


def test_https__alpn_offers_only_http_1_1(idmd: IdmdServer) -> None:
    context = ssl.create_default_context(cafile=str(idmd.ca))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with handshake(idmd, context) as tls:
        assert tls.selected_alpn_protocol() == "http/1.1"


def test_https__certificate_covers_localhost(idmd: IdmdServer) -> None:
    raw = socket.create_connection(address(idmd), timeout=CONNECT_TIMEOUT_S)
    context = ssl.create_default_context(cafile=str(idmd.ca))
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() is not None


def test_https__status_answers_ok(idmd: IdmdServer) -> None:
    with idmd.client() as client:
        response = client.get("/status")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_healthcheck__exit_0_when_the_server_answers(idmd: IdmdServer) -> None:
    done = idmd.run("healthcheck", "--url", idmd.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{idmd.url}/status: ok\n"


def test_healthcheck__exit_1_when_nothing_listens(idmd: IdmdServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        done = idmd.run("healthcheck", "--url", f"https://127.0.0.1:{port}")
    assert done.returncode == 1
    assert done.stderr.startswith(f"hermit-idmd: error: https://127.0.0.1:{port}/status: unhealthy")
    assert done.stderr.count("\n") == 1
