"""``hermit service-account api-token …``: create, list and destroy a service account's tokens.

It does not format (``output.py``) or parse WHEN (``when.py``). ``create`` is the one command
here that prints a secret, on purpose, as ``token: VALUE`` (after ``id: TOKEN_ID``, which
``destroy`` takes); the server shows a token only in that one answer.

Implements DESIGN.md "Entry points" (``hermit service-account api-token``) over docs/api.md
"API tokens"; docs/api-tokens.md is the guide.
"""

from __future__ import annotations

import argparse

from hermit_cli.context import Context
from hermit_cli.errors import TransportError
from hermit_cli.output import Column
from hermit_cli.parser import Subparsers, add_command, add_group
from hermit_cli.when import parse_when

API_TOKEN_COLUMNS = [
    Column("ID", lambda t: t.get("id")),
    Column("LABEL", lambda t: t.get("label")),
    Column("SCOPE", lambda t: t.get("scope")),
    Column("ISSUED_AT", lambda t: t.get("issued_at")),
    Column("EXPIRES_AT", lambda t: t.get("expires_at") or "never"),
]


def register(account: Subparsers) -> None:
    """Add ``api-token`` under ``service-account``."""
    tokens = add_group(account, "api-token", "manage a service account's API tokens")

    create = add_command(tokens, "create", "create an API token and print it once", create_token)
    create.add_argument("account", metavar="NAME")
    create.add_argument("label", metavar="LABEL")
    create.add_argument(
        "--expiry", metavar="WHEN", help="when the token stops working (default: never)"
    )
    create.add_argument(
        "--read-write", action="store_true", help="the token may write (default: read-only)"
    )

    listing = add_command(tokens, "list", "list the API tokens (never the tokens)", list_tokens)
    listing.add_argument("account", metavar="NAME")

    destroy = add_command(tokens, "destroy", "destroy an API token at once", destroy_token)
    destroy.add_argument("account", metavar="NAME")
    destroy.add_argument("token_id", metavar="TOKEN_ID")


def create_token(ctx: Context, args: argparse.Namespace) -> None:
    expires_at = parse_when(args.expiry, ctx.now()) if args.expiry is not None else None
    with ctx.client() as client:
        response = client.create_api_token(
            args.account, args.label, read_write=args.read_write, expires_at=expires_at
        )
    token, record = response.get("token"), response.get("api_token")
    if not isinstance(token, str) or not token or not isinstance(record, dict):
        raise TransportError("bad_response", "the server's answer holds no API token")
    if ctx.out.as_json:
        ctx.out.json(response)
        return
    ctx.out.line(f"id: {record.get('id')}")
    ctx.out.secret_line("token", token)


def list_tokens(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        tokens = client.list_api_tokens(args.account)
    ctx.out.table({"api_tokens": tokens}, tokens, API_TOKEN_COLUMNS)


def destroy_token(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.destroy_api_token(args.account, args.token_id)
    ctx.out.write_result(response, f"destroyed API token {args.token_id}")
