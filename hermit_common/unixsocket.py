"""Hermit's listening unix sockets: binding them with the right mode from the first moment (a
stale socket file left by a daemon that died replaced, never a live one), and reading a
connected peer's uid.

Used by hermit-idmd's admin socket and hermit-unixd's client and task sockets.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import struct
from pathlib import Path

import trio

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid (socket(7))


def bind_unix_socket(path: Path, mode: int) -> socket.socket:
    """Bind and listen on ``path`` with ``mode``, replacing a stale socket file.

    Errors: ``OSError`` naming ``path`` when another process listens there, the path holds
    something that is not a socket, or the bind fails.
    """
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    # Created 0600 by the umask, then opened up to ``mode``: never wider than meant, even
    # for a moment.
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot bind {path}: {exc.strerror}") from exc
    finally:
        os.umask(old_umask)
    os.chmod(path, mode)
    sock.listen(socket.SOMAXCONN)
    return sock


def peer_uid(sock: trio.socket.SocketType) -> int:
    """The uid of the process at the other end of the connected unix socket ``sock``
    (SO_PEERCRED: the peer's credentials when it connected)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    _pid, uid, _gid = _UCRED.unpack(raw)
    return int(uid)


def _remove_stale_socket(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        path.unlink()  # left behind by a daemon that died; nobody listens
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"another process listens on {path}")
