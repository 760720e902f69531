"""What a hermit daemon tells its service manager, and how SIGTERM and SIGINT stop it.

hermit-idmd, hermit-unixd and hermit-unixd-tasks all run under systemd (Type=notify): each
sends READY=1 once it serves and STOPPING=1 when a signal asks it to stop.

Rules:
- ``notify`` is sd_notify(3): a no-op outside systemd, and like sd_notify a service manager
  that went away is logged at debug level, never the daemon's failure.
- ``stop_on_signals``: the first SIGTERM or SIGINT is logged (on the caller's logger, so the
  line names the daemon) and sends STOPPING=1. Without a ``shutdown`` event it cancels
  everything at once; with one it sets it, for a daemon that drains its connections first,
  and a second signal cancels everything without waiting for the drain.

``systemd.daemon`` is imported at the first notification, as ``logsetup`` imports the journal
handler: importing this module loads only the standard library and trio.
"""

from __future__ import annotations

import logging
import signal

import trio

_log = logging.getLogger(__name__)


def notify(state: str) -> None:
    """Send ``state`` (``READY=1``, ``STOPPING=1``) to the service manager, if there is one."""
    from systemd import daemon

    try:
        daemon.notify(state)
    except OSError as exc:
        _log.debug("sd_notify %s: %s", state, exc)


async def stop_on_signals(
    everything: trio.CancelScope,
    *,
    log: logging.Logger,
    shutdown: trio.Event | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Stop the daemon on SIGTERM or SIGINT as the module rules say; start it with
    ``nursery.start`` so no signal is missed once the daemon serves."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()
        async for signum in signals:
            name = signal.Signals(signum).name
            if shutdown is not None and shutdown.is_set():
                log.warning("%s again: stopping now", name)
                everything.cancel()
                return
            log.info("%s: shutting down", name)
            notify("STOPPING=1")
            if shutdown is None:
                everything.cancel()
                return
            shutdown.set()
