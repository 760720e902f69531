"""The ``hermit-idmd`` command: argument parsing and one function per subcommand.

This module parses the command line, loads the configuration and dispatches; the work is done
elsewhere (``serve``, ``certs``, ``admin_socket``, ``idm``). Implements DESIGN.md "Entry
points": ``hermit-idmd SUBCOMMAND -c CONFIG`` with ``server``, ``configtest``,
``cert-generate``, ``recover-account NAME``, ``backup PATH``, ``restore PATH`` and
``healthcheck``; ``verify`` is left out of ``--help`` (an operator's repair tool, documented in
docs/server.md). Backups are described in docs/backups.md.

Exit codes: 0 success; 1 the operation failed (unhealthy, problems found, the server failed);
2 wrong usage or configuration (one line on stderr saying what and where).

Rules: a password is printed only by ``recover-account``, only on stdout, only on its
``password: VALUE`` line; no other output or log line carries it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import trio

from hermit_common.clock import SystemClock
from hermit_common.configfile import ConfigError
from hermit_common.errors import HermitError
from idmd.admin_socket import AdminSocketUnavailable, admin_request
from idmd.backup.format import COMPRESSIONS
from idmd.certs import TlsFilesError, make_tls_context
from idmd.config import DEFAULT_CONFIG_PATH, ServerConfig, load_config

if TYPE_CHECKING:
    from idmd.idm import Idm

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
HEALTHCHECK_TIMEOUT_SECONDS = 5.0
# A backup through the running server answers when the file is written: minutes for a large
# directory on a slow disk, so the admin socket's usual 60 s would give up too early.
BACKUP_TIMEOUT_SECONDS = 3600.0
PUBLIC_COMMANDS = (
    "{server,configtest,cert-generate,recover-account,backup,restore,healthcheck}"
)



class CommandFailed(Exception):
    """A subcommand failed in a way already explained by its message (exit 1)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hermit-idmd", description="hermit's identity server.")
    _add_config_option(parser, DEFAULT_CONFIG_PATH)
    # -c is accepted after the subcommand too; there it must not reset an earlier -c.
    common = argparse.ArgumentParser(add_help=False)
    _add_config_option(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar=PUBLIC_COMMANDS)
    commands.add_parser(
        "server", parents=[common], help="run the server (HTTPS and the admin socket)"
    )
    commands.add_parser(
        "configtest", parents=[common], help="check the configuration and print its values"
    )
    cert = commands.add_parser(
        "cert-generate", parents=[common],
        help="write a new CA (ca.pem beside tls_chain), tls_chain and tls_key",
    )
    cert.add_argument("--force", action="store_true", help="replace existing files")
    recover = commands.add_parser(
        "recover-account", parents=[common],
        help="give an account a new random password and print it",
    )
    recover.add_argument("name", help="the account, e.g. admin or idm_admin")
    backup = commands.add_parser(
        "backup", parents=[common],
        help="write a backup of the database to PATH (0600; consistent while the server runs)",
    )
    backup.add_argument("path", type=Path, help="the backup file to write")
    backup.add_argument(
        "--compression", choices=COMPRESSIONS,
        help="gzip or lzma (default: backup_compression from the configuration)",
    )
    backup.add_argument("--force", action="store_true", help="replace an existing file")
    restore = commands.add_parser(
        "restore", parents=[common],
        help="replace the database with a checked backup (the server must be stopped)",
    )
    restore.add_argument("path", type=Path, help="the backup file to restore")
    health = commands.add_parser(
        "healthcheck", parents=[common],
        help="GET /status over TLS; exit 0 when the server answers ok",
    )
    health.add_argument(
        "--url", help="the server's base URL (default: origin from the configuration)"
    )
    commands.add_parser("verify", parents=[common])
    return parser


def _add_config_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-c", "--config", type=Path, default=default,
        help=f"the server's configuration file (default: {DEFAULT_CONFIG_PATH})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = COMMANDS[args.command]
    try:
        cfg = load_config(args.config)
        return handler(cfg, args)
    except HermitError as exc:
        _error(exc.detail)
        # Configuration and TLS files are the operator's to fix before anything can run.
        return EXIT_USAGE if isinstance(exc, ConfigError | TlsFilesError) else EXIT_FAILED
    except CommandFailed as exc:
        _error(str(exc))
        return EXIT_FAILED
    except OSError as exc:
        _error(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc.strerror or exc))
        return EXIT_FAILED


def _error(message: str) -> None:
    print(f"hermit-idmd: error: {message}", file=sys.stderr)


def cmd_server(cfg: ServerConfig, args: argparse.Namespace) -> int:
    from hermit_common.logsetup import setup_logging

    setup_logging(cfg.log_level)
    tls = make_tls_context(cfg.tls_chain, cfg.tls_key, cfg.source)
    # Imported here: the other subcommands should not pay for hypercorn and the REST app.
    from idmd.serve import serve

    trio.run(serve, cfg, tls)
    return EXIT_OK


def cmd_configtest(cfg: ServerConfig, args: argparse.Namespace) -> int:
    # The values are paths, addresses and names: none is a secret (the key is only a path).
    for key, value in cfg.effective_values():
        print(f"{key} = {json.dumps(value)}")
    return EXIT_OK


def cmd_cert_generate(cfg: ServerConfig, args: argparse.Namespace) -> int:
    from idmd.certs import CertPaths, generate

    paths = CertPaths(chain=cfg.tls_chain, key=cfg.tls_key, ca=cfg.ca_path)
    generate(paths, cfg.origin_host, SystemClock().now(), force=args.force)
    print(f"wrote {paths.chain}, {paths.key} (0600) and the CA {paths.ca}")
    print(f"give {paths.ca} to every client (hermit --ca, HERMIT_CA, unixd's ca_path)")
    return EXIT_OK


