"""The identity layer's facade: one ``Idm`` per server process, over one ``QueryServer``.

What it owns: opening the database with the token signing key, the login flow, the rule that a
read-only identity never writes, and the async operations (the ones that hash passwords off the
loop). What it does not: HTTP (``idmd/https``), access decisions (the access profiles, asked by
the server on every search and write as the caller's ``Identity``), storage.

The process shell calls exactly ``Idm.open``, ``Idm.close``, ``Idm.recover_account`` and
``Idm.verify``; the doors (the https layer today) call the rest.

Rules:
- Synchronous operations (``directory.accounts``, ``directory.groups``,
  ``unix_reads.reads``) run inside one transaction via
  ``read``/``write``; nothing awaits while a transaction is open.
- ``write`` refuses a read-only identity before opening the transaction (``ReadOnlySession``),
  so even a write that would change nothing is refused to a read-only token.
- idm validates, doors convert types. A write that takes values from a request has its own
  method here (``create_account``, ``set_group_policy``, ``import_password_hash``, ...) that
  takes them as the door read them and validates them first, before ``ReadOnlySession`` and
  every access check; a door calls that method, never ``write`` with that operation, so the
  REST routes, the web pages and the OAuth2 endpoints answer a bad value alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Concatenate, ParamSpec, TypeVar

from hermit_common.clock import Clock
from hermit_common.secret import Secret
from idmd.errors import (
    AccessDenied,
    AccountExpired,
    InvalidCredentials,
    MfaRequired,
    NotFound,
)
from idmd.idm import bounds
from idmd.idm.auth import apitokens
from idmd.idm.auth.login import (
    Caller,
    Login,
    StepResult,
    account_valid_at,
    spend_totp_code,
    upgrade_password_hash,
)
from idmd.idm.auth.revocation import end_sessions
from idmd.idm.auth.softlock import Softlocks, unknown_key
from idmd.idm.auth.tokens import TokenSigner, load_or_create_signing_key
from idmd.idm.credentials.hashimport import validate_imported_hash
from idmd.idm.credentials.passwords import Hasher, generate_password, validate_password
from idmd.idm.credentials.staging import GUARD
from idmd.idm.credentials.updates import CredentialUpdates
from idmd.idm.directory import accounts, groups, lookup
from idmd.idm.directory.sshkeys import make_key
from idmd.idm.directory.views import JSON
from idmd.idm.policy import badlist
from idmd.idm.policy.account import validate_policy_changes
from idmd.idm.policy.password import vet_password
from idmd.idm.unix import reads as unix_reads
from idmd.idm.values import (
    iso_time,
    time_to_epoch,
    validate_gidnumber_type,
    validate_loginshell,
    validate_mail_list,
    validate_text,
    validate_time,
)
from idmd.server import QueryServer, ReadTxn, WriteTxn
from idmd.server.identity import INTERNAL, Identity
from idmd.server.mods import Set

P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["Caller", "Idm", "StepResult"]

# The softlock counters of the unix credential (``idmd.idm.auth.softlock.CREDENTIALS``).
UNIX_PASSWORD = "unix_password"
UNIX_TOTP = "unix_totp"
# What every refused unix credential check answers, whatever the reason (docs/api.md).
WRONG_UNIX_CREDENTIALS = "wrong name or password"


class Idm:
    def __init__(
        self, server: QueryServer, *, domain: str, origin: str, clock: Clock
    ) -> None:
        self.server = server
        self.domain = domain
        self.origin = origin
        self.clock = clock
        with server.write() as txn:
            pem = load_or_create_signing_key(txn)
            # The default password badlist, once per database (idmd/idm/policy/badlist.py).
            badlist.seed_default(txn)
        self.hasher = Hasher()
        # The one set of failure counters every login path consults (idmd/idm/auth/softlock.py).
        self.softlocks = Softlocks(clock)
        # One signer: logins' session tokens and service accounts' API tokens.
        self.signer = TokenSigner(pem, clock)
        # Passkeys are WebAuthn credentials of the relying party ``origin``
        # (idmd/idm/credentials/passkeys.py).
        self.login = Login(
            server, self.signer, self.hasher, clock, self.softlocks, origin=origin
        )
        # Credential update sessions and reset tokens (idmd/idm/credentials/updates.py).
        self.credential_updates = CredentialUpdates(
            server, self.hasher, clock, vet=vet_password, issuer=domain, origin=origin
        )

    @classmethod
    def open(cls, db_path: str, *, domain: str, origin: str, clock: Clock) -> Idm:
        """Open (creating on first start) the database at ``db_path``.

        Resources: the database file stays open until ``close``.
        """
        server = QueryServer(db_path, domain=domain, clock=clock)
        opened = False
        try:
            idm = cls(server, domain=domain, origin=origin, clock=clock)
            opened = True
        finally:
            if not opened:
                server.close()
        return idm

    def close(self) -> None:
        self.server.close()

    def verify(self) -> list[str]:
        """Every broken invariant of the database; ``[]`` when all hold."""
        return self.server.verify()

    # -- transactions --------------------------------------------------------------------

    def read(
        self,
        caller: Caller,
        op: Callable[Concatenate[ReadTxn, Identity, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        with self.server.read() as txn:
            return op(txn, caller.identity, *args, **kwargs)

    def write(
        self,
        caller: Caller,
        op: Callable[Concatenate[WriteTxn, Identity, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``op`` in a write transaction as the caller. Errors: ``ReadOnlySession``."""
        caller.require_write()
        with self.server.write() as txn:
            return op(txn, caller.identity, *args, **kwargs)

    # -- sessions ------------------------------------------------------------------------

    def whoami(self, caller: Caller) -> JSON:
        return {
            "uuid": caller.claims.account_uuid,
            "name": caller.name,
            "spn": caller.spn,
            "session_id": caller.claims.session_id,
            "scope": caller.claims.scope,
            "expires_at": iso_time(caller.claims.expires_at),
            # When writes stop without a reauth (null: read-only, or an API token's whole life).
            "privileged_until": (
                iso_time(caller.privileged_until) if caller.privileged_until is not None else None
            ),
        }

    def unlock_credentials(self, caller: Caller, text: str) -> bool:
        """Lift every softlock of person ``text``; whether any was held.

        Allowed to whoever may modify the person's ``password``. Errors: ``NotFound``,
        ``AccessDenied``, ``ReadOnlySession``.
        """
        caller.require_write()
        with self.server.read() as txn:
            entry = lookup.find_to_modify(
                txn, caller.identity, "person", text, ["password"],
                "you may not unlock this person's credentials",
            )
        return self.softlocks.unlock(entry.uuid)

    # -- API tokens of service accounts (idmd/idm/auth/apitokens.py) ----------------------------

    def create_api_token(
        self, caller: Caller, text: str, label: str, *, scope: object,
        expires_at: object,
    ) -> tuple[Secret, JSON]:
        """A new API token of service account ``text`` (shown once) and its record's view.

        ``expires_at``: an RFC 3339 time as a door read it, or ``None`` (the longest life).
        Errors: ``InvalidValue`` (``values.validate_time``, then ``bounds.validate_scope``),
        those of ``write`` and of ``apitokens.create_api_token``.
        """
        expiry = None if expires_at is None else time_to_epoch(
            validate_time("expires_at", expires_at)
        )
        valid_scope = bounds.validate_scope(scope)
        now = self.clock.now()
        uuid, record = self.write(
            caller, apitokens.create_api_token, text, label,
            scope=valid_scope,
            expires_at=apitokens.validate_expiry(expiry, now), now=now,
        )
        return self.signer.issue(uuid, record.session(), kind="api"), record.view()

    # -- directory writes: each takes the values as a door read them (the API's keys) and
    # -- validates them before any access check, then runs one operation in ``write``.

    def create_account(
        self, caller: Caller, kind: accounts.Kind, values: Mapping[str, object]
    ) -> tuple[bool, JSON]:
        """Create a person or service account from ``name``, ``displayname``, optional
        ``mail`` (a list of addresses) and, for a service account, ``managed_by``.

        Errors: ``InvalidValue`` (``values.validate_text``, ``validate_mail_list``), those of
        ``write`` and of ``accounts.create_account`` (the name is checked there).
        """
        displayname = validate_text("displayname", values.get("displayname"))
        mail = validate_mail_list(values["mail"]) if "mail" in values else None
        return self.write(
            caller, accounts.create_account, kind,
            name=values.get("name"), displayname=displayname, mail=mail,
            managed_by=values.get("managed_by"),
        )

    def update_account(
        self, caller: Caller, kind: accounts.Kind, text: str, changes: Mapping[str, object]
    ) -> tuple[bool, JSON]:
        """Apply a PATCH of account ``text``. Errors: those of ``accounts.validate_changes``,
        ``write`` and ``accounts.update_account``."""
        valid = accounts.validate_changes(kind, changes)
        return self.write(caller, accounts.update_account, kind, text, valid)

    def set_account_posix(
        self, caller: Caller, kind: accounts.Kind, text: str, values: Mapping[str, object]
    ) -> tuple[bool, JSON]:
        """Make account ``text`` a POSIX account, with an optional ``gidnumber`` and
        ``loginshell``. Errors: ``InvalidValue`` (``values.validate_gidnumber_type``,
        ``validate_loginshell``), those of ``write`` and ``accounts.set_posix``."""
        gidnumber = (
            validate_gidnumber_type(values["gidnumber"]) if "gidnumber" in values else None
        )
        shell = validate_loginshell(values["loginshell"]) if "loginshell" in values else None
        return self.write(
            caller, accounts.set_posix, kind, text, gidnumber=gidnumber, loginshell=shell
        )

    def put_ssh_key(
        self, caller: Caller, kind: accounts.Kind, text: str, label: object, line: object
    ) -> tuple[bool, JSON]:
        """Store the public key ``line`` under ``label`` on account ``text``. Errors:
        ``InvalidValue``/``InvalidSshKey`` (``sshkeys.make_key``), those of ``write`` and
        ``accounts.put_ssh_key``."""
        key = make_key(label, line)
        return self.write(caller, accounts.put_ssh_key, kind, text, key)

    def create_group(
        self, caller: Caller, *, name: object, description: object = None
    ) -> tuple[bool, JSON]:
        """Create a group (``description``: ``None`` for none). Errors: ``InvalidValue``
        (``groups.validate_description``), those of ``write`` and ``groups.create_group``."""
        valid = groups.validate_description(description)
        return self.write(caller, groups.create_group, name=name, description=valid)

    def update_group(
        self, caller: Caller, text: str, changes: Mapping[str, object]
    ) -> tuple[bool, JSON]:
        """Apply a PATCH of group ``text``. Errors: those of ``groups.validate_changes``,
        ``write`` and ``groups.update_group``."""
        valid = groups.validate_changes(changes)
        return self.write(caller, groups.update_group, text, valid)

    def set_group_posix(
        self, caller: Caller, text: str, values: Mapping[str, object]
    ) -> tuple[bool, JSON]:
        """Make group ``text`` a POSIX group, with an optional ``gidnumber``. Errors:
        ``InvalidValue`` (``values.validate_gidnumber_type``), those of ``write`` and
        ``groups.set_posix``."""
        gidnumber = (
            validate_gidnumber_type(values["gidnumber"]) if "gidnumber" in values else None
        )
        return self.write(caller, groups.set_posix, text, gidnumber=gidnumber)

    def set_group_policy(
        self, caller: Caller, text: str, settings: Mapping[str, object]
    ) -> tuple[bool, JSON]:
        """Set (or, with ``None``, clear) account policy settings of group ``text``, named by
        ``policy.account.POLICY_SETTINGS``' keys. Errors: those of
        ``policy.account.validate_policy_changes``, ``write`` and ``groups.set_policy``."""
        changes = validate_policy_changes(settings)
        return self.write(caller, groups.set_policy, text, changes)

    def change_badlist(self, caller: Caller, words: Iterable[object], *, add: bool) -> tuple[
        bool, int
    ]:
        """Add (or remove) ``words`` to (from) the password badlist; whether it changed and
        how many words it holds. Errors: ``InvalidValue`` (``badlist.validate_words``), those
        of ``write``."""
        valid = badlist.validate_words(words)
        return self.write(caller, badlist.add_words if add else badlist.remove_words, valid)

    # -- credentials (slow: hashed off the loop, outside any transaction) ----------------

    async def set_password(
        self,
        caller: Caller,
        kind: accounts.Kind,
        text: str,
        attr: accounts.CredentialAttr,
        password: Secret,
        *,
        vet: bool = True,
    ) -> int:
        """Hash ``password`` and store it in ``attr`` of the account ``text``.

        With ``vet`` the password policy judges it first (idmd/idm/policy/password.py), once the
        caller is known to be allowed to set it, so its answers tell nothing to anyone else;
        the second factor that counts is the one of that credential (``totp`` for
        ``password``, ``unix_totp`` for ``unix_password``). Generated passwords skip it.

        A new ``password`` ends the account's other sessions (``revocation.end_sessions``;
        the caller's own session stays when it is the account's): the count is returned.
        The unix password signs in to no session, so setting it ends none.

        Errors: ``InvalidValue`` (``passwords.validate_password``: length, bytes),
        ``PasswordRejected``, ``AccessDenied``, ``NotFound``, those of ``write``.
        """
        password = validate_password(password)
        caller.require_write()
        with self.server.read() as txn:
            entry = lookup.find_to_modify(
                txn, caller.identity, kind, text, [attr], f"you may not modify {attr} of this entry"
            )
        if vet:
            password = await vet_password(
                self.server, entry.uuid, password, has_second_factor=bool(entry.get(GUARD[attr]))
            )
        phc = await self.hasher.hash(password)
        return self._store_credential(caller, kind, text, attr, phc)

    def import_password_hash(
        self,
        caller: Caller,
        kind: accounts.Kind,
        text: str,
        attr: accounts.CredentialAttr,
        raw_hash: object,
    ) -> int:
        """Store a hash another system made; how many other sessions that ended (as
        ``set_password``).

        It verifies as it is until the first successful login, which replaces it with
        Argon2id (``passwords.needs_upgrade``). Imported hashes are for admins migrating
        accounts: the password behind one is never vetted, so an account may not import one
        for itself (it would step around the password policy).

        Errors: ``InvalidValue`` (``hashimport.validate_imported_hash``: never quoting the
        hash), ``AccessDenied`` (the caller's own account), those of ``write``.
        """
        stored = validate_imported_hash(raw_hash)
        caller.require_write()
        with self.server.read() as txn:
            entry = lookup.find_or_404(txn, kind, text)
        if entry.uuid == caller.identity.uuid:
            raise AccessDenied(
                "imported hashes are for admins migrating accounts: set your own password with "
                "hermit person credential update, where the password policy applies"
            )
        return self._store_credential(caller, kind, text, attr, stored)

    def _store_credential(
        self,
        caller: Caller,
        kind: accounts.Kind,
        text: str,
        attr: accounts.CredentialAttr,
        stored: str,
    ) -> int:
        """Write ``stored`` into ``attr`` as the caller and, for a new ``password``, end the
        account's other sessions in the same transaction; how many ended."""
        caller.require_write()
        with self.server.write() as txn:
            uuid, changed = accounts.set_credential(
                txn, caller.identity, kind, text, attr, stored
            )
            if attr != "password" or not changed:
                return 0
            own = caller.claims.kind == "session" and caller.claims.account_uuid == uuid
            return end_sessions(
                txn, uuid, now=self.clock.now(),
                keep=caller.claims.session_id if own else None,
            )

    async def generate_password(self, caller: Caller, text: str) -> tuple[Secret, int]:
        """Give a service account a fresh generated password and return it (not vetted: it is
        random by construction), and how many of its sessions that ended."""
        password = generate_password()
        ended = await self.set_password(
            caller, "service_account", text, "password", password, vet=False
        )
        return password, ended

    async def recover_account(self, name: str) -> tuple[Secret, int]:
        """Set a freshly generated password on account ``name`` (as the server); the password
        and how many sessions and API tokens of the account ended.

        Recovery is for an account that may be in someone else's hands: every session and
        API token of it ends with the old password (``revocation.end_sessions``).
        Errors: ``NotFound``.
        """
        with self.server.read() as txn:
            entry = lookup.find(txn, "account", name)
        if entry is None:
            raise NotFound(f"no account {name!r}")
        password = generate_password()
        phc = await self.hasher.hash(password)
        with self.server.write() as txn:
            txn.modify(INTERNAL, entry.uuid, [Set("password", frozenset({phc}))])
            ended = end_sessions(txn, entry.uuid, now=self.clock.now(), api_tokens=True)
        return password, ended

    async def unix_auth(
        self, caller: Caller, name: str, password: Secret, totp: Secret | None = None
    ) -> JSON:
        """Check a POSIX account's unix password and unix TOTP, as PAM through hermit-unixd
        asks (``POST /v1/unix/auth``).

        The caller is authorised first: an account whose unix view the caller may not read
        (a site took anonymous out of ``unix_read``) is treated exactly as a name that matches
        nothing: a dummy Argon2id check, the unknown name's softlock, "wrong name or
        password", and nothing counted or spent on the account. So a password check tells
        nobody more than a read of the account would.

        An account with a ``unix_totp`` has its code checked first, and a wrong code fails
        without the password being tried, so a password cannot be guessed without the second
        factor. The step a code used is stored at once: it is never accepted again, even
        when the password then turns out wrong. A code sent for an account without a unix TOTP
        is ignored (unixd's view of it may be stale). Softlocks "unix_totp" and
        "unix_password" are checked in their turn before any work; a wrong code also waits
        for the next step. A right password stored in an older form is re-hashed with
        Argon2id.

        Errors: ``InvalidValue`` (``bounds``: the password's bytes, the code's length),
        ``MfaRequired`` (the account has a unix TOTP and no code came),
        ``InvalidCredentials`` (unknown or unreadable name, no unix password, wrong password
        or code: all alike), ``CredentialLocked`` (too many failures, or attempts waiting:
        nothing was checked), ``AccountExpired`` (right credentials, outside the account's
        validity).
        """
        password = bounds.validate_unix_password(password)
        totp = bounds.validate_unix_totp_code(totp)
        with self.server.read() as txn:
            entry = lookup.find(txn, unix_reads.ACCOUNT_CLASS, name)
            if entry is not None and not unix_reads.may_read_user(txn, caller.identity, entry):
                entry = None
        key = entry.uuid if entry is not None else unknown_key(name)
        if entry is not None and entry.get("unix_totp"):
            if totp is None:
                raise MfaRequired("this account asks for a verification code too")
            await self._check_unix_totp(key, totp)
        phc = entry.first("unix_password") if entry is not None else None
        async with self.softlocks.attempt(key, UNIX_PASSWORD) as attempt:
            ok = await self.hasher.verify(password, phc)  # a dummy check when there is no hash
            if entry is None or not ok:
                attempt.failed()
                raise InvalidCredentials(WRONG_UNIX_CREDENTIALS)
            attempt.succeeded()
        assert phc is not None  # Invariant: a verified password had a hash.
        await upgrade_password_hash(
            self.server, self.hasher, entry.uuid, "unix_password", phc, password
        )
        if not account_valid_at(entry, self.clock.now()):
            raise AccountExpired("this account is expired or not yet valid")
        with self.server.read() as txn:
            fresh = txn.get(entry.uuid)
            try:
                if fresh is None:
                    raise NotFound("the account went away")
                return unix_reads.user_view_as(txn, caller.identity, fresh)
            except NotFound:
                # Deleted, or no longer readable by the caller, since the check began.
                raise InvalidCredentials(WRONG_UNIX_CREDENTIALS) from None

    async def _check_unix_totp(self, uuid: str, code: Secret) -> None:
        """Accept ``code`` for one of the account's unix TOTPs and store the step it used, in
        one write transaction (two logins racing with one code cannot both win).

        Errors: ``CredentialLocked``, ``InvalidCredentials`` (the wait then lasts until the
        next time step at least).
        """
        async with self.softlocks.attempt(uuid, UNIX_TOTP) as attempt:
            wait = spend_totp_code(self.server, uuid, "unix_totp", code, self.clock.now())
            if wait is None:
                # A right code ends its counter whatever the password turns out to be.
                attempt.succeeded()
                return
            attempt.failed(wait_until=wait)
        raise InvalidCredentials(WRONG_UNIX_CREDENTIALS)
