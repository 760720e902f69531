"""The hermit-unixd process: its two unix sockets, one task per connection, signals, READY.

This module is the trio shell around the resolver: it binds the client socket (0666) and the
task socket (0600), reads frames, hands parsed requests to ``unixd.resolver.dispatch`` and
writes the answers; it decides nothing about identities. Implements docs/protocol.md and
DESIGN.md "Security invariants" (the task socket accepts only peer uid 0; one bad client
never stalls the others).

Rules:
- Every connection runs in its own task. A frame, once its first byte has arrived, must be
  complete within ``READ_TIMEOUT_SECONDS`` or the peer is dropped; between requests a client
  connection may idle for ``IDLE_TIMEOUT_SECONDS`` (a PAM conversation waits for a person).
- A request that breaks the protocol gets its error frame and the connection is closed; a
  request that fails inside unixd gets ``internal_error`` and the connection stays usable.
  Nothing a peer sends escapes the handler (STYLE.md: ``except Exception`` at a task's top).
- The peer's credentials (SO_PEERCRED) are read once per connection. A task-socket peer
  that is not uid 0 is dropped before a byte is read.
- READY=1 is sent only after both sockets listen; SIGTERM or SIGINT cancels everything, the
  socket files are removed and the cache closed.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path

import trio

from hermit_common.clock import Clock, SystemClock
from hermit_common.framestream import FrameReader
from hermit_common.framing import PeerProtocolError, decode_payload, encode_frame
from hermit_common.memory import pin_mmap_threshold
from hermit_common.service import notify, stop_on_signals
from hermit_common.unixsocket import bind_unix_socket, peer_uid
from unixd.config import UnixdConfig
from unixd.proto import limits, tasks
from unixd.proto.messages import ErrorResponse, Response, decode_request, encode_response
from unixd.resolver import records
from unixd.resolver.cache import Cache
from unixd.resolver.dispatch import Peer, answer
from unixd.resolver.memcache import MemCache
from unixd.resolver.netwatch import watch_network
from unixd.resolver.pam import OfflineMfa
from unixd.resolver.provider import IdmProvider, pinned_tls_context
from unixd.resolver.resolver import Resolver
from unixd.resolver.tasklink import TaskLink

log = logging.getLogger(__name__)

# A client connection waiting for its next request: long enough for a person to type a
# password into a PAM prompt (login(1) gives 60 s, sshd's LoginGraceTime 120 s), short enough
# that abandoned connections do not pile up.
IDLE_TIMEOUT_SECONDS = 180.0
READ_TIMEOUT_SECONDS = float(limits.READ_TIMEOUT_SECONDS)
# Writing an answer to a client that does not read it: the same bound as reading.
WRITE_TIMEOUT_SECONDS = READ_TIMEOUT_SECONDS

CLIENT_SOCKET_MODE = 0o666
TASK_SOCKET_MODE = 0o600


async def _send(stream: trio.abc.SendStream, obj: Mapping[str, object], max_frame: int) -> None:
    with trio.fail_after(WRITE_TIMEOUT_SECONDS):
        await stream.send_all(encode_frame(obj, max_frame))


async def _respond(stream: trio.abc.SendStream, response: Response) -> None:
    with trio.fail_after(WRITE_TIMEOUT_SECONDS):
        await stream.send_all(encode_response(response))


async def handle_client(stream: trio.abc.Stream, uid: int, *, resolver: Resolver) -> None:
    """Serve one client connection until it closes, breaks the protocol or stalls."""
    peer = Peer(uid=uid)
    reader = FrameReader(stream, limits.MAX_REQUEST_FRAME_BYTES,
                         idle_timeout=IDLE_TIMEOUT_SECONDS, frame_timeout=READ_TIMEOUT_SECONDS)
    try:
        while True:
            try:
                payload = await reader.next_frame()
                if payload is None:
                    return
                request = decode_request(payload)
            except PeerProtocolError as exc:
                log.debug("client uid %d: %s", uid, exc.detail)
                await _respond(stream, ErrorResponse.from_exception(exc))
                return
            try:
                response = await answer(resolver, request, peer)
            except Exception:
                log.exception("%s failed", request.OP)
                response = ErrorResponse(
                    error="internal_error", detail=f"{request.OP} failed; see unixd's log"
                )
            await _respond(stream, response)
    except (trio.TooSlowError, trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # a stalled or vanished client: drop it
    except Exception:
        log.exception("client connection failed")
    finally:
        await trio.aclose_forcefully(stream)


async def handle_tasks(stream: trio.abc.Stream, uid: int, *, link: TaskLink,
                       on_local_change: Callable[[], None] = lambda: None) -> None:
    """Serve the tasks daemon's connection; a peer that is not root is dropped unread.
    ``on_local_change`` is called each time the local identities were replaced."""
    try:
        if uid != 0:
            log.warning("task socket: refused a connection from uid %d", uid)
            return
        send_lock = trio.Lock()

        async def send(obj: Mapping[str, object]) -> None:
            async with send_lock:
                await _send(stream, obj, limits.MAX_TASK_FRAME_BYTES)

        token = link.attach(send)
        reader = FrameReader(stream, limits.MAX_TASK_FRAME_BYTES,
                             frame_timeout=READ_TIMEOUT_SECONDS)
        try:
            while True:
                try:
                    payload = await reader.next_frame()
                    if payload is None:
                        return
                    before = link.local
                    reply = await link.on_frame(decode_payload(payload))
                    if link.local is not before:
                        on_local_change()
                except PeerProtocolError as exc:
                    log.warning("task socket: %s", exc.detail)
                    await send(tasks.refusal(exc))
                    return
                if reply is not None:
                    await send(reply)
        finally:
            link.detach(token)
    except (trio.TooSlowError, trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    except Exception:
        log.exception("task connection failed")
    finally:
        await trio.aclose_forcefully(stream)


async def serve_socket(
    sock: socket.socket,
    handler: Callable[[trio.SocketStream, int], Awaitable[None]],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve a bound socket until cancelled: each connection in its own task."""
    listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))

    async def connection(stream: trio.SocketStream) -> None:
        try:
            uid = peer_uid(stream.socket)
        except OSError:
            await trio.aclose_forcefully(stream)
            return
        await handler(stream, uid)

    async with listener:
        task_status.started()
        await trio.serve_listeners(connection, [listener])


