"""The argparse machinery of ``hermit``: one-line usage errors and global options anywhere.

It does not know the commands (each ``commands/`` module declares its own, ``main.py`` lists
the modules) and runs nothing.

Rules:
- ``--url``, ``--ca``, ``--name`` and ``--json`` are accepted before the command, after it,
  and at every level between: every parser carries them, and below the top their default is
  ``SUPPRESS``, so an option given later overrides one given earlier and an absent one leaves
  the earlier value alone;
- a usage error raises ``UsageError`` (one line, exit 2) instead of printing argparse's
  multi-line usage; ``--help`` still prints help;
- positional arguments never use the dest ``name``, which belongs to ``--name``;
- a word that begins with ``-`` but is no option of the parser is a positional value (a session
  or API token id may begin with ``-``), unless it looks like a long option
  (``--lowercase-words``), so a mistyped option is still reported as unrecognised.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import NoReturn, TypeAlias

from hermit_cli.context import Context
from hermit_cli.errors import UsageError

Handler = Callable[[Context, argparse.Namespace], None]

GLOBAL_DESTS = ("url", "ca", "name", "json")


# What hermit's own long options look like (``--display-name``, ``--json=...``); ids never do
# unless chance makes them all lowercase, which idmd's id generator does not avoid but makes
# harmless: its ids never begin with ``-`` at all (idmd/idm/ids.py).
_LONG_OPTION = re.compile(r"--[a-z][a-z0-9-]*(=.*)?", re.DOTALL)


class HermitArgumentParser(argparse.ArgumentParser):
    def _parse_optional(
        self, arg_string: str
    ) -> tuple[argparse.Action | None, str, str | None] | None:
        """argparse's classification of one word, except that an unknown ``-word`` is a value.

        argparse takes every word beginning with ``-`` for an option and refuses the unknown
        ones, so ``hermit session destroy -Xy1…`` needed an undocumented ``--`` before the id.
        ``-h`` and the options a parser declares keep their meaning; ``-hX…`` (``-h`` with an
        attached value, which no hermit option takes) is a value too.
        """
        if (
            arg_string.startswith("-")
            and arg_string not in self._option_string_actions
            and arg_string != "--"
            and not _LONG_OPTION.fullmatch(arg_string)
        ):
            return None
        return super()._parse_optional(arg_string)

    def error(self, message: str) -> NoReturn:
        # prog is "hermit person create"; main.py prefixes "hermit: " already.
        where = self.prog.partition(" ")[2]
        raise UsageError(f"{where}: {message}" if where else message)


# A string: argparse's class is generic only to type checkers.
Subparsers: TypeAlias = "argparse._SubParsersAction[HermitArgumentParser]"


def add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    options = parser.add_argument_group("global options")
    options.add_argument("--url", default=default, help="idmd's https:// url ($HERMIT_URL)")
    options.add_argument(
        "--ca", default=default, help="CA file to verify the server with ($HERMIT_CA)"
    )
    options.add_argument("--name", default=default, help="account to act as ($HERMIT_NAME)")
    options.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print JSON instead of a readable listing",
    )


def add_group(subparsers: Subparsers, name: str, help_text: str) -> Subparsers:
    """A noun (``person``) or sub-noun (``person posix``) that holds further commands."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    add_global_options(parser, top=False)
    nested: Subparsers = parser.add_subparsers(
        dest=f"{name}_command", metavar="COMMAND", required=True
    )
    return nested


def add_command(
    subparsers: Subparsers, name: str, help_text: str, run: Handler
) -> argparse.ArgumentParser:
    """A leaf command that runs ``run(ctx, args)``; the caller adds its arguments."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=help_text
    )
    add_global_options(parser, top=False)
    parser.set_defaults(run=run)
    return parser


def build_root() -> tuple[HermitArgumentParser, Subparsers]:
    parser = HermitArgumentParser(
        prog="hermit", description="Administer a hermit identity server over its REST API."
    )
    add_global_options(parser, top=True)
    commands: Subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    return parser, commands
