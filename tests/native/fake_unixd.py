"""A scripted hermit-unixd for the native module tests: a trio server on a real unix socket.

It accepts connections, reads request frames, and lets a script answer each one; the script
sees the parsed request (a dict) and returns what to do: a response object, raw bytes then a
hang-up, a stall, or a hang-up. Every request is recorded (parsed, and as the bytes sent), so a
test can assert what the module sent (and that it sent nothing). The real hermit-unixd is used
by the end-to-end tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from hermit_common.framing import FrameDecoder, encode_frame
from unixd.proto import limits


@dataclass(frozen=True)
class Raw:
    """Send these bytes as they are, then close the connection."""

    data: bytes


@dataclass(frozen=True)
class Stall:
    """Send these bytes, then never answer (the client's deadline must end it)."""

    data: bytes = b""


Action = Mapping[str, Any] | Raw | Stall
Script = Callable[[dict[str, Any]], Action]


def frame_of(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


def always(obj: Action) -> Script:
    return lambda request: obj


@dataclass
class FakeUnixd:
    script: Script
    connections: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)

    async def serve(self, path: Path, *, task_status: trio.TaskStatus[None]) -> None:
        sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
        await sock.bind(str(path))
        sock.listen(64)
        task_status.started()
        await trio.serve_listeners(self._handle, [trio.SocketListener(sock)])

    async def _handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        decoder = FrameDecoder(limits.MAX_REQUEST_FRAME_BYTES)
        async with stream:
            while True:
                frame = decoder.next_frame()
                if not isinstance(frame, bytes):
                    data = await stream.receive_some()
                    if not data:
                        return
                    decoder.feed(data)
                    continue
                self.frames.append(frame)
                request = json.loads(frame)
                self.requests.append(request)
                action = self.script(request)
                if isinstance(action, Raw):
                    await stream.send_all(action.data)
                    return
                if isinstance(action, Stall):
                    await stream.send_all(action.data)
                    await trio.sleep_forever()
                await stream.send_all(encode_frame(action, limits.MAX_RESPONSE_FRAME_BYTES))
