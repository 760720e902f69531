"""The ``hermit-unix`` command: status, cache control and a PAM login test over the client socket.

This module is a blocking client of hermit-unixd's client socket (docs/protocol.md); it uses
the standard library, ``unixd.proto`` and ``unixd.config`` only (no trio, no httpx), so it
starts fast. It decides nothing: unixd answers, this prints.

Commands (DESIGN.md "Entry points")::

    hermit-unix [-c CONFIG] status             server: online|offline, cache counts,
                                               local identities: waiting|received
    hermit-unix [-c CONFIG] cache-invalidate   (root) every entry is refreshed on its next use
    hermit-unix [-c CONFIG] cache-clear --really    (root) forget everything, hashes too
    hermit-unix [-c CONFIG] auth-test --name NAME   a PAM conversation, then the account
                                                    check; exit 0 only if both succeed

``auth-test`` asks each prompt on the terminal (passwords without echo); without a terminal
it answers each prompt with the next line of stdin. Nothing it reads is ever printed.

Exit codes: 0 success; 1 refused, denied or failed; 2 wrong usage or configuration, or no
unixd listening.
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from hermit_common.errors import HermitError
from hermit_common.framesocket import receive_frame
from hermit_common.framing import FrameDecoder, decode_payload
from unixd.config import DEFAULT_CONFIG_PATH, load_config
from unixd.proto import limits
from unixd.proto import messages as m

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# One call may wait for unixd's own request to idmd (request_timeout, at most 60 s) plus an
# Argon2id check; a wedged unixd must still not hang a script forever.
CALL_TIMEOUT_SECONDS = 90.0
AUTH_TEST_SERVICE = "hermit-unix"


class ToolError(Exception):
    """A failure explained by its message; ``exit_code`` says how to exit."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Connection:
    """One connection to the client socket; requests answered in order."""

    def __init__(self, path: Path) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self._sock.settimeout(CALL_TIMEOUT_SECONDS)
        try:
            self._sock.connect(str(path))
        except OSError as exc:
            self._sock.close()
            raise ToolError(f"cannot reach hermit-unixd at {path}: {exc.strerror}",
                            EXIT_USAGE) from exc
        self._decoder = FrameDecoder(limits.MAX_RESPONSE_FRAME_BYTES)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, request: m.Request) -> dict[str, object]:
        """Send ``request``; its response object. Errors: ``ToolError`` for an error frame
        or a broken connection."""
        try:
            self._sock.sendall(m.encode_request(request))
            frame = receive_frame(self._sock, self._decoder)
        except OSError as exc:
            raise ToolError(f"talking to hermit-unixd failed: {exc.strerror or exc}") from exc
        if frame is None:
            raise ToolError("hermit-unixd closed the connection without answering")
        response = decode_payload(frame)
        if response.get("status") == "error":
            raise ToolError(f"hermit-unixd refused {request.OP}: {response.get('error')}: "
                            f"{response.get('detail')}")
        return response


def cmd_status(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    status = m.StatusResponse.from_json(conn.call(m.Status()))
    out.write(f"server: {status.server}\n")
    out.write(f"cached users: {status.cached_users}\n")
    out.write(f"cached groups: {status.cached_groups}\n")
    out.write(f"local identities: {status.local_identities}\n")
    return EXIT_OK


def cmd_cache_invalidate(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    conn.call(m.CacheInvalidate())
    out.write("cache invalidated: every entry is refreshed on its next use\n")
    return EXIT_OK


def cmd_cache_clear(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    if not args.really:
        raise ToolError("cache-clear forgets every cached entry and offline password; "
                        "add --really to do it", EXIT_USAGE)
    conn.call(m.CacheClear())
    out.write("cache cleared\n")
    return EXIT_OK


class _Answers:
    """Answers to prompts: the terminal when there is one, else stdin line by line."""

    def __init__(self, stdin: TextIO) -> None:
        self._stdin = stdin
        self._tty = stdin.isatty()

    def ask(self, prompt: str, echo: bool) -> str:
        if self._tty:
            return input(prompt) if echo else getpass.getpass(prompt)
        line = self._stdin.readline()
        if not line:
            raise ToolError("stdin ended before every prompt was answered")
        return line.rstrip("\n")


def cmd_auth_test(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    answers = _Answers(sys.stdin)
    name = args.name
    init = conn.call(m.PamAuthInit(name=name, service=AUTH_TEST_SERVICE))
    if init.get("status") != "ok":
        out.write(f"auth: {init.get('status')}\n")
        return EXIT_FAILED
    started = m.PamAuthInitResponse.from_json(init)
    prompt, session = started.next, started.session
    while True:
        if isinstance(prompt, m.SuccessPrompt):
            out.write("auth: success\n")
            break
        if isinstance(prompt, m.DeniedPrompt):
            out.write(f"auth: denied ({prompt.reason})\n")
            return EXIT_FAILED
        if isinstance(prompt, m.UnknownPrompt):
            if prompt.reason is not None:
                # A local account (root, ...): its password is pam_unix's, never hermit's.
                out.write(f"auth: unknown ({name} is {prompt.reason})\n")
            else:
                out.write("auth: unknown (not an account hermit can authenticate now)\n")
            return EXIT_FAILED
        if isinstance(prompt, m.TextPrompt):
            out.write(prompt.text + "\n")
            answer = ""
        else:
            answer = answers.ask(prompt.prompt, isinstance(prompt, m.CodePrompt))
        step = conn.call(m.PamAuthStep(session=session, response=answer))
        prompt = m.PamAuthStepResponse.from_json(step).next
    account = conn.call(m.PamAccount(name=name))
    if account.get("status") != "ok":
        out.write(f"account: {account.get('status')}\n")
        return EXIT_FAILED
    result = m.PamAccountResponse.from_json(account)
    reason = f" ({result.reason})" if result.reason else ""
    out.write(f"account: {result.result}{reason}\n")
    return EXIT_OK if result.result == "allowed" else EXIT_FAILED


COMMANDS = {
    "status": cmd_status,
    "cache-invalidate": cmd_cache_invalidate,
    "cache-clear": cmd_cache_clear,
    "auth-test": cmd_auth_test,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hermit-unix", description="Talk to hermit-unixd.")
    parser.add_argument(
        "-c", "--config", type=Path, default=DEFAULT_CONFIG_PATH,
        help=f"unixd's configuration, for socket_path (default: {DEFAULT_CONFIG_PATH})",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="is idmd reachable; how much is cached")
    commands.add_parser("cache-invalidate", help="(root) refresh every entry on its next use")
    clear = commands.add_parser("cache-clear", help="(root) forget every cached entry")
    clear.add_argument("--really", action="store_true", help="yes, forget everything")
    auth = commands.add_parser("auth-test", help="run a PAM login and account check")
    auth.add_argument("--name", required=True, help="the account to log in as")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
    except HermitError as exc:
        print(f"hermit-unix: error: {exc.detail}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with Connection(cfg.socket_path) as conn:
            return COMMANDS[args.command](conn, args, sys.stdout)
    except ToolError as exc:
        print(f"hermit-unix: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except HermitError as exc:
        print(f"hermit-unix: error: hermit-unixd answered badly: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
