"""``hermit group policy show|set``: the account policy a group carries.

A group may ask of its members (directly or through nesting) a minimum credential type, a
session lifetime, a privilege lifetime and a minimum password length; an account under several
groups gets the strictest of each (docs/password-policy.md "Account policy as groups"). Only
system_admins may set these. This module turns options into the body of
``PUT /v1/group/{id}/policy``; the server validates the values.
"""

from __future__ import annotations

import argparse
import re

from hermit_cli.client import JsonObject
from hermit_cli.context import Context
from hermit_cli.errors import UsageError
from hermit_cli.output import FieldGetter, clean
from hermit_cli.parser import Subparsers, add_command, add_group

# Option name (as in --clear) -> key of the request body and of the group view's "policy".
SETTINGS = {
    "min-credential": "min_credential",
    "session-lifetime": "session_lifetime",
    "privilege-lifetime": "privilege_lifetime",
    "password-min-length": "password_min_length",
}
_DURATION = re.compile(r"([0-9]{1,9})([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def register(group: Subparsers) -> None:
    policy = add_group(group, "policy", "the account policy a group asks of its members")
    show = add_command(policy, "show", "show a group's account policy", show_policy)
    show.add_argument("group", metavar="GROUP")
    set_ = add_command(policy, "set", "set or clear account policy settings", set_policy)
    set_.add_argument("group", metavar="GROUP")
    set_.add_argument("--min-credential", choices=("password", "mfa", "passkey"))
    set_.add_argument(
        "--session-lifetime", type=parse_duration, metavar="DURATION",
        help="seconds, or with a unit: 90m, 8h, 1d",
    )
    set_.add_argument(
        "--privilege-lifetime", type=parse_duration, metavar="DURATION",
        help="seconds, or with a unit: 15m, 1h",
    )
    set_.add_argument("--password-min-length", type=int, metavar="N")
    set_.add_argument(
        "--clear", nargs="+", choices=tuple(SETTINGS), default=[], metavar="SETTING",
        help="settings to remove: " + ", ".join(SETTINGS),
    )


def parse_duration(text: str) -> int:
    """Seconds from ``3600``, ``90m``, ``8h`` or ``1d``. Errors: ``argparse.ArgumentTypeError``."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (3600, 90m, 8h, 1d)")
    return int(match[1]) * _UNIT_SECONDS[match[2]]


def settings_of(args: argparse.Namespace) -> JsonObject:
    """The request body: each option given, and ``null`` for each ``--clear``ed setting.

    Errors: ``UsageError`` for nothing to change, or a setting both set and cleared.
    """
    body: JsonObject = {}
    for key in SETTINGS.values():
        value = getattr(args, key)
        if value is not None:
            body[key] = value
    for option in args.clear:
        key = SETTINGS[option]
        if key in body:
            raise UsageError(f"group policy set: --{option} is both set and cleared")
        body[key] = None
    if not body:
        raise UsageError(
            "group policy set: nothing to change (--min-credential, --session-lifetime, "
            "--privilege-lifetime, --password-min-length, --clear)"
        )
    return body


def _field(key: str) -> FieldGetter:
    return lambda policy: [clean(policy.get(key))]


POLICY_FIELDS: list[tuple[str, FieldGetter]] = [(key, _field(key)) for key in SETTINGS.values()]


def show_policy(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        entry = client.get_group(args.group)
    policy = entry.get("policy")
    ctx.out.entry(policy if isinstance(policy, dict) else {}, POLICY_FIELDS)


def set_policy(ctx: Context, args: argparse.Namespace) -> None:
    body = settings_of(args)
    with ctx.client() as client:
        response = client.set_group_policy(args.group, body)
    ctx.out.write_result(response, f"policy of group {args.group} updated")
