"""hermit-unixd-tasks' one connection to unixd's task socket, kept up for the life of the daemon.

This module owns the connection: connecting (with back-off while unixd is down), checking that
the listener is unixd, sending ``local_identities`` on connect and whenever the files change,
and answering unixd's ``home_create`` requests. It does not create anything itself
(``unixd.tasks.home`` does, in a worker thread) nor parse the files (``unixd.tasks.identities``);
the messages and their checks are ``unixd.proto.tasks``, shared with unixd.

Rules (docs/protocol.md, "Task socket"):
- Before anything is sent, the peer must be the owner of the socket file (SO_PEERCRED), and
  the socket's directory must not be writable by group or others: the host's account list
  and home requests go only to the process that bound unixd's socket, never to one that
  planted a socket there.
- The back-off doubles from ``initial_backoff`` to ``max_backoff``; it starts over once unixd
  has accepted a ``local_identities``. The first failure of a run of them is a warning, the
  rest are debug lines, so a host without unixd does not fill its journal.
- ``home_create`` requests run one at a time, in order, in a worker thread; a running one is
  never abandoned (trio waits for the thread on cancellation). A request that breaks the
  rules is answered ``error`` with a detail and the connection stays; a frame that breaks
  the framing, or a request without an id, closes it (and the daemon reconnects).
- Sends are serialised by a lock: the identity sender and the home worker share the stream.
"""

from __future__ import annotations

import itertools
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trio

from hermit_common.errors import HermitError, describe
from hermit_common.framestream import FrameReader
from hermit_common.framing import decode_payload
from hermit_common.unixsocket import peer_uid
from unixd.proto import limits, tasks
from unixd.proto.tasks import HomeCreate
from unixd.tasks.home import DEFAULT_SKEL, create_home
from unixd.tasks.identities import FileWatcher, Identities, IdentityFiles, read_identities

log = logging.getLogger(__name__)

# home_create requests waiting for the worker: unixd sends one per session opening of an
# account without a home; a burst of logins beyond this is answered "error" at once rather
# than queued without bound.
HOME_QUEUE = 64


class PeerNotUnixd(HermitError):
    """The task socket's listener is not the owner of the socket file."""


@dataclass(frozen=True)
class TaskSettings:
    socket_path: Path
    home_prefix: Path
    files: IdentityFiles = field(default_factory=IdentityFiles)
    skel: Path = DEFAULT_SKEL
    # shadow-utils rewrites passwd, shadow, group and gshadow one after another: wait this
    # long after the first event so one send carries all of it.
    settle_seconds: float = 0.2
    initial_backoff: float = 0.5
    max_backoff: float = 30.0


