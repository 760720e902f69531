"""The admin socket over a real unix socket in tmp_path, with a stand-in identity layer."""

from __future__ import annotations

import os
import socket
import stat
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from hermit_common.errors import InvalidRequest
from hermit_common.framing import FrameDecoder, decode_payload, encode_frame
from idmd.admin_socket import (
    AdminSocketUnavailable,
    RecoverAccount,
    Verify,
    admin_request,
    bind_admin_socket,
    parse_request,
    serve_admin_socket,
)
from idmd.limits import MAX_ADMIN_FRAME_BYTES
from tests.idmd.fake_admin_target import FakeIdm

TIMEOUT = 5.0


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "admin.sock"


@pytest.fixture
async def server(
    sock_path: Path, nursery: trio.Nursery
) -> AsyncIterator[FakeIdm]:
    idm = FakeIdm()
    sock = bind_admin_socket(sock_path)
    await nursery.start(
        lambda task_status: serve_admin_socket(
            sock, idm, allowed_uids=frozenset({os.geteuid()}), read_timeout=TIMEOUT,
            task_status=task_status,
        )
    )
    yield idm
    nursery.cancel_scope.cancel()


async def request(path: Path, obj: dict[str, object]) -> dict[str, object]:
    return await trio.to_thread.run_sync(lambda: admin_request(path, obj, timeout=TIMEOUT))


async def raw_exchange(path: Path, data: bytes) -> dict[str, object]:
    """Send raw bytes, half-close, and return the one frame the server answers."""
    stream = await trio.open_unix_socket(str(path))
    async with stream:
        await stream.send_all(data)
        decoder = FrameDecoder(MAX_ADMIN_FRAME_BYTES)
        while not isinstance(frame := decoder.next_frame(), bytes):
            decoder.feed(await stream.receive_some(4096))
        assert await stream.receive_some(1) == b""  # the server closed after answering
        return decode_payload(frame)


async def test_admin_socket__recover_account_returns_the_password(
    server: FakeIdm, sock_path: Path
) -> None:
    reply = await request(sock_path, {"op": "recover_account", "name": "alice"})
    assert reply == {"status": "ok", "password": "new-password-for-alice", "sessions_ended": 2}
    assert server.recovered == ["alice"]


async def test_admin_socket__verify_returns_the_problems(server: FakeIdm, sock_path: Path) -> None:
    server.problems = ["index name: alice missing"]
    reply = await request(sock_path, {"op": "verify"})
    assert reply == {"status": "ok", "problems": ["index name: alice missing"]}


async def test_admin_socket__socket_file_is_0600(server: FakeIdm, sock_path: Path) -> None:
    mode = os.stat(sock_path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


async def test_admin_socket__hermit_error_becomes_its_wire_code(
    server: FakeIdm, sock_path: Path
) -> None:
    reply = await request(sock_path, {"op": "recover_account", "name": "bob"})
    assert reply == {"status": "error", "error": "not_found", "detail": "no account bob"}


async def test_admin_socket__a_bug_is_an_internal_error_and_the_server_goes_on(
    server: FakeIdm, sock_path: Path
) -> None:
    reply = await request(sock_path, {"op": "recover_account", "name": "boom"})
    assert reply["status"] == "error"
    assert reply["error"] == "internal_error"
    assert "a bug" not in str(reply["detail"])
    again = await request(sock_path, {"op": "recover_account", "name": "alice"})
    assert again["status"] == "ok"


async def test_admin_socket__oversized_header_gets_an_error_frame(
    server: FakeIdm, sock_path: Path
) -> None:
    reply = await raw_exchange(sock_path, struct.pack(">I", MAX_ADMIN_FRAME_BYTES + 1))
    assert reply["status"] == "error"
    assert reply["error"] == "protocol_error"
    assert (await request(sock_path, {"op": "verify"}))["status"] == "ok"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x00\x00\x00\x03{x}", "protocol_error"),
        (b"\x00\x00\x00\x02[]", "protocol_error"),
        (encode_frame({"v": 1, "op": "drop_database"}, 64), "invalid_request"),
        (encode_frame({"v": 2, "op": "verify"}, 64), "invalid_request"),
    ],
)
async def test_admin_socket__malformed_request_gets_an_error_frame(
    server: FakeIdm, sock_path: Path, data: bytes, code: str
) -> None:
    reply = await raw_exchange(sock_path, data)
    assert (reply["status"], reply["error"]) == ("error", code)


