"""Talking to unixd's sockets in the tests: frames over a trio stream (``connect``, ``call``,
``read_frame``, ``assert_closed``) and a client run as nobody through setpriv
(``run_as_nobody`` with ``NOBODY_CLIENT``, a standalone script speaking one frame).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import trio
import trio.testing

from contrib.harness.runtime import everyone_runtime
from hermit_common.framing import FrameDecoder, decode_payload, encode_frame
from unixd.proto import limits

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


async def connect(path: Path) -> trio.SocketStream:
    return await trio.open_unix_socket(str(path))


async def read_frame(stream: trio.abc.ReceiveStream) -> dict[str, object] | None:
    decoder = FrameDecoder(limits.MAX_TASK_FRAME_BYTES)
    while True:
        frame = decoder.next_frame()
        if isinstance(frame, bytes):
            return decode_payload(frame)
        if not isinstance(frame, bytes) and frame.name == "CLOSED":
            return None
        decoder.feed(bytes(await stream.receive_some(65536)))


async def call(stream: trio.abc.Stream, obj: dict[str, object]) -> dict[str, object] | None:
    await stream.send_all(encode_frame(obj, limits.MAX_REQUEST_FRAME_BYTES))
    return await read_frame(stream)


async def assert_closed(stream: trio.abc.ReceiveStream) -> None:
    with trio.fail_after(10):
        assert await stream.receive_some(65536) == b""


def nobody_python() -> str:
    """A python nobody can run, even when the clone's .venv is out of its reach (/root)."""
    return str(everyone_runtime().bin / "python")


def run_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AS_NOBODY, *args], capture_output=True, text=True, timeout=60,
                          check=False)


NOBODY_CLIENT = """
import json, socket, struct, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
body = sys.argv[2].encode()
data = b""
try:
    sock.sendall(struct.pack(">I", len(body)) + body)
    while chunk := sock.recv(65536):
        data += chunk
        if len(data) >= 4 and len(data) >= 4 + struct.unpack(">I", data[:4])[0]:
            break
except (ConnectionResetError, BrokenPipeError):  # dropped, our request unread
    pass
print(data[4:].decode() if data else "EOF")
"""

