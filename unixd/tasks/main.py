"""The ``hermit-unixd-tasks`` command: options, the root check, logging, then the task link.

This module parses the command line, refuses to run as anyone but root, loads ``unixd.toml``
and runs ``unixd.tasks.link.run_link`` until SIGTERM; it decides nothing itself. Implements
DESIGN.md "Processes" (hermit-unixd-tasks runs as root, connects into the task socket) and
"Entry points" (it reads ``/etc/hermit/unixd.toml``).

Usage: ``hermit-unixd-tasks [-c PATH] [--debug]``.

Under systemd (``Type=notify``) READY=1 is sent once the identity files are watched, not when
unixd answers: the tasks daemon is ready to serve as soon as unixd appears.

Exit codes: 0 clean stop (SIGTERM/SIGINT); 1 failed at run time (inotify unusable);
2 wrong usage, configuration or user.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import trio

from hermit_common import logsetup
from hermit_common.errors import HermitError
from hermit_common.service import notify, stop_on_signals
from unixd.config import DEFAULT_CONFIG_PATH, load_config
from unixd.tasks.link import TaskSettings, run_link

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

SYSLOG_IDENTIFIER = "hermit-unixd-tasks"

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hermit-unixd-tasks",
        description="hermit's root helper: creates home directories, feeds /etc files to unixd.",
    )
    parser.add_argument(
        "-c", "--config", type=Path, default=DEFAULT_CONFIG_PATH,
        help=f"the configuration file (default: {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument("--debug", action="store_true", help="log at debug level")
    return parser


def setup_logging(debug: bool) -> None:
    """The journal under systemd, else one plain line per record (``hermit_common.logsetup``)."""
    logsetup.setup_logging("debug" if debug else "info", SYSLOG_IDENTIFIER)


def _error(message: str) -> None:
    print(f"hermit-unixd-tasks: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if os.geteuid() != 0:
        _error("must run as root: it creates home directories for every account")
        return EXIT_USAGE
    try:
        cfg = load_config(args.config)
    except HermitError as exc:
        _error(exc.detail)
        return EXIT_USAGE
    setup_logging(args.debug)
    settings = TaskSettings(socket_path=cfg.task_socket_path, home_prefix=cfg.home_prefix)
    failed = False
    try:
        trio.run(serve, settings)
    except* OSError as group:
        for failure in group.exceptions:
            reason = getattr(failure, "strerror", None) or failure
            _error(f"cannot watch the identity files: {reason}")
        failed = True
    return EXIT_FAILED if failed else EXIT_OK


async def serve(settings: TaskSettings) -> None:
    """Run the task link until SIGTERM or SIGINT; READY=1 once the files are watched."""
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(stop_on_signals, nursery.cancel_scope, log=log))
        await nursery.start(run_link, settings)
        notify("READY=1")
        log.info("watching %s; unixd's task socket is %s",
                 ", ".join(str(path) for path in settings.files.all()), settings.socket_path)


if __name__ == "__main__":
    sys.exit(main())
