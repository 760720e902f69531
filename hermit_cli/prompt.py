"""Where the CLI's secrets come from: the terminal, ``HERMIT_PASSWORD``/``HERMIT_TOTP``/
``HERMIT_BACKUP_CODE``, or piped stdin.

It does not send anything (``auth.py`` and the commands do). Secrets it reads are returned as
``Secret`` and never echoed.

Rules:
- login: ``HERMIT_PASSWORD`` when set; otherwise ``getpass`` when stdin is a terminal;
  otherwise a ``UsageError`` — login never waits on a pipe that may never deliver;
- the second factor (``auth.CODE``): ``HERMIT_TOTP`` when set, else ``HERMIT_BACKUP_CODE``
  (a backup code is single use, so it is spent only when no TOTP code is given), else one
  prompt on a terminal that takes either, else a ``UsageError`` naming ``HERMIT_TOTP``;
- a new password (``set-password``): asked twice on a terminal, or the first line of stdin
  without its line ending when stdin is not a terminal; empty is refused.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping
from typing import TextIO

from hermit_cli.auth import CODE
from hermit_cli.errors import UsageError
from hermit_common.secret import Secret

GetPass = Callable[[str], str]


def login_credential_asker(
    env: Mapping[str, str], stdin: TextIO, ask: GetPass = getpass.getpass
) -> Callable[[str, str], Secret]:
    """An ``ask(method, name)`` for ``auth.run_login``."""

    def answer(method: str, name: str) -> Secret:
        if method == CODE:
            return _code(name)
        if method != "password":
            raise UsageError(f"cannot answer login method {method!r}")
        from_env = env.get("HERMIT_PASSWORD")
        if from_env:
            return Secret(from_env)
        if not stdin.isatty():
            raise UsageError("no terminal to ask for the password: set HERMIT_PASSWORD")
        return Secret(ask(f"password for {name}: "))

    def _code(name: str) -> Secret:
        from_env = env.get("HERMIT_TOTP") or env.get("HERMIT_BACKUP_CODE")
        if from_env:
            return Secret(from_env.strip())
        if not stdin.isatty():
            raise UsageError(
                "no terminal to ask for the TOTP code: set HERMIT_TOTP (or HERMIT_BACKUP_CODE)"
            )
        return Secret(ask(f"TOTP code for {name} (or a backup code): ").strip())

    return answer


def read_new_password(stdin: TextIO, ask: GetPass = getpass.getpass) -> Secret:
    """The password to set: prompted twice on a terminal, else the first line of stdin.

    Errors: ``UsageError`` when it is empty or the two entries differ.
    """
    if stdin.isatty():
        first = ask("new password: ")
        if first != ask("new password again: "):
            raise UsageError("the two passwords differ")
        value = first
    else:
        value = stdin.readline().removesuffix("\n").removesuffix("\r")
    if not value:
        raise UsageError("empty password: give it on stdin (one line)")
    return Secret(value)
