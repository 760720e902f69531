"""The ``hermit-idmd server`` process: TLS listener, admin socket, signals and readiness.

This module is the trio shell around the identity layer: it binds the sockets, runs hypercorn
(trio worker) with the REST app, the admin socket and (when ``backup_dir`` is set) the
scheduled backups in one nursery, tells systemd when it is ready and shuts down cleanly. It
decides nothing about identities (``idmd/idm`` and ``idmd/https`` do) and reads no
configuration (``idmd/config.py`` did).

Rules (DESIGN.md "Security invariants"):
- HTTPS only: hypercorn gets exactly one socket, which we bound, wrapped in the TLS context
  of ``idmd.certs.make_tls_context`` (TLS 1.2 minimum, ALPN ``http/1.1`` only). There is no
  code path that serves plaintext. Every connection ends with a TLS ``close_notify``
  (``idmd.tls_worker`` runs hypercorn's connection handler for that).
- READY=1 goes to systemd only after both listeners accept connections; the line
  ``listening on https://HOST:PORT`` is logged at the same moment (tests read the port from it).
- SIGTERM or SIGINT: stop accepting, let requests in flight finish (hypercorn's graceful
  timeout), close the admin socket and the database. A second signal stops at once.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
from functools import partial
from typing import cast

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.typing import Framework
from starlette.applications import Starlette

from hermit_common.clock import SystemClock
from hermit_common.memory import pin_mmap_threshold
from hermit_common.service import notify, stop_on_signals
from idmd.admin_socket import AdminTarget, bind_admin_socket, serve_admin_socket
from idmd.backup.schedule import BackupSchedule, run_backup_schedule
from idmd.backup.service import BackupService
from idmd.config import ServerConfig, format_host_port
from idmd.https.app import build_app
from idmd.idm import Idm
from idmd.tls_worker import serve_tls

log = logging.getLogger(__name__)

# How long requests in flight may take to finish after SIGTERM.
GRACEFUL_SECONDS = 5.0


class _HypercornConfig(HypercornConfig):
    """hypercorn's config with our TLS context instead of the one it would build."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        super().__init__()
        self._tls = tls

    def create_ssl_context(self) -> ssl.SSLContext:
        return self._tls


def hypercorn_config(tls: ssl.SSLContext, fd: int, cfg: ServerConfig) -> HypercornConfig:
    config = _HypercornConfig(tls)
    config.bind = [f"fd://{fd}"]
    config.insecure_bind = []
    # hypercorn serves TLS only when both are set; our create_ssl_context ignores the values.
    config.certfile = str(cfg.tls_chain)
    config.keyfile = str(cfg.tls_key)
    config.alpn_protocols = ["http/1.1"]
    config.include_server_header = False
    config.graceful_timeout = GRACEFUL_SECONDS
    config.errorlog = logging.getLogger("hypercorn.error")
    # One log line per request costs a tenth of a cached read and floods the journal on a busy
    # fleet; like SSSD, requests are logged only when debugging.
    config.accesslog = logging.getLogger("hypercorn.access") if cfg.log_level == "debug" else None
    assert config.ssl_enabled  # Invariant: never a plaintext listener.
    return config


def bind_https_socket(host: str, port: int) -> socket.socket:
    """Bind (not yet listen) the TCP socket hypercorn will serve; port 0 picks a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        where = format_host_port(host, port)
        raise OSError(exc.errno, f"cannot listen on {where}: {exc.strerror}") from exc
    return sock


async def serve(cfg: ServerConfig, tls: ssl.SSLContext) -> None:
    """Run the server until SIGTERM or SIGINT.

    Resources: opens the database (whose lock refuses a second process) and both sockets, and
    closes them all before returning.
    """
    pin_mmap_threshold()
    idm = Idm.open(str(cfg.db_path), domain=cfg.domain, origin=cfg.origin, clock=SystemClock())
    try:
        app = build_app(idm)
        admin_sock = bind_admin_socket(cfg.admin_socket_path)
        try:
            await _run_listeners(cfg, tls, app, idm, admin_sock)
        finally:
            cfg.admin_socket_path.unlink(missing_ok=True)
    finally:
        idm.close()
        log.info("database closed")


async def _run_listeners(
    cfg: ServerConfig,
    tls: ssl.SSLContext,
    app: Starlette,
    idm: AdminTarget,
    admin_sock: socket.socket,
) -> None:
    https_sock = bind_https_socket(cfg.bind_host, cfg.bind_port)
    host, port = https_sock.getsockname()[:2]
    shutdown = trio.Event()
    clock = SystemClock()
    backups = BackupService(
        cfg.db_path, domain=cfg.domain, compression=cfg.backup_compression, clock=clock
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(stop_on_signals, nursery.cancel_scope, log=log,
                                    shutdown=shutdown))
        await nursery.start(
            partial(
                serve_admin_socket, admin_sock, idm,
                allowed_uids=frozenset({0, os.geteuid()}), backups=backups,
            )
        )
        if cfg.backup_dir is not None:
            schedule = BackupSchedule(
                cfg.backup_dir, cfg.backup_interval, cfg.backup_keep, cfg.backup_compression
            )
            await nursery.start(run_backup_schedule, schedule, backups, clock)
        config = hypercorn_config(tls, https_sock.detach(), cfg)
        await nursery.start(_serve_https, app, config, shutdown, nursery.cancel_scope)
        log.info("listening on https://%s", format_host_port(host, port))
        log.info("admin socket on %s", cfg.admin_socket_path)
        notify("READY=1")


async def _serve_https(
    app: Starlette,
    config: HypercornConfig,
    shutdown: trio.Event,
    everything: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve HTTPS until ``shutdown``; then stop everything else too."""
    # Starlette's ASGI signature is looser than hypercorn's typed scopes; the protocol is the
    # same ASGI 3.
    asgi = cast(Framework, app)
    try:
        # Not hypercorn.trio.serve: its TLS connections end without close_notify (tls_worker).
        await serve_tls(asgi, config, shutdown_trigger=shutdown.wait, task_status=task_status)
    finally:
        everything.cancel()
