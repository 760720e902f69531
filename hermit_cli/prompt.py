"""Where the CLI's secrets come from: the terminal, ``HERMIT_PASSWORD``, or piped stdin.

It does not send anything (``auth.py`` and the commands do). Secrets it reads are returned as
``Secret`` and never echoed.

Rules:
- login: ``HERMIT_PASSWORD`` when set; otherwise ``getpass`` when stdin is a terminal;
  otherwise a ``UsageError`` — login never waits on a pipe that may never deliver;
- a new password (``set-password``): asked twice on a terminal, or the first line of stdin
  without its line ending when stdin is not a terminal; empty is refused.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping
from typing import TextIO

from hermit_cli.errors import UsageError
from hermit_cli.secret import Secret

GetPass = Callable[[str], str]


def login_credential_asker(
    env: Mapping[str, str], stdin: TextIO, ask: GetPass = getpass.getpass
) -> Callable[[str, str], Secret]:
    """An ``ask(method, name)`` for ``auth.run_login``."""

    def answer(method: str, name: str) -> Secret:
        if method != "password":
            raise UsageError(f"cannot answer login method {method!r}")
        from_env = env.get("HERMIT_PASSWORD")
        if from_env:
            return Secret(from_env)
        if not stdin.isatty():
            raise UsageError("no terminal to ask for the password: set HERMIT_PASSWORD")
        return Secret(ask(f"password for {name}: "))

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
