"""``hermit person credential import-hash NAME [--unix]``: store a password hash another system
made, read from stdin (docs/password-policy.md "Imported hashes").

The hash is sent as it is read (one line, surrounding blanks stripped) and never printed; the
server checks that it is a well-formed hash of an accepted scheme (PBKDF2, SSHA, crypt(3),
Argon2id) and replaces it with Argon2id at the account's first successful login. An imported
hash skips the password policy: the server cannot see the password behind it.
"""

from __future__ import annotations

import argparse

from hermit_cli.context import Context
from hermit_cli.errors import UsageError
from hermit_cli.parser import Subparsers, add_command
from hermit_common.secret import Secret

KIND = "person"


def register(credential: Subparsers) -> None:
    command = add_command(
        credential,
        "import-hash",
        "store a password hash made by another system (read from stdin)",
        import_hash,
    )
    command.add_argument("account", metavar="NAME")
    command.add_argument(
        "--unix", action="store_true", help="the unix password (PAM), not the hermit password"
    )


def import_hash(ctx: Context, args: argparse.Namespace) -> None:
    lines = [line.strip() for line in ctx.stdin.read().splitlines() if line.strip()]
    if len(lines) != 1:
        raise UsageError("import-hash: send exactly one hash on stdin")
    with ctx.client() as client:
        response = client.import_password_hash(KIND, args.account, Secret(lines[0]), unix=args.unix)
    which = "unix password" if args.unix else "password"
    ctx.out.write_result(response, f"{which} hash imported for {args.account}")
