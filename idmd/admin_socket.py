"""The root-only admin unix socket: its trio server and its small blocking client.

The server lets root (or the server's own user) run ``recover-account``, ``verify`` and
``backup`` while hermit-idmd holds the database; the client is what those ``hermit-idmd``
subcommands use. This module does not know how an account is recovered (``idm/``
does) nor how frames are cut (``hermit_common/framing.py`` does).

Rules:
- The socket file is created 0600; in addition each connection's peer uid (SO_PEERCRED) must
  be 0 or the server's own uid, so a socket made reachable by mistake still refuses others.
- One request, one response, then the connection is closed. A request must arrive whole
  within ``ADMIN_READ_TIMEOUT_SECONDS``. A client should read exactly one frame: the server
  may reset the connection after it (when it refused the request unread to its end).
- A bad request (oversized, malformed, unknown op, wrong peer, too slow) gets an error frame
  and the connection closes; nothing a client sends can crash the server.
- The response to ``recover_account`` carries a password: it is written to the socket and to
  nowhere else (no log line).
- ``backup`` writes the file as the server's user (its path is read by the server, so it must
  be absolute); the snapshot runs in a worker thread (``idmd.backup.service``).

Wire format (version 1), frames as in ``hermit_common/framing.py``, in the words of hermit-unixd's
sockets (docs/protocol.md): every request carries ``"v": 1`` and an ``op``, every response a
``status``::

    {"v": 1, "op": "recover_account", "name": NAME}
        → {"status": "ok", "password": PASSWORD, "sessions_ended": N}
          (N: the account's sessions and API tokens the recovery ended)
    {"v": 1, "op": "verify"}
        → {"status": "ok", "problems": [TEXT, ...]}
    {"v": 1, "op": "backup", "path": ABSOLUTE_PATH,
     "compression": "gzip" | "lzma" (optional), "replace": BOOL (optional, false)}
        → {"status": "ok", "path": PATH, "entries": N, "bytes": N, "compression": NAME,
           "created_at": TEXT}
    any failure
        → {"status": "error", "error": CODE, "detail": TEXT}

A request without ``"v": 1`` is refused (``invalid_request``).
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

import trio

from hermit_common.errors import HermitError, InvalidRequest
from hermit_common.framesocket import receive_frame
from hermit_common.framestream import FrameReader
from hermit_common.framing import (
    FrameDecoder,
    PeerProtocolError,
    decode_payload,
    encode_frame,
)
from hermit_common.secret import Secret
from hermit_common.unixsocket import bind_unix_socket, peer_uid
from idmd.backup.format import COMPRESSIONS, Compression
from idmd.backup.snapshot import BackupInfo
from idmd.errors import AccessDenied, Unavailable
from idmd.limits import ADMIN_READ_TIMEOUT_SECONDS, MAX_ADMIN_FRAME_BYTES, MAX_TEXT_LEN

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
_RECEIVE_CHUNK = 4096


class AdminTarget(Protocol):
    """What the admin socket needs from the identity layer (``idmd.idm.Idm`` provides it)."""

    async def recover_account(self, name: str) -> tuple[Secret, int]:
        """The new password, and how many sessions and API tokens of the account ended."""
        ...

    def verify(self) -> list[str]: ...


class BackupTarget(Protocol):
    """What the ``backup`` op needs (``idmd.backup.service.BackupService`` provides it)."""

    async def backup(
        self, dest: Path, *, compression: Compression | None = None, replace: bool = False
    ) -> BackupInfo: ...


class AdminSocketUnavailable(Unavailable):
    """Nobody is listening on the admin socket (no server runs there)."""


@dataclass(frozen=True)
class RecoverAccount:
    name: str


@dataclass(frozen=True)
class Verify:
    pass


@dataclass(frozen=True)
class Backup:
    path: Path
    compression: Compression | None
    replace: bool


Request = RecoverAccount | Verify | Backup
# A path the kernel accepts (PATH_MAX).
_MAX_PATH_LEN = 4096


def parse_request(obj: Mapping[str, object]) -> Request:
    """Check a decoded request. Errors: ``InvalidRequest`` saying what is wrong."""
    version = obj.get("v")
    if isinstance(version, bool) or version != PROTOCOL_VERSION:
        raise InvalidRequest(
            f'a request must carry "v": {PROTOCOL_VERSION} (this is admin protocol version '
            f"{PROTOCOL_VERSION})"
        )
    op = obj.get("op")
    if op == "recover_account":
        _check_keys(obj, {"v", "op", "name"})
        name = obj.get("name")
        if not isinstance(name, str) or not name or len(name) > MAX_TEXT_LEN:
            raise InvalidRequest("recover_account needs a 'name' string")
        return RecoverAccount(name)
    if op == "verify":
        _check_keys(obj, {"v", "op"})
        return Verify()
    if op == "backup":
        return _parse_backup(obj)
    raise InvalidRequest("unknown op; known ops: recover_account, verify, backup")


def _parse_backup(obj: Mapping[str, object]) -> Backup:
    _check_keys(obj, {"v", "op", "path", "compression", "replace"})
    path = obj.get("path")
    if (
        not isinstance(path, str) or not path.startswith("/") or "\0" in path
        or len(path) > _MAX_PATH_LEN
    ):
        raise InvalidRequest("backup needs an absolute 'path'")
    compression = obj.get("compression")
    if compression is not None and compression not in COMPRESSIONS:
        raise InvalidRequest(f"'compression' must be one of {', '.join(COMPRESSIONS)}")
    replace = obj.get("replace", False)
    if not isinstance(replace, bool):
        raise InvalidRequest("'replace' must be true or false")
    return Backup(Path(path), compression, replace)


def _check_keys(obj: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidRequest(f"unknown key {unknown[0]!r} in the request")


def error_response(exc: HermitError) -> dict[str, object]:
    return {"status": "error", "error": exc.code, "detail": exc.detail}


# --- server --------------------------------------------------------------------------------


def bind_admin_socket(path: Path) -> socket.socket:
    """Bind and listen on ``path``, mode 0600, replacing a stale socket file.

    Errors: ``OSError`` (with a message naming ``path``) when another process listens there
    or the path holds something that is not a socket.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return bind_unix_socket(path, 0o600)


