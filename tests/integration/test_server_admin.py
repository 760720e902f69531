"""The admin socket of a running server: recover-account, verify, and what it refuses."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from idmd.limits import MAX_ADMIN_FRAME_BYTES
from tests.integration.idmd_server import IdmdServer

# A stdlib-only admin client for another uid (the venv need not be readable by nobody).
NOBODY_CLIENT = r"""
import json, socket, struct, sys
sock = socket.socket(socket.AF_UNIX)
try:
    sock.connect(sys.argv[1])
except OSError as exc:
    print(json.dumps({"connect": type(exc).__name__})); sys.exit(0)
payload = json.dumps({"v": 1, "op": "recover_account", "name": "admin"}).encode()
sock.sendall(struct.pack(">I", len(payload)) + payload)
data = b""
while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
    data += sock.recv(4096)  # one frame: the server may reset the connection after it
print(data[4:].decode())
"""
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def admin_exchange(idmd: IdmdServer, data: bytes) -> dict[str, object]:
    """Send raw bytes on the admin socket; return the frame the server answers with."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(idmd.workdir / "admin.sock"))
        sock.sendall(data)
        reply = b""
        while len(reply) < 4 or len(reply) < 4 + struct.unpack(">I", reply[:4])[0]:
            chunk = sock.recv(4096)
            assert chunk, "the server closed before answering"
            reply += chunk
    answer = json.loads(reply[4:])
    assert isinstance(answer, dict)
    return answer


def as_nobody(idmd: IdmdServer) -> dict[str, object]:
    done = subprocess.run(
        [*AS_NOBODY, "/usr/bin/python3", "-c", NOBODY_CLIENT, str(idmd.workdir / "admin.sock")],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert isinstance(answer, dict)
    return answer


def server_still_serves(idmd: IdmdServer) -> None:
    with idmd.client() as client:
        assert client.get("/status").status_code == 200
    assert idmd.run("verify").returncode == 0


@pytest.fixture
def person(idmd: IdmdServer) -> Iterator[str]:
    name = f"rec{uuid.uuid4().hex[:8]}"
    token = idmd.login("idm_admin", idmd.idm_admin_password)
    with idmd.client(token) as client:
        created = client.post("/v1/person", json={"name": name, "displayname": "Recover Me"})
        assert created.status_code == 200, created.text
        yield name
        client.delete(f"/v1/person/{name}")


def test_recover_account__while_running_goes_through_the_admin_socket(
    idmd: IdmdServer, person: str
) -> None:
    # The server holds the database lock, so success can only have come through the socket.
    done = idmd.run("recover-account", person)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith("password: ")
    password = line.removeprefix("password: ")
    assert password not in done.stderr
    assert idmd.login(person, password)
    assert password not in "".join(idmd.log_lines)


def test_recover_account__unknown_name_fails_with_one_line(idmd: IdmdServer) -> None:
    done = idmd.run("recover-account", "nosuchaccount")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "hermit-idmd: error: the server refused: no account 'nosuchaccount'\n"


def test_verify__clean_database_through_the_admin_socket(idmd: IdmdServer) -> None:
    done = idmd.run("verify")
    assert (done.returncode, done.stdout) == (0, "verify: no problems found\n")


def test_admin_socket__is_0600(idmd: IdmdServer) -> None:
    assert (idmd.workdir / "admin.sock").stat().st_mode & 0o777 == 0o600


def test_admin_socket__non_root_peer_is_refused(idmd: IdmdServer) -> None:
    sock_path = idmd.workdir / "admin.sock"
    # As installed, nobody cannot even reach the socket (a 0700 directory, a 0600 socket).
    assert as_nobody(idmd) == {"connect": "PermissionError"}
    # Opened up by mistake, the server still refuses the peer by its uid (SO_PEERCRED).
    os.chmod(idmd.workdir, 0o711)
    os.chmod(sock_path, 0o666)
    try:
        answer = as_nobody(idmd)
    finally:
        os.chmod(sock_path, 0o600)
        os.chmod(idmd.workdir, 0o700)
    assert answer == {
        "status": "error", "error": "access_denied", "detail": "the admin socket is for root only"
    }
    assert any("refused a connection from uid 65534" in line for line in idmd.log_lines)
    server_still_serves(idmd)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (struct.pack(">I", MAX_ADMIN_FRAME_BYTES + 1) + b"x" * 1000, "protocol_error"),
        (struct.pack(">I", 0xFFFFFFFF), "protocol_error"),
        (struct.pack(">I", 9) + b"not json!", "protocol_error"),
        (struct.pack(">I", 2) + b"[]", "protocol_error"),
        (struct.pack(">I", 26) + b'{"v":1,"op":"drop_tables"}', "invalid_request"),
    ],
)
def test_admin_socket__bad_frame_gets_an_error_and_the_server_goes_on(
    idmd: IdmdServer, data: bytes, code: str
) -> None:
    answer = admin_exchange(idmd, data)
    assert (answer["status"], answer["error"]) == ("error", code)
    server_still_serves(idmd)


def test_admin_socket__half_a_frame_then_eof_gets_an_error(idmd: IdmdServer) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(Path(idmd.workdir) / "admin.sock"))
        sock.sendall(struct.pack(">I", 100) + b"{")
        sock.shutdown(socket.SHUT_WR)
        reply = sock.recv(4096)
    assert json.loads(reply[4:])["error"] == "protocol_error"
    server_still_serves(idmd)
