"""The stepped login over real TLS: a step outside a valid auth session is refused AND the
server breaks the connection, so no credential can follow into a half-open session
(DESIGN.md, "Secure by design"). Each test speaks raw HTTP/1.1 on a TLS socket so that what
the server does with the connection is seen, not what a client library decides."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.integration.idmd_server import IdmdServer

READ_TIMEOUT_S = 10.0
# How long to wait for the server to hang up: well under hypercorn's keep-alive timeout (5 s),
# so an idle connection closed for being idle is never taken for a refusal.
HANG_UP_WAIT_S = 2.0


class RawConnection:
    """One keep-alive TLS connection to the server; requests never ask it to close."""

    def __init__(self, idmd: IdmdServer) -> None:
        parts = urlsplit(idmd.url)
        assert parts.hostname is not None and parts.port is not None
        raw = socket.create_connection((parts.hostname, parts.port), timeout=READ_TIMEOUT_S)
        self.sock = idmd.ssl_context().wrap_socket(raw, server_hostname=parts.hostname)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def request(self, path: str, body: dict[str, object], headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], dict[str, object]]:
        payload = json.dumps(body).encode()
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
                f"Content-Length: {len(payload)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = raw_head.decode().split("\r\n")
        fields = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}
        for cookie in (line.split(": ", 1)[1] for line in lines
                       if line.lower().startswith("set-cookie")):
            fields.setdefault("set-cookie", cookie)
        length = int(fields["content-length"])
        while len(self.buffer) < length:
            self._fill()
        content, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), fields, json.loads(content)

    def closed_by_server(self) -> bool:
        """True when the server ends the connection (EOF) rather than keeping it open."""
        self.sock.settimeout(HANG_UP_WAIT_S)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLEOFError):
            return True
        except TimeoutError:
            return False

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection early")
        self.buffer += data


@pytest.fixture
def conn(idmd: IdmdServer) -> Iterator[RawConnection]:
    connection = RawConnection(idmd)
    yield connection
    connection.close()


def begin(conn: RawConnection, name: str) -> str:
    status, headers, body = conn.request("/v1/auth/begin", {"name": name})
    assert status == 200 and body["state"] == "continue"
    return headers["hermit-auth-session"]


def test_auth_begin__cookie_is_secure_httponly_strict(conn: RawConnection) -> None:
    status, headers, _ = conn.request("/v1/auth/begin", {"name": "idm_admin"})
    assert status == 200
    flags = {part.strip().lower() for part in headers["set-cookie"].split(";")}
    assert {"secure", "httponly", "samesite=strict"} <= flags
    assert headers["set-cookie"].startswith("hermit-auth=")
    # A good request keeps the connection open for the next one.
    begin(conn, "anonymous")


@pytest.mark.parametrize(
    "session", [None, "not-a-session", "0" * 43], ids=["no-session", "garbage", "forged"]
)
def test_auth_step__without_a_valid_session_is_refused_and_closed(
    idmd: IdmdServer, conn: RawConnection, session: str | None
) -> None:
    headers = {"Hermit-Auth-Session": session} if session is not None else {}
    status, fields, body = conn.request(
        "/v1/auth/step", {"method": "password", "password": "guess"}, headers
    )
    assert (status, body["error"]) == (400, "invalid_auth_state")
    assert fields.get("connection") == "close"
    assert conn.closed_by_server()
    with idmd.client() as client:
        assert client.get("/status").status_code == 200


def test_auth_step__a_finished_session_cannot_be_stepped_again(
    idmd: IdmdServer, conn: RawConnection
) -> None:
    session = begin(conn, "idm_admin")
    status, _, body = conn.request(
        "/v1/auth/step", {"method": "password", "password": idmd.idm_admin_password},
        {"Hermit-Auth-Session": session},
    )
    assert (status, body["state"]) == (200, "success")
    status, _, body = conn.request(
        "/v1/auth/step", {"method": "password", "password": idmd.idm_admin_password},
        {"Hermit-Auth-Session": session},
    )
    assert (status, body["error"]) == (400, "invalid_auth_state")
    assert conn.closed_by_server()


def test_auth_step__a_method_not_offered_is_refused_and_closed(conn: RawConnection) -> None:
    session = begin(conn, "idm_admin")
    status, _, body = conn.request(
        "/v1/auth/step", {"method": "anonymous"}, {"Hermit-Auth-Session": session}
    )
    assert (status, body["error"]) == (400, "invalid_auth_state")
    assert conn.closed_by_server()


def test_auth_step__a_wrong_password_is_denied_not_closed(conn: RawConnection) -> None:
    # An unknown name, denied like a real account: a wrong password for idm_admin would make
    # its password wait (softlock) while other tests log in with it.
    session = begin(conn, "nobody-denied-not-closed")
    status, _, body = conn.request(
        "/v1/auth/step", {"method": "password", "password": "not the password"},
        {"Hermit-Auth-Session": session},
    )
    assert (status, body["state"]) == (200, "denied")
    # The same connection still serves: a denial is an answer, not a protocol violation.
    begin(conn, "anonymous")
