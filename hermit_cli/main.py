"""The ``hermit`` command: builds the command tree, runs one command, reports its outcome.

It does not implement commands (``commands/``) or talk HTTP (``client.py``). It is the only
place that prints an error.

Rules:
- every failure is ONE line on stderr, ``hermit: <detail> (<code>)``, and exit status 1
  (2 for a usage error); no traceback, whatever went wrong with the network or TLS;
- the order in which nouns are registered below is the order ``hermit --help`` lists them.

Implements DESIGN.md "Entry points", ``hermit``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TextIO

import httpx

from hermit_cli.commands import credential, group, person, service_account, session, system
from hermit_cli.context import Context, GlobalOptions
from hermit_cli.errors import EXIT_FAILURE, EXIT_OK, ApiError, HermitError
from hermit_cli.output import Output
from hermit_cli.parser import HermitArgumentParser, build_root
from hermit_cli.tokens import TokenStore, default_root

# 128 + SIGINT, what shells report for a command stopped with Ctrl-C.
EXIT_INTERRUPTED = 130


def build_parser() -> HermitArgumentParser:
    parser, commands = build_root()
    session.register(commands)
    person.register(commands)
    group.register(commands)
    service_account.register(commands)
    credential.register(commands)
    system.register(commands)
    return parser


# A token the server no longer takes: the fix is to log in again, so the line says so.
_LOGIN_AGAIN_CODES = frozenset({"unauthenticated", "token_expired", "token_revoked"})


def _error_line(exc: HermitError) -> str:
    detail = " ".join(exc.detail.split())
    if isinstance(exc, ApiError) and exc.code in _LOGIN_AGAIN_CODES:
        detail += "; run hermit login"
    return f"hermit: {detail} ({exc.code})\n"


def run(
    argv: list[str],
    *,
    env: Mapping[str, str],
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    store: TokenStore | None = None,
    transport: httpx.BaseTransport | None = None,
    now: Callable[[], datetime] | None = None,
) -> int:
    """Run one ``hermit`` command line; returns the exit status.

    ``store``, ``transport`` and ``now`` are seams for tests; by default the token store is
    under ``$XDG_CACHE_HOME/hermit``, the transport is real HTTPS and now is the wall clock.
    """
    try:
        args = build_parser().parse_args(argv)
        ctx = Context(
            options=GlobalOptions(url=args.url, ca=args.ca, name=args.name, as_json=args.json),
            env=env,
            out=Output(stdout, as_json=args.json),
            store=store if store is not None else TokenStore(default_root(env)),
            stdin=stdin,
            now=now if now is not None else lambda: datetime.now(UTC),
            transport=transport,
        )
        args.run(ctx, args)
    except HermitError as exc:
        stderr.write(_error_line(exc))
        return exc.exit_status
    except OSError as exc:
        # The token store or a terminal failed locally; say which file, never its contents.
        where = f": {exc.filename}" if exc.filename else ""
        stderr.write(f"hermit: {exc.strerror or exc}{where} (os_error)\n")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        stderr.write("hermit: interrupted (interrupted)\n")
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        # argparse's --help; usage errors are raised as UsageError by the parser.
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    return EXIT_OK


def main() -> int:
    return run(
        sys.argv[1:], env=os.environ, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr
    )