def cmd_recover_account(cfg: ServerConfig, args: argparse.Namespace) -> int:
    request = {"op": "recover_account", "name": args.name}
    try:
        reply = _ask_server(cfg, request)
    except AdminSocketUnavailable:
        secret, ended = _offline(cfg, lambda idm: trio.run(idm.recover_account, args.name))
        password = secret.reveal()
    else:
        password = str(reply["password"])
        raw = reply.get("sessions_ended")
        ended = raw if isinstance(raw, int) else 0
    print(f"password: {password}")
    # Said only when something ended, so "password: " stays the one line otherwise.
    if ended:
        print(f"sessions ended: {ended}")
    return EXIT_OK


def cmd_verify(cfg: ServerConfig, args: argparse.Namespace) -> int:
    try:
        reply = _ask_server(cfg, {"op": "verify"})
    except AdminSocketUnavailable:
        problems = _offline(cfg, lambda idm: idm.verify())
    else:
        raw = reply.get("problems")
        problems = [str(item) for item in raw] if isinstance(raw, list) else []
    for problem in problems:
        print(problem)
    if problems:
        return EXIT_FAILED
    print("verify: no problems found")
    return EXIT_OK


def cmd_backup(cfg: ServerConfig, args: argparse.Namespace) -> int:
    # Absolute, for the server's sake, but not resolved: the last component is never followed.
    dest = Path(os.path.abspath(args.path))
    request: dict[str, object] = {"op": "backup", "path": str(dest), "replace": args.force}
    if args.compression:
        request["compression"] = args.compression
    try:
        reply = _ask_server(cfg, request, timeout=BACKUP_TIMEOUT_SECONDS)
    except AdminSocketUnavailable:
        from idmd.backup.snapshot import make_backup

        if not cfg.db_path.exists():
            raise CommandFailed(f"{cfg.db_path}: no database to back up") from None
        info = _offline(
            cfg,
            lambda idm: make_backup(
                cfg.db_path, dest, domain=cfg.domain,
                compression=args.compression or cfg.backup_compression,
                now=SystemClock().now(), replace=args.force,
            ),
        )
        print(f"wrote {info.summary()}")
    else:
        print(
            f"wrote {reply['path']}: {reply['entries']} entries, {reply['bytes']} bytes "
            f"({reply['compression']}), taken at {reply['created_at']} by the running server"
        )
    return EXIT_OK


def cmd_restore(cfg: ServerConfig, args: argparse.Namespace) -> int:
    from idmd.backup.restore import restore_backup

    _check_owner(cfg)
    info = restore_backup(args.path, cfg.db_path, domain=cfg.domain, clock=SystemClock())
    print(info.summary())
    return EXIT_OK


def cmd_healthcheck(cfg: ServerConfig, args: argparse.Namespace) -> int:
    import ssl

    import httpx

    url = (args.url or cfg.origin).rstrip("/") + "/status"
    # Pinned to our own CA when cert-generate made one; else the system's trust store (a
    # certificate from a public CA).
    verify = (
        ssl.create_default_context(cafile=str(cfg.ca_path))
        if cfg.ca_path.exists()
        else ssl.create_default_context()
    )
    try:
        response = httpx.get(url, verify=verify, timeout=HEALTHCHECK_TIMEOUT_SECONDS)
        healthy = response.status_code == 200 and response.json() == {"status": "ok"}
        detail = f"HTTP {response.status_code}"
    except (httpx.HTTPError, ValueError) as exc:
        healthy, detail = False, f"{type(exc).__name__}: {exc}"
    if not healthy:
        raise CommandFailed(f"{url}: unhealthy ({detail})")
    print(f"{url}: ok")
    return EXIT_OK


def _ask_server(
    cfg: ServerConfig, request: dict[str, object], *, timeout: float = 60.0
) -> dict[str, object]:
    """One request through the running server's admin socket; a refusal is ``CommandFailed``."""
    reply = admin_request(cfg.admin_socket_path, request, timeout=timeout)
    if reply.get("status") != "ok":
        raise CommandFailed(f"the server refused: {reply.get('detail', reply.get('error'))}")
    return reply


def _offline(cfg: ServerConfig, work: Callable[[Idm], T]) -> T:
    """Run ``work`` on the database directly, when no server listens on the admin socket.

    The database's own lock refuses this while a server holds the file. A process of another
    user (typically root) must not open it: it would leave WAL files the service user cannot
    write.
    """
    from idmd.idm import Idm

    _check_owner(cfg)
    idm = Idm.open(str(cfg.db_path), domain=cfg.domain, origin=cfg.origin, clock=SystemClock())
    try:
        return work(idm)
    finally:
        idm.close()


def _check_owner(cfg: ServerConfig) -> None:
    try:
        owner = cfg.db_path.stat().st_uid
    except FileNotFoundError:
        owner = os.geteuid()
    if owner != os.geteuid():
        raise CommandFailed(
            f"{cfg.db_path} belongs to uid {owner}; run this as that user "
            f"(e.g. runuser -u hermit-idmd -- hermit-idmd ...)"
        )


COMMANDS: dict[str, Callable[[ServerConfig, argparse.Namespace], int]] = {
    "server": cmd_server,
    "configtest": cmd_configtest,
    "cert-generate": cmd_cert_generate,
    "recover-account": cmd_recover_account,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "healthcheck": cmd_healthcheck,
    "verify": cmd_verify,
}
