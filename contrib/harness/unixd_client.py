"""One raw request to hermit-unixd's client socket, for tests and benchmarks.

Sends the request object as it is (``"v": 1`` added) and returns whatever unixd answers,
error frames included: callers check the answer themselves. ``hermit-unix`` has the typed
client for people (``unixd.tool.Connection``).
"""

from __future__ import annotations

import socket
from pathlib import Path

from idmd.framing import FrameDecoder, decode_payload, encode_frame

TIMEOUT_S = 30.0
MAX_REQUEST_BYTES = 64 * 1024
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


def call_unixd(path: Path, request: dict[str, object]) -> dict[str, object]:
    """One request on unixd's client socket; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(str(path))
        sock.sendall(encode_frame({"v": 1, **request}, MAX_REQUEST_BYTES))
        decoder = FrameDecoder(MAX_RESPONSE_BYTES)
        while not isinstance(frame := decoder.next_frame(), bytes):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("hermit-unixd closed the connection")
            decoder.feed(chunk)
        return decode_payload(frame)
