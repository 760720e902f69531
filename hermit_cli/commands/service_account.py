"""``hermit service-account …``: accounts for machines and scripts, and their passwords.

It does not format (``output.py``). ``generate-password`` is the one command that prints a
secret, on purpose, as ``password: VALUE``.

Implements DESIGN.md "Entry points" (``hermit service-account``) over docs/api.md
"Service accounts".
"""

from __future__ import annotations

import argparse

from hermit_cli.commands import api_token
from hermit_cli.context import Context
from hermit_cli.errors import TransportError
from hermit_cli.output import ACCOUNT_COLUMNS, SERVICE_ACCOUNT_FIELDS
from hermit_cli.parser import Subparsers, add_command, add_group

KIND = "service_account"


def register(commands: Subparsers) -> None:
    account = add_group(commands, "service-account", "manage service accounts")

    create = add_command(account, "create", "create a service account", create_account)
    create.add_argument("account", metavar="NAME")
    create.add_argument("--display-name", required=True, metavar="TEXT")
    create.add_argument("--managed-by", required=True, metavar="GROUP")

    get = add_command(account, "get", "show a service account", get_account)
    get.add_argument("account", metavar="NAME")
    delete = add_command(account, "delete", "delete a service account", delete_account)
    delete.add_argument("account", metavar="NAME")
    add_command(account, "list", "list service accounts", list_accounts)

    generate = add_command(
        account, "generate-password", "set and print a new generated password", generate_password
    )
    generate.add_argument("account", metavar="NAME")

    api_token.register(account)


def create_account(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.create_service_account(args.account, args.display_name, args.managed_by)
    ctx.out.write_result(response, f"created service account {args.account}")


def get_account(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        ctx.out.entry(client.get_account(KIND, args.account), SERVICE_ACCOUNT_FIELDS)


def delete_account(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.delete_account(KIND, args.account)
    ctx.out.write_result(response, f"deleted service account {args.account}")


def list_accounts(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        accounts = client.list_accounts(KIND)
    ctx.out.table({"service_accounts": accounts}, accounts, ACCOUNT_COLUMNS)


def generate_password(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.generate_password(args.account)
    password = response.get("password")
    if not isinstance(password, str) or not password:
        raise TransportError("bad_response", "the server generated no password")
    if ctx.out.as_json:
        ctx.out.json(response)
    else:
        ctx.out.secret_line("password", password)
        ctx.out.sessions_ended(response)
