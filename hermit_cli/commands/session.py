"""``hermit login | logout | whoami``: getting, ending and showing a session.

It does not read passwords itself (``prompt.py``) or run the flow's decisions (``auth.py``).

Rules:
- login stores the token for (url, name) and prints only ``logged in as NAME``;
- logout revokes the session on the server, then forgets the token; a token the server no
  longer accepts (expired or revoked) is forgotten too; with no stored token it is
  ``unchanged``; when the server cannot be reached the token is kept, so logout can be
  retried and no live session is silently left behind;
- logout deals with stored tokens only; an API token from ``HERMIT_TOKEN`` is not ended by it.
"""

from __future__ import annotations

import argparse

from hermit_cli.auth import run_login
from hermit_cli.client import ApiClient
from hermit_cli.context import Context
from hermit_cli.errors import ApiError, UsageError
from hermit_cli.output import WHOAMI_FIELDS
from hermit_cli.parser import Subparsers, add_command
from hermit_cli.prompt import login_credential_asker

# The answers that mean "this token is dead already", so logging out has nothing to revoke.
_DEAD_TOKEN_CODES = frozenset({"token_expired", "token_revoked", "unauthenticated"})


def register(commands: Subparsers) -> None:
    add_command(commands, "login", "log in and keep the session token", login)
    add_command(commands, "logout", "end the session and forget its token", logout)
    add_command(commands, "whoami", "show the account and session in use", whoami)


def login(ctx: Context, args: argparse.Namespace) -> None:
    url, name = ctx.url, ctx.require_name()
    ask = login_credential_asker(ctx.env, ctx.stdin)
    with ctx.anonymous_client() as client:
        token = run_login(client, name, ask)
    ctx.store.save(url, name, token)
    if ctx.out.as_json:
        ctx.out.json({"changed": True, "name": name})
    else:
        ctx.out.line(f"logged in as {name}")


def logout(ctx: Context, args: argparse.Namespace) -> None:
    url, name = ctx.url, ctx.name
    if name is None:
        logged_in = ctx.store.for_url(url)
        if len(logged_in) > 1:
            names = ", ".join(stored.name for stored in logged_in)
            raise UsageError(f"logged in to {url} as {names}: pick one with --name")
        name = logged_in[0].name if logged_in else None
    stored = ctx.store.load(url, name) if name is not None else None
    if stored is None:
        ctx.out.write_result({"changed": False}, "")
        return
    with ApiClient(url, ca=ctx.ca, token=stored.token, transport=ctx.transport) as client:
        try:
            client.logout()
        except ApiError as exc:
            if exc.code not in _DEAD_TOKEN_CODES:
                raise
    ctx.store.remove(url, stored.name)
    ctx.out.write_result({"changed": True}, f"logged out {stored.name}")


def whoami(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        ctx.out.entry(client.whoami(), WHOAMI_FIELDS)