async def run_link(
    settings: TaskSettings, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Keep a connection to unixd until cancelled (see the module rules).

    ``started()`` is reported once the files are watched, before the first connection.
    Errors: ``OSError`` from ``FileWatcher`` if inotify cannot be used.
    """
    with FileWatcher(settings.files) as watcher:
        task_status.started()
        backoff = settings.initial_backoff
        quiet = False
        while True:
            link = _Link(settings, watcher)
            try:
                await link.run()
            except* (OSError, trio.BrokenResourceError, trio.ClosedResourceError,
                     HermitError) as group:
                log.log(logging.DEBUG if quiet else logging.WARNING,
                        "task socket %s: %s; retrying", settings.socket_path, describe(group))
                quiet = True
            if link.accepted:
                backoff, quiet = settings.initial_backoff, False
            else:
                backoff = min(backoff * 2, settings.max_backoff)
            await trio.sleep(backoff)


class _Link:
    """One connection to unixd."""

    def __init__(self, settings: TaskSettings, watcher: FileWatcher) -> None:
        self._settings = settings
        self._watcher = watcher
        self._ids = itertools.count(1)
        self._send_lock = trio.Lock()
        self._stream: trio.SocketStream | None = None
        # Invariant: ids of our local_identities requests that unixd has not answered yet.
        self._pending: set[int] = set()
        self.accepted = False

    async def run(self) -> None:
        path = self._settings.socket_path
        stream = await trio.open_unix_socket(str(path))
        self._stream = stream
        try:
            _check_peer(stream.socket, path)
            log.info("connected to unixd at %s", path)
            send_homes, receive_homes = trio.open_memory_channel[tuple[int, HomeCreate]](
                HOME_QUEUE
            )
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._send_identities)
                nursery.start_soon(self._home_worker, receive_homes)
                await self._read(send_homes)
                nursery.cancel_scope.cancel()
        finally:
            await trio.aclose_forcefully(stream)

    async def _send(self, message: tasks.Request | tasks.Response) -> None:
        assert self._stream is not None
        frame = tasks.encode(message)
        async with self._send_lock:
            await self._stream.send_all(frame)

    async def _send_identities(self) -> None:
        last: Identities | None = None
        while True:
            current = await trio.to_thread.run_sync(read_identities, self._settings.files)
            if current is not None and current != last:
                request_id = next(self._ids)
                update = tasks.LocalIdentitiesUpdate(passwd=tuple(current["passwd"]),
                                                     group=tuple(current["group"]))
                try:
                    self._pending.add(request_id)
                    await self._send(tasks.Request(request_id, update))
                except ValueError as exc:  # over MAX_TASK_FRAME_BYTES
                    log.error("local identities not sent: %s", exc)
                else:
                    last = current
                    log.info("sent local identities: %d users, %d groups",
                             len(current["passwd"]), len(current["group"]))
            await self._watcher.wait_changed()
            await trio.sleep(self._settings.settle_seconds)
            self._watcher.drain()

    async def _home_worker(
        self, requests: trio.MemoryReceiveChannel[tuple[int, HomeCreate]]
    ) -> None:
        async for request_id, request in requests:
            try:
                await trio.to_thread.run_sync(
                    partial(create_home, request, self._settings.home_prefix,
                            skel=self._settings.skel)
                )
            except (HermitError, OSError) as exc:
                detail = getattr(exc, "detail", None) or f"{request.home}: {exc}"
                log.warning("home_create for %s refused: %s", request.name, detail)
                await self._send(tasks.Response.error(request_id, detail))
            else:
                await self._send(tasks.Response(request_id, ok=True))

    async def _read(self, homes: trio.MemorySendChannel[tuple[int, HomeCreate]]) -> None:
        assert self._stream is not None
        reader = FrameReader(self._stream, limits.MAX_TASK_FRAME_BYTES)
        while (payload := await reader.next_frame()) is not None:
            await self._on_frame(decode_payload(payload), homes)
        log.info("unixd closed the task connection")

    async def _on_frame(
        self,
        obj: Mapping[str, object],
        homes: trio.MemorySendChannel[tuple[int, HomeCreate]],
    ) -> None:
        if tasks.is_response(obj):
            reply = tasks.Response.from_json(obj)
            if reply.re not in self._pending:
                log.debug("ignored a response to request %d, not ours", reply.re)
                return
            self._pending.discard(reply.re)
            if reply.ok:
                self.accepted = True
            else:
                log.warning("unixd refused local identities: %s", reply.detail)
            return
        request_id = tasks.request_id_of(obj)
        try:
            request = tasks.parse_home_create(obj)
        except HermitError as exc:
            log.warning("refused a request from unixd: %s", exc.detail)
            await self._send(tasks.Response.error(request_id, exc.detail))
            return
        try:
            homes.send_nowait((request_id, request))
        except trio.WouldBlock:
            await self._send(tasks.Response.error(request_id,
                                                  "too many home_create requests queued"))


def _check_peer(sock: trio.socket.SocketType, path: Path) -> None:
    """Errors: ``PeerNotUnixd`` (see the module rules)."""
    uid = peer_uid(sock)
    info = os.lstat(path)
    directory = os.lstat(path.parent)
    if not stat.S_ISSOCK(info.st_mode) or info.st_uid != uid:
        raise PeerNotUnixd(f"the listener (uid {uid}) does not own the socket {path}")
    if directory.st_mode & 0o022 or directory.st_uid not in (0, uid):
        raise PeerNotUnixd(f"{path.parent} must belong to root or unixd's user and not be "
                           "writable by group or others")