async def test_admin_socket__eof_before_a_request_gets_an_error_frame(
    server: FakeIdm, sock_path: Path
) -> None:
    stream = await trio.open_unix_socket(str(sock_path))
    async with stream:
        await stream.send_all(b"\x00\x00")
        await stream.send_eof()
        decoder = FrameDecoder(MAX_ADMIN_FRAME_BYTES)
        while not isinstance(frame := decoder.next_frame(), bytes):
            decoder.feed(await stream.receive_some(4096))
    assert decode_payload(frame)["error"] == "protocol_error"


async def test_admin_socket__a_slow_client_times_out(
    server: FakeIdm, sock_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    reply = await raw_exchange(sock_path, b"\x00\x00\x00\x10{")
    assert reply["error"] == "protocol_error"
    assert "in time" in str(reply["detail"])


async def test_admin_socket__refuses_a_peer_uid_not_allowed(
    sock_path: Path, nursery: trio.Nursery
) -> None:
    sock = bind_admin_socket(sock_path)
    idm = FakeIdm()
    await nursery.start(
        lambda task_status: serve_admin_socket(
            sock, idm, allowed_uids=frozenset({os.geteuid() + 1}), task_status=task_status
        )
    )
    reply = await request(sock_path, {"op": "recover_account", "name": "alice"})
    assert (reply["status"], reply["error"]) == ("error", "access_denied")
    assert idm.recovered == []
    nursery.cancel_scope.cancel()


def test_bind_admin_socket__replaces_a_stale_socket(sock_path: Path) -> None:
    sock_path.parent.mkdir()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock_path))
    stale.close()
    bind_admin_socket(sock_path).close()
    assert stat.S_ISSOCK(sock_path.stat().st_mode)


def test_bind_admin_socket__refuses_when_someone_listens(sock_path: Path) -> None:
    first = bind_admin_socket(sock_path)
    with first, pytest.raises(OSError, match="another process listens"):
        bind_admin_socket(sock_path)


def test_bind_admin_socket__refuses_a_path_that_is_not_a_socket(sock_path: Path) -> None:
    sock_path.parent.mkdir()
    sock_path.write_text("data")
    with pytest.raises(FileExistsError, match="is not a socket"):
        bind_admin_socket(sock_path)
    assert sock_path.read_text() == "data"


def test_admin_request__no_server_is_unavailable(sock_path: Path) -> None:
    with pytest.raises(AdminSocketUnavailable):
        admin_request(sock_path, {"op": "verify"})


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"v": 1, "op": "recover_account", "name": "alice"}, RecoverAccount("alice")),
        ({"v": 1, "op": "verify"}, Verify()),
    ],
)
def test_parse_request__accepts(obj: dict[str, object], expected: object) -> None:
    assert parse_request(obj) == expected


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"v": 1, "op": "recover_account"}, "needs a 'name'"),
        ({"v": 1, "op": "recover_account", "name": 3}, "needs a 'name'"),
        ({"v": 1, "op": "recover_account", "name": "x" * 300}, "needs a 'name'"),
        ({"v": 1, "op": "recover_account", "name": "a", "force": True}, "unknown key 'force'"),
        ({"v": 1, "op": "verify", "name": "a"}, "unknown key 'name'"),
        ({"v": 1}, "unknown op"),
        ({"v": "1", "op": "verify"}, '"v": 1'),
        ({"op": "verify"}, '"v": 1'),
        ({"v": True, "op": "verify"}, '"v": 1'),
        ({"v": 1, "version": 1, "op": "verify"}, "unknown key 'version'"),
    ],
)
def test_parse_request__refuses(obj: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_request(obj)
