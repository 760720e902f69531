"""Tests of hermit-unixd-tasks' link to unixd: a fake task-socket server in the test.

The fake server binds a unix socket in tmp_path, accepts the tasks daemon and speaks the
task-socket framing; passwd and group are files in tmp_path, beside a shadow file the daemon
must never send (issue 9). Nothing is slept on:
every wait is a bounded wait for a frame or an event.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from hermit_common.framing import CLOSED, NEED_DATA, FrameDecoder, decode_payload, encode_frame
from unixd.proto import limits
from unixd.tasks.identities import IdentityFiles
from unixd.tasks.link import TaskSettings, run_link

WAIT_SECONDS = 10
PASSWD = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
GROUP = "root:x:0:\nstaff:x:50:alice\n"
SHADOW = "root:!:19000:0:99999:7:::\nalice:$6$salt$hash:19000:0:99999:7:::\n"


class Peer:
    """unixd's end of one task connection."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.decoder = FrameDecoder(limits.MAX_TASK_FRAME_BYTES)

    async def receive(self) -> dict[str, object] | None:
        """The next frame, or None when the tasks daemon closed the connection."""
        with trio.fail_after(WAIT_SECONDS):
            while True:
                frame = self.decoder.next_frame()
                if frame is CLOSED:
                    return None
                if frame is NEED_DATA:
                    self.decoder.feed(await self.stream.receive_some(65536))
                    continue
                assert isinstance(frame, bytes)
                return decode_payload(frame)

    async def send(self, obj: dict[str, object]) -> None:
        await self.stream.send_all(encode_frame(obj, limits.MAX_TASK_FRAME_BYTES))

    async def receive_identities(self) -> dict[str, object]:
        frame = await self.receive()
        assert frame is not None
        assert frame["op"] == "local_identities"
        await self.send({"re": frame["id"], "status": "ok"})
        return frame


class FakeUnixd:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.listener: trio.SocketListener | None = None

    async def listen(self) -> None:
        sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
        await sock.bind(str(self.path))
        sock.listen(4)
        self.listener = trio.SocketListener(sock)

    async def accept(self) -> Peer:
        assert self.listener is not None
        with trio.fail_after(WAIT_SECONDS):
            return Peer(await self.listener.accept())


@pytest.fixture
def files(tmp_path: Path) -> IdentityFiles:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    (etc / "shadow").write_text(SHADOW)
    return IdentityFiles(passwd=etc / "passwd", group=etc / "group")


@pytest.fixture
def settings(tmp_path: Path, files: IdentityFiles) -> TaskSettings:
    run = tmp_path / "run"
    run.mkdir(mode=0o755)
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    return TaskSettings(
        socket_path=run / "task.sock", home_prefix=home, files=files,
        skel=tmp_path / "skel", settle_seconds=0, initial_backoff=0.01, max_backoff=0.05,
    )


@pytest.fixture
async def unixd(settings: TaskSettings) -> AsyncIterator[FakeUnixd]:
    server = FakeUnixd(settings.socket_path)
    await server.listen()
    yield server
    assert server.listener is not None
    await server.listener.aclose()


def replace_file(path: Path, text: str) -> None:
    # What shadow-utils does: write a new file beside it, rename it over the old one.
    temp = path.with_name(path.name + "+")
    temp.write_text(text)
    os.replace(temp, path)


async def test_run_link__sends_local_identities_on_connect(
    settings: TaskSettings, unixd: FakeUnixd, nursery: trio.Nursery
) -> None:
    await nursery.start(run_link, settings)
    peer = await unixd.accept()
    frame = await peer.receive_identities()
    assert frame["v"] == 1
    assert isinstance(frame["id"], int)
    assert frame["passwd"] == [
        {"name": "root", "passwd": "*", "uid": 0, "gid": 0, "gecos": "root", "dir": "/root",
         "shell": "/bin/bash"},
        {"name": "alice", "passwd": "*", "uid": 1000, "gid": 1000, "gecos": "Alice",
         "dir": "/home/alice", "shell": "/bin/sh"},
    ]
    assert frame["group"] == [
        {"name": "root", "passwd": "*", "gid": 0, "members": []},
        {"name": "staff", "passwd": "*", "gid": 50, "members": ["alice"]},
    ]
    # Issue 9: never a password hash (local passwords are pam_unix's).
    assert set(frame) == {"v", "id", "op", "passwd", "group"}
    assert "$6$salt$hash" not in str(frame)


async def test_run_link__changed_files_are_sent_again(
    settings: TaskSettings, unixd: FakeUnixd, files: IdentityFiles, nursery: trio.Nursery
) -> None:
    await nursery.start(run_link, settings)
    peer = await unixd.accept()
    first = await peer.receive_identities()
    replace_file(files.passwd, PASSWD + "bob:x:1001:1001::/home/bob:/bin/sh\n")
    second = await peer.receive_identities()
    assert second["id"] != first["id"]
    assert [user["name"] for user in second["passwd"]] == ["root", "alice", "bob"]  # type: ignore[attr-defined, index]
    # An edit in place (echo >> /etc/group) counts as well.
    with files.group.open("a") as handle:
        handle.write("extra:x:60:\n")
    third = await peer.receive_identities()
    assert [group["name"] for group in third["group"]] == ["root", "staff", "extra"]  # type: ignore[attr-defined, index]


