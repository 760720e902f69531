"""``hermit login | logout | whoami | reauth``, ``hermit session list | destroy`` and
``hermit person credential unlock``: getting, ending, showing and renewing sessions.

It does not read passwords itself (``prompt.py``) or run the flow's decisions (``auth.py``).

Rules:
- login stores the token for (url, name) and prints only ``logged in as NAME``;
- reauth re-authenticates the session in use (the same credentials as login, TOTP first) and
  prints until when it may write; the token stays the same;
- ``session list`` shows the account's own sessions, ``*`` marking the one in use;
  ``session destroy`` ends one (its token stops at once) and is ``unchanged`` for an unknown
  or already ended id; ending the session in use also forgets its stored token, like logout;
- logout revokes the session on the server, then forgets the token; a token the server no
  longer accepts (expired or revoked) is forgotten too; with no stored token it is
  ``unchanged``; when the server cannot be reached the token is kept, so logout can be
  retried and no live session is silently left behind;
- a token the server has no session of (an anonymous token, which stays valid until it
  expires) is forgotten, and the output says it was not ended (``revoked: false``);
- logout deals with stored tokens only; an API token from ``HERMIT_TOKEN`` is not ended by it.
"""

from __future__ import annotations

import argparse

from hermit_cli.auth import run_login, run_reauth
from hermit_cli.client import ApiClient
from hermit_cli.context import Context
from hermit_cli.errors import ApiError
from hermit_cli.output import WHOAMI_FIELDS, Column
from hermit_cli.parser import Subparsers, add_command, add_group
from hermit_cli.prompt import login_credential_asker

# The answers that mean "this token is dead already", so logging out has nothing to revoke.
_DEAD_TOKEN_CODES = frozenset({"token_expired", "token_revoked", "unauthenticated"})


def register(commands: Subparsers) -> None:
    add_command(commands, "login", "log in and keep the session token", login)
    add_command(commands, "logout", "end the session and forget its token", logout)
    add_command(commands, "whoami", "show the account and session in use", whoami)
    add_command(
        commands, "reauth", "log in again to write for a short privilege window", reauth
    )
    sessions = add_group(commands, "session", "the sessions of the account in use")
    add_command(sessions, "list", "list the account's own sessions", list_sessions)
    destroy = add_command(sessions, "destroy", "end one session at once", destroy_session)
    destroy.add_argument("session_id", metavar="SESSION_ID")


def register_unlock(credential: Subparsers) -> None:
    """``hermit person credential unlock NAME`` (the ``credential`` group is person.py's)."""
    unlock = add_command(
        credential, "unlock", "lift the lockout of a person's credentials", unlock_credentials
    )
    unlock.add_argument("account", metavar="NAME")


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
    url = ctx.url
    stored = ctx.stored_token()
    if stored is None:
        ctx.out.write_result({"changed": False}, "")
        return
    revoked = True  # a token the server no longer accepts is as good as ended
    with ApiClient(url, ca=ctx.ca, token=stored.token, transport=ctx.transport) as client:
        try:
            revoked = client.logout().get("changed") is not False
        except ApiError as exc:
            if exc.code not in _DEAD_TOKEN_CODES:
                raise
    ctx.store.remove(url, stored.name)
    if revoked:
        confirmation = f"logged out {stored.name}"
    else:
        confirmation = (
            f"forgot the token of {stored.name}; the server ended no session: an anonymous "
            f"token stays valid until it expires"
        )
    # ``changed``: the token is gone from this machine; ``revoked``: the server ended it.
    ctx.out.write_result({"changed": True, "revoked": revoked}, confirmation)


def whoami(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        ctx.out.entry(client.whoami(), WHOAMI_FIELDS)


def reauth(ctx: Context, args: argparse.Namespace) -> None:
    ask = login_credential_asker(ctx.env, ctx.stdin)
    with ctx.client() as client:
        name = ctx.name or str(client.whoami().get("name", ""))
        until = run_reauth(client, name, ask)
    if ctx.out.as_json:
        ctx.out.json({"changed": True, "privileged_until": until})
    else:
        ctx.out.line(f"privileged until {until}")


SESSION_COLUMNS = [
    Column("", lambda s: "*" if s.get("current") else ""),
    Column("ID", lambda s: s.get("id")),
    Column("SCOPE", lambda s: s.get("scope")),
    Column("ISSUED", lambda s: s.get("issued_at")),
    Column("EXPIRES", lambda s: s.get("expires_at")),
    Column("PRIVILEGED UNTIL", lambda s: s.get("privileged_until")),
]


def list_sessions(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        rows = client.list_sessions()
    ctx.out.table({"sessions": rows}, rows, SESSION_COLUMNS)


def destroy_session(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        me = client.whoami()
        response = client.destroy_session(args.session_id)
    # Ending the session in use is a logout: its stored token is dead, so it is forgotten.
    if me.get("session_id") == args.session_id and not ctx.env.get("HERMIT_TOKEN"):
        ctx.store.remove(ctx.url, str(me.get("name", "")))
    ctx.out.write_result(response, f"destroyed session {args.session_id}")


def unlock_credentials(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.unlock_credentials(args.account)
    ctx.out.write_result(response, f"unlocked the credentials of {args.account}")