async def serve_admin_socket(
    sock: socket.socket,
    target: AdminTarget,
    *,
    allowed_uids: frozenset[int],
    backups: BackupTarget | None = None,
    read_timeout: float = ADMIN_READ_TIMEOUT_SECONDS,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the bound socket ``sock`` until cancelled; one task per connection.

    ``backups`` None: the ``backup`` op is answered ``unavailable``.
    Resources: takes ``sock`` over and closes it when cancelled.
    """
    listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
    handler = partial(
        handle_connection, target=target, allowed_uids=allowed_uids, read_timeout=read_timeout,
        backups=backups,
    )
    async with listener:
        task_status.started()
        await trio.serve_listeners(handler, [listener])


async def handle_connection(
    stream: trio.SocketStream,
    *,
    target: AdminTarget,
    allowed_uids: frozenset[int],
    read_timeout: float,
    backups: BackupTarget | None = None,
) -> None:
    """Answer one request on ``stream``, then close it whatever happened."""
    try:
        response = await _answer(stream, target, backups, allowed_uids, read_timeout)
        with trio.move_on_after(read_timeout):
            await stream.send_all(encode_frame(response, MAX_ADMIN_FRAME_BYTES))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away; nothing to answer
    except Exception:
        # Last line of defence: one connection's bug must never take the server down.
        log.exception("admin socket: connection failed")
    finally:
        await trio.aclose_forcefully(stream)


async def _answer(
    stream: trio.SocketStream,
    target: AdminTarget,
    backups: BackupTarget | None,
    allowed_uids: frozenset[int],
    read_timeout: float,
) -> dict[str, object]:
    # The request is read before the peer is judged, so a refused client gets its answer
    # instead of a broken pipe; reading is bounded in size and time either way.
    try:
        with trio.fail_after(read_timeout):
            payload = await _read_frame(stream)
    except trio.TooSlowError:
        return error_response(PeerProtocolError("no whole request arrived in time"))
    except PeerProtocolError as exc:
        log.warning("admin socket: bad frame: %s", exc.detail)
        return error_response(exc)
    uid = peer_uid(stream.socket)
    if uid not in allowed_uids:
        log.warning("admin socket: refused a connection from uid %d", uid)
        return error_response(AccessDenied("the admin socket is for root only"))
    try:
        request = parse_request(decode_payload(payload))
    except InvalidRequest as exc:
        log.warning("admin socket: bad request: %s", exc.detail)
        return error_response(exc)
    try:
        return await _run(request, target, backups)
    except HermitError as exc:
        return error_response(exc)
    except Exception:
        log.exception("admin socket: %s failed", type(request).__name__)
        return error_response(HermitError("the request failed; see the server's log"))


async def _run(
    request: Request, target: AdminTarget, backups: BackupTarget | None
) -> dict[str, object]:
    if isinstance(request, Backup):
        if backups is None:
            raise Unavailable("this server makes no backups")
        info = await backups.backup(
            request.path, compression=request.compression, replace=request.replace
        )
        return {
            "status": "ok", "path": str(info.path), "entries": info.header.entries,
            "bytes": info.size, "compression": info.header.compression,
            "created_at": info.header.created_at,
        }
    if isinstance(request, RecoverAccount):
        password, ended = await target.recover_account(request.name)
        log.info("admin socket: recovered account %s, ended %d of its sessions",
                 request.name, ended)
        return {"status": "ok", "password": password.reveal(), "sessions_ended": ended}
    # verify runs on the loop: a rare operator command, and the database is not thread-safe.
    return {"status": "ok", "problems": target.verify()}


async def _read_frame(stream: trio.SocketStream) -> bytes:
    reader = FrameReader(stream, MAX_ADMIN_FRAME_BYTES, receive_bytes=_RECEIVE_CHUNK)
    frame = await reader.next_frame()
    if frame is None:
        raise PeerProtocolError("the connection closed before a request arrived")
    return frame


# --- client --------------------------------------------------------------------------------


def admin_request(
    path: Path, request: Mapping[str, object], *, timeout: float = 60.0
) -> dict[str, object]:
    """Send one request to the admin socket at ``path`` and return the decoded response.

    Errors: ``AdminSocketUnavailable`` when no server listens at ``path``; ``OSError`` for
    anything else (permission denied, the server closed without answering);
    ``PeerProtocolError`` for a malformed answer.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.settimeout(timeout)
    with sock:
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise AdminSocketUnavailable(f"no hermit-idmd listens on {path}") from exc
        sock.sendall(encode_frame({"v": PROTOCOL_VERSION, **request},
                                  MAX_ADMIN_FRAME_BYTES))
        frame = receive_frame(sock, FrameDecoder(MAX_ADMIN_FRAME_BYTES), _RECEIVE_CHUNK)
        if frame is None:
            raise OSError(errno.ECONNRESET, f"{path}: the server closed without answering")
        return decode_payload(frame)