async def test_run_link__unrelated_file_in_the_directory_sends_nothing(
    settings: TaskSettings, unixd: FakeUnixd, files: IdentityFiles, nursery: trio.Nursery
) -> None:
    await nursery.start(run_link, settings)
    peer = await unixd.accept()
    await peer.receive_identities()
    (files.passwd.parent / "hostname").write_text("box\n")
    # /etc/shadow is no business of hermit's either.
    replace_file(files.passwd.parent / "shadow", SHADOW + "carol:!:1::::::\n")
    replace_file(files.passwd, PASSWD + "carol:x:1002:1002::/home/carol:/bin/sh\n")
    frame = await peer.receive_identities()
    # The next frame is the passwd change: the unrelated files caused no send before it.
    assert [entry["name"] for entry in frame["passwd"]] == ["root", "alice", "carol"]  # type: ignore[attr-defined, index]


async def test_run_link__retries_until_unixd_listens(
    settings: TaskSettings, nursery: trio.Nursery
) -> None:
    await nursery.start(run_link, settings)
    server = FakeUnixd(settings.socket_path)
    await server.listen()  # only now does "unixd" start
    peer = await server.accept()
    assert (await peer.receive_identities())["op"] == "local_identities"
    assert server.listener is not None
    await server.listener.aclose()


async def test_run_link__reconnects_after_unixd_hangs_up(
    settings: TaskSettings, unixd: FakeUnixd, nursery: trio.Nursery
) -> None:
    await nursery.start(run_link, settings)
    peer = await unixd.accept()
    await peer.receive_identities()
    await peer.stream.aclose()
    again = await unixd.accept()
    assert (await again.receive_identities())["op"] == "local_identities"


async def test_run_link__home_create_is_served(
    settings: TaskSettings, unixd: FakeUnixd, nursery: trio.Nursery
) -> None:
    if os.geteuid() != 0:
        pytest.skip("creating homes needs root")
    await nursery.start(run_link, settings)
    peer = await unixd.accept()
    await peer.receive_identities()
    prefix = settings.home_prefix
    request = {
        "v": 1, "id": 7, "op": "home_create", "name": "alice", "uid": 1500, "gid": 1500,
        "home": f"{prefix}/uuid-1", "alias": f"{prefix}/alice", "old_aliases": [],
        "use_etc_skel": False,
    }
    await peer.send(request)
    assert await peer.receive() == {"re": 7, "status": "ok"}
    assert (prefix / "uuid-1").stat().st_uid == 1500
    assert os.readlink(prefix / "alice") == f"{prefix}/uuid-1"

    await peer.send({**request, "id": 8, "home": "/etc/evil"})
    reply = await peer.receive()
    assert reply is not None
    assert (reply["re"], reply["status"]) == (8, "error")
    assert "home must be directly under the home prefix" in str(reply["detail"])


@pytest.mark.parametrize(
    ("frame", "detail"),
    [
        ({"v": 1, "id": 3, "op": "reboot"}, "hermit-unixd-tasks answers only home_create"),
        ({"v": 2, "id": 3, "op": "home_create"}, 'a task request must carry "v": 1'),
        ({"v": 1, "id": 3, "op": "home_create"}, "home_create lacks the field 'name'"),
    ],
)
async def test_run_link__bad_request_is_answered_and_the_link_stays(
    settings: TaskSettings, unixd: FakeUnixd, nursery: trio.Nursery,
    frame: dict[str, object], detail: str,
) -> None:
    await nursery.start(run_link, settings)
    peer = await unixd.accept()
    await peer.receive_identities()
    await peer.send(frame)
    assert await peer.receive() == {"re": 3, "status": "error", "detail": detail}
    await peer.send({"re": 99, "status": "ok"})  # answers nothing of ours: ignored
    replace_file(settings.files.passwd, PASSWD + "dan:x:1002:1002::/h:/bin/sh\n")
    assert (await peer.receive_identities())["op"] == "local_identities"


async def test_run_link__a_socket_in_a_shared_directory_gets_nothing(
    settings: TaskSettings, unixd: FakeUnixd, nursery: trio.Nursery
) -> None:
    # Anyone could have bound a socket in a world-writable directory: the host's account list
    # must not go to it, nor home requests come from it. The tasks daemon hangs up without
    # sending a frame.
    settings.socket_path.parent.chmod(0o777)
    await nursery.start(run_link, settings)
    peer = await unixd.accept()
    assert await peer.receive() is None
