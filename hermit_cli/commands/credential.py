"""``hermit person credential …`` and ``hermit credential use-reset-token``: credential updates.

Every command here runs one credential update session (docs/credential-updates.md): begin,
stage, commit. A command that fails after the session began cancels it, so nothing half-done
is left open. It does not format tables (``output.py``) or log in (``session.py``).

Rules:
- Secrets are printed only where printing them is the command's job: ``totp add`` prints the
  new TOTP's secret and URI, ``backup-codes`` the codes, ``create-reset-token`` the token —
  each once, through ``Output.secret_line`` or one code per line. Passwords and TOTP codes
  are read, never echoed.
- ``totp add`` prints the secret and URI and flushes them before it reads the code, so a
  script can compute the code from the secret it was just given.
- ``update`` is interactive and refuses to run without a terminal (scripts use the other
  commands); ``use-reset-token`` on a terminal falls back to the menu when the account's
  policy blocks a password-only save (it asks for a TOTP).
- Passkeys are enrolled in a browser (the credentials page, or a client of the REST API):
  the CLI lists them and removes one (``passkey list|remove``), the removal through a
  session like every other change.
- Writes follow docs/cli.md: ``unchanged`` when the commit changed nothing, and
  ``sessions ended: N`` when the commit signed N other sessions of the account out
  (``backup-codes`` prints its codes only, one per line; ``--json`` says it there).

Implements DESIGN.md "Entry points" (``hermit person credential``, ``hermit credential``).
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TextIO

from hermit_cli.client import ApiClient, JsonObject
from hermit_cli.context import Context
from hermit_cli.errors import HermitError, UsageError
from hermit_cli.output import Column, Output, clean
from hermit_cli.parser import Subparsers, add_command, add_group
from hermit_cli.prompt import read_new_password
from hermit_common.secret import Secret

Ask = Callable[[str], str]

PASSKEY_COLUMNS = [
    Column("LABEL", lambda p: p.get("label")),
    Column("CREATED_AT", lambda p: p.get("created_at")),
    Column("LAST_USED_AT", lambda p: p.get("last_used_at") or "never"),
]


def register_person_credential(credential: Subparsers) -> None:
    """The commands under ``hermit person credential`` (the group is person.py's)."""
    update = add_command(
        credential, "update", "change credentials interactively (needs a terminal)", update_menu
    )
    update.add_argument("account", metavar="NAME")
    password = add_command(
        credential, "set-password", "set the password (read from stdin)", set_password
    )
    password.add_argument("account", metavar="NAME")

    totp = add_group(credential, "totp", "time-based one-time codes (TOTP)")
    add = add_command(
        totp, "add", "add a TOTP: prints its secret and URI, then reads a current code", add_totp
    )
    add.add_argument("account", metavar="NAME")
    add.add_argument("label", metavar="LABEL")
    add.add_argument("--unix", action="store_true", help="on the unix credential (PAM asks)")
    remove = add_command(totp, "remove", "remove the TOTP under a label", remove_totp)
    remove.add_argument("account", metavar="NAME")
    remove.add_argument("label", metavar="LABEL")
    remove.add_argument("--unix", action="store_true", help="from the unix credential")

    passkey = add_group(credential, "passkey", "passkeys (enrolled in a browser)")
    listed = add_command(passkey, "list", "list the person's passkeys", list_passkeys)
    listed.add_argument("account", metavar="NAME")
    dropped = add_command(passkey, "remove", "remove the passkey under a label", remove_passkey)
    dropped.add_argument("account", metavar="NAME")
    dropped.add_argument("label", metavar="LABEL")

    codes = add_command(
        credential, "backup-codes", "replace the backup codes (prints them, once)", backup_codes
    )
    codes.add_argument("account", metavar="NAME")
    token = add_command(
        credential,
        "create-reset-token",
        "a one-time token for the person to set their credentials",
        create_reset_token,
    )
    token.add_argument("account", metavar="NAME")
    token.add_argument(
        "--ttl", type=int, metavar="SECONDS", help="lifetime (default 1 day, at most 7 days)"
    )


def register(commands: Subparsers) -> None:
    """The top-level ``hermit credential`` group (no login needed)."""
    credential = add_group(commands, "credential", "use a reset token (no login)")
    use = add_command(
        credential,
        "use-reset-token",
        "set your password with a reset token (password read from stdin)",
        use_reset_token,
    )
    use.add_argument("token", metavar="TOKEN")


# -- one session --------------------------------------------------------------------------


class Session:
    """One open credential update session over ``client``."""

    def __init__(self, client: ApiClient, begun: JsonObject) -> None:
        self.client = client
        session = begun.get("session")
        if not isinstance(session, str):
            raise HermitError("the server began no credential update session")
        self.id = Secret(session)
        self.status: JsonObject = begun.get("status") or {}

    def call(self, step: str, body: JsonObject | None = None) -> JsonObject:
        return self.client.credential_update(step, self.id, body)

    def stage(self, step: str, body: JsonObject | None = None) -> JsonObject:
        """A call that answers the session's status, which is remembered."""
        self.status = self.call(step, body)
        return self.status

    def commit(self) -> JsonObject:
        return self.call("commit")


@contextmanager
def _session(client: ApiClient, begun: JsonObject) -> Iterator[Session]:
    """The session ``begun`` started; cancelled if the block fails before it commits."""
    session = Session(client, begun)
    try:
        yield session
    except BaseException:
        # Best effort: the session also ends by itself after its idle time.
        with suppress(HermitError):
            session.call("cancel")
        raise


def _account_name(status: JsonObject, fallback: str) -> str:
    account = status.get("account")
    name = account.get("name") if isinstance(account, dict) else None
    return clean(name) if isinstance(name, str) else fallback


def _ask_secret(stdin: TextIO, prompt: str, what: str) -> Secret:
    """A one-line secret (a TOTP code): asked without echo on a terminal, else stdin's next
    line. Errors: ``UsageError`` when it is empty."""
    value = getpass.getpass(prompt) if stdin.isatty() else stdin.readline().strip()
    if not value.strip():
        raise UsageError(f"no {what}: give it on stdin (one line)")
    return Secret(value.strip())


# -- non-interactive commands --------------------------------------------------------------


def set_password(ctx: Context, args: argparse.Namespace) -> None:
    password = read_new_password(ctx.stdin, getpass.getpass)
    with ctx.client() as client, _session(client, client.begin_credential_update(
        args.account
    )) as session:
        session.stage("password", {"password": password.reveal()})
        response = session.commit()
    ctx.out.write_result(response, f"password set for {args.account}")


def add_totp(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client, _session(client, client.begin_credential_update(
        args.account
    )) as session:
        enrolment = session.call("totp/begin", {"label": args.label, "unix": args.unix})
        _show_enrolment(ctx.out, enrolment)
        code = _ask_secret(ctx.stdin, "code from the app: ", "TOTP code")
        session.stage("totp/confirm", {"code": code.reveal()})
        response = session.commit()
    if not ctx.out.as_json:
        where = "the unix credential of " if args.unix else ""
        ctx.out.write_result(response, f"totp {args.label} added to {where}{args.account}")


def _show_enrolment(out: Output, enrolment: JsonObject) -> None:
    """The secret and URI, flushed: the person (or script) needs them to answer the code."""
    if out.as_json:
        out.json(enrolment)
    else:
        out.secret_line("secret", clean(enrolment.get("secret")))
        out.secret_line("uri", clean(enrolment.get("uri")))
    out.stream.flush()


def remove_totp(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client, _session(client, client.begin_credential_update(
        args.account
    )) as session:
        removed = session.call("totp/remove", {"label": args.label, "unix": args.unix})
        if removed.get("changed") is False:
            session.call("cancel")
            response: JsonObject = {"changed": False}
        else:
            response = session.commit()
    where = "the unix credential of " if args.unix else ""
    ctx.out.write_result(response, f"totp {args.label} removed from {where}{args.account}")


def list_passkeys(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        found = client.list_passkeys(args.account)
    ctx.out.table({"passkeys": found}, found, PASSKEY_COLUMNS)


def remove_passkey(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client, _session(client, client.begin_credential_update(
        args.account
    )) as session:
        removed = session.call("passkey/remove", {"label": args.label})
        if removed.get("changed") is False:
            session.call("cancel")
            response: JsonObject = {"changed": False}
        else:
            response = session.commit()
    ctx.out.write_result(response, f"passkey {args.label} removed from {args.account}")


def backup_codes(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client, _session(client, client.begin_credential_update(
        args.account
    )) as session:
        generated = session.call("backup_codes")
        committed = session.commit()
    # Printed only once saved: codes that were never stored must not be written down.
    codes = [clean(code) for code in generated.get("backup_codes") or []]
    if ctx.out.as_json:
        ctx.out.json({"backup_codes": codes, "sessions_ended": committed.get("sessions_ended")})
    else:
        # Exactly one code per line (DESIGN.md: scripts read them): the sessions the commit
        # ended are said by --json only.
        for code in codes:
            ctx.out.line(code)


def create_reset_token(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.client() as client:
        response = client.create_reset_token(args.account, args.ttl)
    if ctx.out.as_json:
        ctx.out.json(response)
        return
    ctx.out.secret_line("token", clean(response.get("token")))
    ctx.out.line(f"expires_at: {clean(response.get('expires_at'))}")


def use_reset_token(ctx: Context, args: argparse.Namespace) -> None:
    token = Secret(args.token)
    password = read_new_password(ctx.stdin, getpass.getpass)
    with ctx.anonymous_client() as client, _session(
        client, client.begin_credential_update_with_token(token)
    ) as session:
        status = session.stage("password", {"password": password.reveal()})
        name = _account_name(status, "your account")
        if status.get("commit_blocker") and ctx.stdin.isatty():
            ctx.out.line(f"before saving: {clean(status['commit_blocker'])}")
            Menu(ctx.out, ctx.stdin, session, name).run()
            return
        response = session.commit()
    ctx.out.write_result(response, f"password set for {name}")


# -- the interactive menu -------------------------------------------------------------------


def update_menu(ctx: Context, args: argparse.Namespace) -> None:
    if not ctx.stdin.isatty():
        raise UsageError(
            "person credential update needs a terminal; scripts use set-password, totp add, "
            "totp remove and backup-codes"
        )
    with ctx.client() as client, _session(client, client.begin_credential_update(
        args.account
    )) as session:
        Menu(ctx.out, ctx.stdin, session, args.account).run()


_CHOICES = [
    ("1", "set the password"),
    ("2", "set the unix password"),
    ("3", "add a TOTP"),
    ("4", "add a TOTP to the unix credential"),
    ("5", "remove a TOTP"),
    ("6", "remove a TOTP from the unix credential"),
    ("7", "new backup codes"),
    ("s", "save and quit"),
    ("q", "quit without saving"),
]


class Menu:
    """The menu of ``person credential update``, over one open session.

    Each choice is one call; an error the server answers (a rejected password, a wrong code)
    is shown and the menu goes on, so one mistake does not lose the other staged changes.
    """

    def __init__(self, out: Output, stdin: TextIO, session: Session, name: str) -> None:
        self.out = out
        self.stdin = stdin
        self.session = session
        self.name = name

    def ask(self, prompt: str) -> str:
        self.out.stream.write(prompt)
        self.out.stream.flush()
        line = self.stdin.readline()
        if not line:
            raise UsageError("end of input: nothing was saved")
        return line.strip()

    def run(self) -> None:
        self.out.line(
            f"credential update for {self.name}: nothing is saved until you choose 's'"
        )
        while True:
            self._show_status()
            for key, text in _CHOICES:
                self.out.line(f"  {key}) {text}")
            choice = self.ask("choice: ").lower()
            if choice == "s":
                response = self.session.commit()
                self.out.write_result(response, f"saved the credentials of {self.name}")
                return
            if choice == "q":
                self.session.call("cancel")
                self.out.line("nothing was saved")
                return
            try:
                self._do(choice)
            except HermitError as exc:
                # Session over (idle, or ended elsewhere): nothing more can be staged.
                if exc.code == "invalid_credential_update_session":
                    raise
                self.out.line(f"not done: {clean(exc.detail)}")

    def _show_status(self) -> None:
        status = self.session.stage("status")

        def labels(key: str) -> str:
            found = status.get(key) or []
            return ", ".join(clean(label) for label in found) or "-"

        self.out.line(
            f"password: {clean(status.get('password'))}"
            f"  unix password: {clean(status.get('unix_password'))}"
            f"  totp: {labels('totp')}  unix totp: {labels('unix_totp')}"
            f"  backup codes: {clean(status.get('backup_codes'))}"
        )
        if status.get("commit_blocker"):
            self.out.line(f"before saving: {clean(status['commit_blocker'])}")

    def _do(self, choice: str) -> None:
        if choice in ("1", "2"):
            attr = "password" if choice == "1" else "unix_password"
            password = read_new_password(self.stdin, getpass.getpass)
            self.session.stage(attr, {"password": password.reveal()})
        elif choice in ("3", "4"):
            label = self.ask("label for the TOTP (e.g. phone): ")
            enrolment = self.session.call("totp/begin", {"label": label, "unix": choice == "4"})
            self.out.line("add this to your authenticator app:")
            _show_enrolment(self.out, enrolment)
            code = _ask_secret(self.stdin, "code from the app: ", "TOTP code")
            self.session.stage("totp/confirm", {"code": code.reveal()})
        elif choice in ("5", "6"):
            label = self.ask("label of the TOTP to remove: ")
            removed = self.session.call("totp/remove", {"label": label, "unix": choice == "6"})
            if removed.get("changed") is False:
                self.out.line(f"there is no TOTP {clean(label)}")
        elif choice == "7":
            generated = self.session.call("backup_codes")
            self.out.line("backup codes (each works once, after you save):")
            for code in generated.get("backup_codes") or []:
                self.out.line(f"  {clean(code)}")
        else:
            self.out.line("choose one of the keys shown")
