"""hypercorn's trio worker for idmd's one TLS socket, whose connections end with ``close_notify``.

``hypercorn.trio.serve`` wraps every TLS listener in ``trio.SSLListener(...,
https_compatible=True)``: trio then closes a connection by closing the TCP stream alone, with
no ``close_notify`` alert (hypercorn 0.18, ``hypercorn/trio/run.py``). A client cannot tell
such an end from a truncation, and Python's ``ssl`` reports it as an error ("EOF occurred in
violation of protocol", or ``UNEXPECTED_EOF_WHILE_READING``) on an idle keep-alive
connection, after ``Connection: close`` and after a refused body. RFC 8446 section 6.1: "Each
party MUST send a "close_notify" alert before closing its write side of the connection".

This module runs the same parts hypercorn's ``worker_serve`` runs (the ASGI lifespan, one
``TCPServer`` per connection, the graceful shutdown) over listeners made with
``https_compatible=False``, so trio sends ``close_notify`` before every close (and takes a
client's TCP close without one as the end of that connection, which hypercorn handles as
any broken connection). It serves only the TLS sockets of ``config.bind``: no plaintext, no
QUIC, no ``max_requests`` (idmd configures none of them).

Cancellation: as ``hypercorn.trio.serve``: ``shutdown_trigger`` returning starts the graceful
shutdown (``config.graceful_timeout``); cancelling the caller stops at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

import trio
from hypercorn.config import Config
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.statsd import StatsdLogger
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState, Framework, LifespanState
from hypercorn.utils import ShutdownError, raise_shutdown, repr_socket_addr, wrap_app

log = logging.getLogger(__name__)


async def serve_tls(
    app: Framework,
    config: Config,
    *,
    shutdown_trigger: Callable[[], Awaitable[object]],
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on the TLS sockets of ``config.bind`` until ``shutdown_trigger`` returns.

    ``task_status.started`` gets the ``https://`` addresses once the listeners accept.
    """
    assert config.ssl_enabled  # Invariant: never a plaintext listener.
    config.set_statsd_logger_class(StatsdLogger)
    asgi = wrap_app(app, config.wsgi_max_body_size, "asgi")
    lifespan_state: LifespanState = {}
    lifespan = Lifespan(asgi, config, lifespan_state)
    context = WorkerContext(None)
    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as server_nursery:
            sockets = config.create_sockets()
            tls = config.create_ssl_context()
            assert tls is not None  # ssl_enabled: hypercorn builds one (idmd passes its own)
            listeners = []
            binds = []
            for sock in sockets.secure_sockets:
                sock.listen(config.backlog)
                listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
                # The one difference from hypercorn's worker: close_notify on every close.
                listeners.append(trio.SSLListener(listener, tls, https_compatible=False))
                binds.append(f"https://{repr_socket_addr(sock.family, sock.getsockname())}")
            task_status.started(binds)
            state = ConnectionState(lifespan_state.copy())

            async def handler(stream: trio.SSLStream[trio.SocketStream]) -> None:
                # A connection's failure is its own: trio.serve_listeners would let it end
                # the whole server. With close_notify, closing a connection whose peer has
                # already gone raises (the alert cannot be sent): that is the end of it.
                try:
                    await TCPServer(asgi, config, context, state, stream)
                except* (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
                except* Exception:
                    log.exception("a TLS connection failed")

            try:
                async with trio.open_nursery(strict_exception_groups=True) as nursery:
                    nursery.start_soon(raise_shutdown, shutdown_trigger)
                    nursery.start_soon(raise_shutdown, context.terminate.wait)
                    nursery.start_soon(
                        partial(
                            trio.serve_listeners,
                            handler,
                            listeners,
                            handler_nursery=server_nursery,
                        )
                    )
                    await trio.sleep_forever()
            except BaseExceptionGroup as error:
                _, other_errors = error.split((ShutdownError, KeyboardInterrupt))
                if other_errors is not None:
                    raise other_errors from None
            finally:
                await context.terminated.set()
                deadline = trio.current_time() + config.graceful_timeout
                server_nursery.cancel_scope.deadline = deadline
        await lifespan.wait_for_shutdown()
        lifespan_nursery.cancel_scope.cancel()
