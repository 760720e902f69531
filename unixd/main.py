"""The ``hermit-unixd`` command: options, the root check, logging, then the trio server.

This module parses the command line, loads ``unixd.toml`` and starts ``unixd.server.serve``;
it decides nothing about identities. Implements DESIGN.md "Entry points" (``hermit-unixd
[--allow-root]``) and "Security invariants" (unixd refuses to run as root unless an explicit
test flag says so).

Usage: ``hermit-unixd [-c PATH] [--allow-root] [--configtest] [--debug]``.

Exit codes: 0 clean stop (SIGTERM) or a good ``--configtest``; 1 the daemon failed at run
time (a socket or the cache could not be used); 2 wrong usage, configuration or user.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
from collections.abc import Sequence
from pathlib import Path

from hermit_common import logsetup
from hermit_common.errors import HermitError
from unixd.config import DEFAULT_CONFIG_PATH, load_config

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

SYSLOG_IDENTIFIER = "hermit-unixd"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hermit-unixd", description="hermit's per-host caching resolver."
    )
    parser.add_argument(
        "-c", "--config", type=Path, default=DEFAULT_CONFIG_PATH,
        help=f"the configuration file (default: {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument(
        "--allow-root", action="store_true",
        help="run even as root (for tests and containers only; never in production)",
    )
    parser.add_argument(
        "--configtest", action="store_true",
        help="check the configuration, print the values in force and exit",
    )
    parser.add_argument("--debug", action="store_true", help="log at debug level")
    return parser


def setup_logging(debug: bool) -> None:
    """The journal under systemd, else one plain line per record (``hermit_common.logsetup``)."""
    logsetup.setup_logging("debug" if debug else "info", SYSLOG_IDENTIFIER)
    # httpx logs every request at info and httpcore every socket step at debug; what unixd
    # asks of idmd is logged by unixd itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def _raise_fd_limit() -> None:
    # Every client connection is a descriptor; the soft limit (often 1024) is raised to the
    # hard one so a burst of clients queues in accept() instead of failing it.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _error(message: str) -> None:
    print(f"hermit-unixd: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
    except HermitError as exc:
        _error(exc.detail)
        return EXIT_USAGE
    if args.configtest:
        sys.stdout.write(cfg.render())
        return EXIT_OK
    if os.geteuid() == 0 and not args.allow_root:
        _error("refusing to run as root: run as the hermit-unixd user (--allow-root is for "
               "tests and containers)")
        return EXIT_USAGE
    setup_logging(args.debug)
    _raise_fd_limit()
    import trio

    from unixd.server import serve

    try:
        trio.run(serve, cfg)
    except HermitError as exc:
        _error(exc.detail)
        return EXIT_FAILED
    except OSError as exc:
        _error(str(exc.strerror or exc) if not exc.filename else f"{exc.filename}: {exc.strerror}")
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