def build_resolver(cfg: UnixdConfig, cache: Cache, provider: IdmProvider, clock: Clock,
                   link: TaskLink, shells: records.ShellList) -> Resolver:
    return Resolver(
        cache, provider, records.Shaping.from_config(cfg, shells), link,
        clock=clock, cache_timeout=cfg.cache_timeout, request_timeout=cfg.request_timeout,
        use_etc_skel=cfg.use_etc_skel,
        offline_mfa=OfflineMfa(cfg.offline_mfa),
        offline_failed_login_attempts=cfg.offline_failed_login_attempts,
        offline_failed_login_delay=cfg.offline_failed_login_delay,
    )


async def serve(cfg: UnixdConfig, *, shells_path: Path = Path("/etc/shells"),
                watch_dbus: bool = True) -> None:
    """Run hermit-unixd until SIGTERM or SIGINT.

    Resources: opens the cache, an HTTPS client and both sockets; closes them all.
    """
    # Offline hashes are Argon2id with 19 MiB buffers: return them after each check.
    pin_mmap_threshold()
    clock = SystemClock()
    cache = Cache(cfg.cache_path, clock, cache_timeout=cfg.cache_timeout)
    provider = IdmProvider(
        cfg.uri, verify=pinned_tls_context(cfg.ca_path),
        connect_timeout=cfg.connect_timeout, request_timeout=cfg.request_timeout,
        token_path=cfg.token_path,
    )
    link = TaskLink()
    resolver = build_resolver(cfg, cache, provider, clock, link, records.ShellList(shells_path))
    memcache = MemCache(cfg.socket_path.parent, resolver)
    resolver.on_change, resolver.on_flush = memcache.changed, memcache.flush
    bound: list[Path] = []
    try:
        client_sock = bind_unix_socket(cfg.socket_path, CLIENT_SOCKET_MODE)
        bound.append(cfg.socket_path)
        task_sock = bind_unix_socket(cfg.task_socket_path, TASK_SOCKET_MODE)
        bound.append(cfg.task_socket_path)
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(stop_on_signals, nursery.cancel_scope, log=log))
            await nursery.start(resolver.run)
            await nursery.start(memcache.run)
            if watch_dbus:
                await nursery.start(watch_network, resolver.network_changed)
            await nursery.start(
                serve_socket, client_sock, partial(handle_client, resolver=resolver)
            )
            await nursery.start(serve_socket, task_sock, partial(
                handle_tasks, link=link, on_local_change=memcache.flush))
            log.info("listening on %s and %s", cfg.socket_path, cfg.task_socket_path)
            notify("READY=1")
    finally:
        for path in bound:
            path.unlink(missing_ok=True)
        with trio.CancelScope(shield=True):
            await provider.aclose()
        cache.close()
        log.info("stopped")
