"""unixd's trio shell over real unix sockets (and memory streams where time must be mocked):
every bad input gets its error frame or a closed connection, never a crash; a stalled client is
dropped; 500 idle connections do not stall a normal client; cache_clear and the task socket
refuse non-root peers (a client run as nobody through setpriv)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from hermit_common.framing import HEADER, encode_frame
from tests.unixd.resolver_env import Env
from tests.unixd.socket_client import (
    NOBODY_CLIENT,
    assert_closed,
    call,
    connect,
    nobody_python,
    read_frame,
    run_as_nobody,
)
from unixd.proto import limits
from unixd.resolver import dispatch
from unixd.server import (
    READ_TIMEOUT_SECONDS,
    bind_unix_socket,
    handle_client,
)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (HEADER.pack(limits.MAX_REQUEST_FRAME_BYTES + 1), "protocol_error"),
        (HEADER.pack(0), "protocol_error"),
        (HEADER.pack(9) + b"{not json", "protocol_error"),
        (HEADER.pack(2) + b"[]", "protocol_error"),
        (encode_frame({"v": 1, "op": "format_disk"}, 1024), "unknown_op"),
        (encode_frame({"v": 2, "op": "status"}, 1024), "unsupported_version"),
        (encode_frame({"v": 1, "op": "user_by_name", "name": "a:b"}, 1024), "invalid_name"),
        (encode_frame({"v": 1, "op": "user_by_uid", "uid": True}, 1024), "invalid_request"),
    ],
)
async def test_client_socket__a_bad_request_gets_its_error_then_the_connection_closes(
    served: tuple[Env, Path, Path], raw: bytes, code: str
) -> None:
    _, client_path, _ = served
    stream = await connect(client_path)
    await stream.send_all(raw)
    reply = await read_frame(stream)
    assert reply is not None and reply["status"] == "error" and reply["error"] == code
    await assert_closed(stream)
    # The server lives on for the next client.
    assert (await call(await connect(client_path), {"v": 1, "op": "status"}))["status"] == "ok"  # type: ignore[index]


async def test_client_socket__a_header_without_its_body_then_eof_is_a_protocol_error(
    served: tuple[Env, Path, Path],
) -> None:
    _, client_path, _ = served
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(client_path))
    sock.sendall(struct.pack(">I", 100))
    sock.shutdown(socket.SHUT_WR)
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
    reply = await read_frame(stream)
    assert reply is not None and reply["error"] == "protocol_error"


async def test_client_socket__several_requests_on_one_connection(
    served: tuple[Env, Path, Path],
) -> None:
    _, client_path, _ = served
    stream = await connect(client_path)
    first = await call(stream, {"v": 1, "op": "user_by_name", "name": "alice"})
    second = await call(stream, {"v": 1, "op": "user_by_uid", "uid": 70001})
    assert first == second
    assert first is not None and first["status"] == "ok"


async def test_client_socket__a_failure_inside_unixd_answers_internal_error_and_goes_on(
    served: tuple[Env, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client_path, _ = served

    async def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setitem(dispatch.HANDLERS, dispatch.m.UserByName, broken)
    stream = await connect(client_path)
    reply = await call(stream, {"v": 1, "op": "user_by_name", "name": "alice"})
    assert reply == {"status": "error", "error": "internal_error",
                     "detail": "user_by_name failed; see unixd's log"}
    assert (await call(stream, {"v": 1, "op": "status"}))["status"] == "ok"  # type: ignore[index]


async def test_client_socket__500_stalled_connections_do_not_stall_a_normal_client(
    served: tuple[Env, Path, Path],
) -> None:
    _, client_path, _ = served
    stalled = []
    for number in range(500):
        stream = await connect(client_path)
        if number % 2:
            await stream.send_all(HEADER.pack(50) + b'{"v": 1')  # a frame begun, never ended
        stalled.append(stream)
    with trio.fail_after(10):
        reply = await call(await connect(client_path), {"v": 1, "op": "user_by_name",
                                                       "name": "alice"})
    assert reply is not None and reply["status"] == "ok"
    for stream in stalled:
        await stream.aclose()


async def test_client_socket__a_frame_not_finished_in_time_drops_the_client(
    served: tuple[Env, Path, Path], autojump_clock: trio.testing.MockClock
) -> None:
    env, _, _ = served
    ours, theirs = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(handle_client, theirs, 1000, resolver=env.resolver))
        await ours.send_all(HEADER.pack(40) + b'{"v": 1, "op"')
        started = trio.current_time()
        assert await ours.receive_some() == b""
        assert trio.current_time() - started == pytest.approx(READ_TIMEOUT_SECONDS)


async def test_client_socket__an_idle_connection_between_requests_is_kept(
    served: tuple[Env, Path, Path], autojump_clock: trio.testing.MockClock
) -> None:
    env, _, _ = served
    ours, theirs = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(handle_client, theirs, 1000, resolver=env.resolver))
        await trio.sleep(READ_TIMEOUT_SECONDS * 6)  # a person typing a password
        reply = await call(ours, {"v": 1, "op": "status"})
        assert reply is not None and reply["status"] == "ok"
        await ours.aclose()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run a client as nobody")
async def test_client_socket__cache_clear_from_a_non_root_peer_is_refused(
    served: tuple[Env, Path, Path],
) -> None:
    env, client_path, _ = served
    env.cache.put_user(env.fake.user_named("alice"))
    request = json.dumps({"v": 1, "op": "cache_clear"})
    done = await trio.to_thread.run_sync(
        run_as_nobody, nobody_python(), "-c", NOBODY_CLIENT, str(client_path), request
    )
    assert json.loads(done.stdout)["error"] == "permission_denied", done.stderr
    assert env.cache.counts() == (1, 0)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run a client as nobody")
async def test_task_socket__a_non_root_peer_is_dropped_unanswered(
    served: tuple[Env, Path, Path],
) -> None:
    env, _, task_path = served
    task_path.chmod(0o666)  # the mode keeps nobody out; this test is about the peer check
    request = json.dumps({"v": 1, "id": 1, "op": "local_identities",
                          "passwd": [{"name": "evil", "uid": 70001}], "group": []})
    done = await trio.to_thread.run_sync(
        run_as_nobody, nobody_python(), "-c", NOBODY_CLIENT, str(task_path), request
    )
    assert done.stdout.strip() == "EOF", done.stderr
    assert not env.link.local.has_user("evil")


async def test_task_socket__root_sends_local_identities_and_answers_home_create(
    served: tuple[Env, Path, Path],
) -> None:
    _, client_path, task_path = served
    assert task_path.stat().st_mode & 0o777 == 0o600
    assert client_path.stat().st_mode & 0o777 == 0o666
    tasks = await connect(task_path)
    reply = await call(tasks, {"v": 1, "id": 7, "op": "local_identities",
                               "passwd": [{"name": "alice", "uid": 1000}],
                               "group": []})
    assert reply == {"re": 7, "status": "ok"}
    client = await connect(client_path)
    assert await call(client, {"v": 1, "op": "user_by_name", "name": "alice"}) == {
        "status": "notfound"}
    # Now a directory user's session: unixd asks the tasks daemon over the same connection.
    tasks_reply = await call(tasks, {"v": 1, "id": 8, "op": "local_identities",
                                     "passwd": [], "group": []})
    assert tasks_reply == {"re": 8, "status": "ok"}
    async with trio.open_nursery() as nursery:
        answers: list[dict[str, object] | None] = []

        async def open_session() -> None:
            answers.append(await call(client, {"v": 1, "op": "pam_session_open",
                                               "name": "alice"}))

        nursery.start_soon(open_session)
        asked = await read_frame(tasks)
        assert asked is not None and asked["op"] == "home_create"
        await tasks.send_all(encode_frame({"re": asked["id"], "status": "ok"}, 1024))
    assert answers == [{"status": "ok"}]


async def test_task_socket__a_new_tasks_daemon_replaces_the_old_one(
    served: tuple[Env, Path, Path],
) -> None:
    env, _, task_path = served
    first = await connect(task_path)
    await call(first, {"v": 1, "id": 1, "op": "local_identities", "passwd": [], "group": []})
    second = await connect(task_path)
    await call(second, {"v": 1, "id": 1, "op": "local_identities",
                        "passwd": [{"name": "x", "uid": 5}], "group": []})
    await first.aclose()
    await trio.testing.wait_all_tasks_blocked()
    assert env.link.connected
    assert env.link.local.has_user("x")


def test_bind_unix_socket__refuses_a_path_another_process_listens_on(sockdir: Path) -> None:
    path = sockdir / "busy"
    live = bind_unix_socket(path, 0o600)
    try:
        with pytest.raises(OSError, match="another process listens"):
            bind_unix_socket(path, 0o600)
    finally:
        live.close()
    # A stale socket file (nobody listening) is replaced.
    bind_unix_socket(path, 0o666).close()
    assert path.stat().st_mode & 0o777 == 0o666
