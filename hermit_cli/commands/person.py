"""``hermit person …``: people, their POSIX data, SSH keys, validity and passwords.

It does not format (``output.py``), read secrets (``prompt.py``) or parse times (``when.py``).
Every write prints ``unchanged`` when the server answers ``"changed": false``.

Implements DESIGN.md "Entry points" (``hermit person``) over docs/api.md "People".
"""

from __future__ import annotations

import argparse

from hermit_cli.client import JsonObject
from hermit_cli.commands import credential as credential_commands
from hermit_cli.commands import import_hash
from hermit_cli.commands import session as session_commands
from hermit_cli.context import Context
from hermit_cli.errors import UsageError
from hermit_cli.output import ACCOUNT_COLUMNS, PERSON_FIELDS, SSH_KEY_COLUMNS
from hermit_cli.parser import Subparsers, add_command, add_group
from hermit_cli.prompt import read_new_password
from hermit_cli.when import parse_when

KIND = "person"


def register(commands: Subparsers) -> None:
    person = add_group(commands, "person", "manage people")

    create = add_command(person, "create", "create a person", create_person)
    create.add_argument("account", metavar="NAME")
    create.add_argument("--display-name", required=True, metavar="TEXT")
    create.add_argument("--mail", action="append", metavar="ADDR", help="repeat for several")

    get = add_command(person, "get", "show a person", get_person)
    get.add_argument("account", metavar="NAME")
    delete = add_command(person, "delete", "delete a person", delete_person)
    delete.add_argument("account", metavar="NAME")
    add_command(person, "list", "list people", list_persons)

    update = add_command(person, "update", "change a person's attributes", update_person)
    update.add_argument("account", metavar="NAME")
    update.add_argument("--display-name", metavar="TEXT")
    update.add_argument("--rename", metavar="NEWNAME")
    update.add_argument(
        "--mail", action="append", metavar="ADDR", help="replaces all addresses; repeat for several"
    )

    posix = add_group(person, "posix", "a person's POSIX identity")
    enable = add_command(posix, "enable", "give a person a uid/gid and shell", enable_posix)
    enable.add_argument("account", metavar="NAME")
    enable.add_argument("--gid", type=int, metavar="N", help="default: the server picks one")
    enable.add_argument("--shell", metavar="PATH")
    unix_pw = add_command(
        posix, "set-password", "set the unix password (read from stdin)", set_unix_password
    )
    unix_pw.add_argument("account", metavar="NAME")

    ssh = add_group(person, "ssh", "a person's SSH public keys")
    ssh_add = add_command(ssh, "add", "add (or keep) a public key under a label", add_ssh_key)
    ssh_add.add_argument("account", metavar="NAME")
    ssh_add.add_argument("label", metavar="LABEL")
    # nargs="+" so an unquoted $(cat id_ed25519.pub) still arrives as one key line.
    ssh_add.add_argument("key", metavar="PUBLIC_KEY", nargs="+")
    ssh_list = add_command(ssh, "list", "list a person's public keys", list_ssh_keys)
    ssh_list.add_argument("account", metavar="NAME")
    ssh_remove = add_command(ssh, "remove", "remove the key under a label", remove_ssh_key)
    ssh_remove.add_argument("account", metavar="NAME")
    ssh_remove.add_argument("label", metavar="LABEL")

    validity = add_command(
        person, "validity", "show or set when an account may log in", set_validity
    )
    validity.add_argument("account", metavar="NAME")
    validity.add_argument(
        "--expire-at", metavar="WHEN", help="RFC 3339, YYYY-MM-DD, now or never"
    )
    validity.add_argument(
        "--begin-at", metavar="WHEN", help="RFC 3339, YYYY-MM-DD, now or never"
    )

    credential = add_group(person, "credential", "a person's login credentials")
    session_commands.register_unlock(credential)
    # Credential update sessions (commands/credential.py).
    credential_commands.register_person_credential(credential)
    # Hashes made by another system (commands/import_hash.py).
    import_hash.register(credential)


def create_person(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.create_person(args.account, args.display_name, args.mail)
    ctx.out.write_result(response, f"created person {args.account}")


def get_person(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        ctx.out.entry(client.get_account(KIND, args.account), PERSON_FIELDS)


def delete_person(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.delete_account(KIND, args.account)
    ctx.out.write_result(response, f"deleted person {args.account}")


def list_persons(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        persons = client.list_accounts(KIND)
    ctx.out.table({"persons": persons}, persons, ACCOUNT_COLUMNS)


def update_person(ctx: Context, args: argparse.Namespace) -> None:
    changes: JsonObject = {}
    if args.display_name is not None:
        changes["displayname"] = args.display_name
    if args.mail is not None:
        changes["mail"] = args.mail
    if args.rename is not None:
        changes["name"] = args.rename
    if not changes:
        raise UsageError("person update: nothing to change (--display-name, --rename, --mail)")
    with ctx.client() as client:
        response = client.update_account(KIND, args.account, changes)
    ctx.out.write_result(response, f"updated person {args.account}")


def enable_posix(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.enable_account_posix(KIND, args.account, args.gid, args.shell)
    gid = (response.get("entry") or {}).get("posix") or {}
    ctx.out.write_result(
        response, f"posix enabled for {args.account} (gidnumber {gid.get('gidnumber', '?')})"
    )


def set_unix_password(ctx: Context, args: argparse.Namespace) -> None:
    password = read_new_password(ctx.stdin)
    with ctx.client() as client:
        response = client.set_unix_password(KIND, args.account, password)
    ctx.out.write_result(response, f"unix password set for {args.account}")


def add_ssh_key(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.put_ssh_key(KIND, args.account, args.label, " ".join(args.key))
    ctx.out.write_result(response, f"ssh key {args.label} added to {args.account}")


def list_ssh_keys(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        keys = client.list_ssh_keys(KIND, args.account)
    ctx.out.table({"ssh_keys": keys}, keys, SSH_KEY_COLUMNS)


def remove_ssh_key(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.delete_ssh_key(KIND, args.account, args.label)
    ctx.out.write_result(response, f"ssh key {args.label} removed from {args.account}")


_VALIDITY_FIELDS = [field for field in PERSON_FIELDS if field[0] in ("valid_from", "expire_at")]


def set_validity(ctx: Context, args: argparse.Namespace) -> None:
    """With no option, show the validity; otherwise set the bounds given."""
    changes: JsonObject = {}
    now = ctx.now()
    if args.begin_at is not None:
        changes["valid_from"] = parse_when(args.begin_at, now)
    if args.expire_at is not None:
        changes["expire_at"] = parse_when(args.expire_at, now)
    with ctx.client() as client:
        if not changes:
            entry = client.get_account(KIND, args.account)
            validity = {key: entry.get(key) for key in ("valid_from", "expire_at")}
            ctx.out.entry(validity, _VALIDITY_FIELDS)
            return
        response = client.update_account(KIND, args.account, changes)
    entry = response.get("entry") or {}
    ctx.out.write_result(
        response,
        f"{args.account} is valid from {entry.get('valid_from') or 'any time'}"
        f" until {entry.get('expire_at') or 'never'}",
    )
