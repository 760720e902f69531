"""``hermit group …``: groups, their members and their POSIX gid.

It does not format (``output.py``). Every write prints ``unchanged`` when the server answers
``"changed": false`` — adding a member twice, or removing one that is not there.

Implements DESIGN.md "Entry points" (``hermit group``) over docs/api.md "Groups".
"""

from __future__ import annotations

import argparse

from hermit_cli.commands import group_policy
from hermit_cli.context import Context
from hermit_cli.output import GROUP_COLUMNS, GROUP_FIELDS
from hermit_cli.parser import Subparsers, add_command, add_group


def register(commands: Subparsers) -> None:
    group = add_group(commands, "group", "manage groups")

    create = add_command(group, "create", "create a group", create_group)
    create.add_argument("group", metavar="NAME")
    create.add_argument("--description", metavar="TEXT")

    get = add_command(group, "get", "show a group", get_group)
    get.add_argument("group", metavar="NAME")
    delete = add_command(group, "delete", "delete a group", delete_group)
    delete.add_argument("group", metavar="NAME")
    add_command(group, "list", "list groups", list_groups)

    add = add_command(group, "add-members", "add members to a group", add_members)
    add.add_argument("group", metavar="GROUP")
    add.add_argument("members", metavar="MEMBER", nargs="+")
    remove = add_command(
        group, "remove-members", "remove members from a group", remove_members
    )
    remove.add_argument("group", metavar="GROUP")
    remove.add_argument("members", metavar="MEMBER", nargs="+")

    posix = add_group(group, "posix", "a group's POSIX identity")
    enable = add_command(posix, "enable", "give a group a gidnumber", enable_posix)
    enable.add_argument("group", metavar="GROUP")
    enable.add_argument("--gid", type=int, metavar="N", help="default: the server picks one")

    # Account policy settings (commands/group_policy.py).
    group_policy.register(group)


def create_group(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.create_group(args.group, args.description)
    ctx.out.write_result(response, f"created group {args.group}")


def get_group(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        ctx.out.entry(client.get_group(args.group), GROUP_FIELDS)


def delete_group(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.delete_group(args.group)
    ctx.out.write_result(response, f"deleted group {args.group}")


def list_groups(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        groups = client.list_groups()
    ctx.out.table({"groups": groups}, groups, GROUP_COLUMNS)


def add_members(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.add_members(args.group, args.members)
    ctx.out.write_result(response, f"added to {args.group}: {' '.join(args.members)}")


def remove_members(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.remove_members(args.group, args.members)
    ctx.out.write_result(response, f"removed from {args.group}: {' '.join(args.members)}")


def enable_posix(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.enable_group_posix(args.group, args.gid)
    gid = (response.get("entry") or {}).get("posix") or {}
    ctx.out.write_result(
        response, f"posix enabled for group {args.group} (gidnumber {gid.get('gidnumber', '?')})"
    )
