"""One raw request to hermit-unixd's client socket, for tests and benchmarks; and the local
identities a test or benchmark hands unixd on its task socket in place of hermit-unixd-tasks.

``call_unixd`` sends the request object as it is (``"v": 1`` added) and returns whatever unixd
answers, error frames included: callers check the answer themselves. ``hermit-unix`` has the
typed client for people (``unixd.tool.Connection``).

unixd answers lookups, SSH keys and PAM only once it has local identities (docs/unixd.md);
``send_host_identities`` sends it the host's files as hermit-unixd-tasks reads them, for runs
that need no homes created. The task socket serves only root.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from hermit_common.framesocket import receive_frame
from hermit_common.framing import FrameDecoder, decode_payload, encode_frame
from unixd.proto import limits
from unixd.tasks.identities import IdentityFiles, read_identities

TIMEOUT_S = 30.0
MAX_REQUEST_BYTES = 64 * 1024
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


def call_unixd(path: Path, request: dict[str, object]) -> dict[str, object]:
    """One request on unixd's client socket; its answer."""
    return _exchange(path, {"v": 1, **request}, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES)


def send_local_identities(task_socket: Path, fields: Mapping[str, object]) -> None:
    """One ``local_identities`` with ``fields`` (``passwd``, ``group``, ...) on unixd's task
    socket, as root; what was sent stays in force after the connection closes."""
    request = {"v": 1, "id": 1, "op": "local_identities", **fields}
    limit = limits.MAX_TASK_FRAME_BYTES
    answer = _exchange(task_socket, request, limit, limit)
    if answer != {"re": 1, "status": "ok"}:
        raise ConnectionError(f"hermit-unixd refused the local identities: {answer}")


def _exchange(path: Path, request: dict[str, object], request_bytes: int,
              response_bytes: int) -> dict[str, object]:
    """One frame out and one back over a fresh connection to ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(str(path))
        sock.sendall(encode_frame(request, request_bytes))
        frame = receive_frame(sock, FrameDecoder(response_bytes))
    if frame is None:
        raise ConnectionError(f"hermit-unixd closed {path} without an answer")
    return decode_payload(frame)


def send_host_identities(task_socket: Path) -> None:
    """The host's /etc/passwd and /etc/group (and what else hermit-unixd-tasks sends), read
    as it reads them, on unixd's task socket."""
    identities = read_identities(IdentityFiles())
    if identities is None:
        raise OSError("cannot read the host's identity files")
    send_local_identities(task_socket, identities)
