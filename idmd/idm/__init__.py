"""The identity layer's facade: one ``Idm`` per server process, over one ``QueryServer``.

What it owns: opening the database with the token signing key, the login flow, the rule that a
read-only identity never writes, and the async operations (the ones that hash passwords off the
loop). What it does not: HTTP (``idmd/https``), access decisions (the access profiles, asked by
the server on every search and write as the caller's ``Identity``), storage.

The process shell calls exactly ``Idm.open``, ``Idm.close``, ``Idm.recover_account`` and
``Idm.verify``; the https layer calls the rest.

Rules:
- Synchronous operations (``accounts``, ``groups``, ``unix``) run inside one transaction via
  ``read``/``write``; nothing awaits while a transaction is open.
- ``write`` refuses a read-only identity before opening the transaction (``ReadOnlySession``),
  so even a write that would change nothing is refused to a read-only token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, TypeVar

from idmd.clock import Clock
from idmd.errors import AccountExpired, InvalidCredentials, NotFound, ReadOnlySession
from idmd.idm import accounts, lookup, unix
from idmd.idm.login import Caller, Login, StepResult, subject_of
from idmd.idm.passwords import Hasher, Secret, generate_password
from idmd.idm.softlock import Softlocks
from idmd.idm.tokens import TokenSigner, load_or_create_signing_key
from idmd.idm.views import JSON
from idmd.server import QueryServer, ReadTxn, WriteTxn
from idmd.server.identity import INTERNAL, Identity
from idmd.server.mods import Set

P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["Caller", "Idm", "StepResult"]


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
        self.hasher = Hasher()
        # The one set of failure counters every login path consults (idmd/idm/softlock.py).
        self.softlocks = Softlocks(clock)
        self.login = Login(server, TokenSigner(pem, clock), self.hasher, clock)

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
        if caller.identity.read_only:
            raise ReadOnlySession("this session is read-only; log in again for changes")
        with self.server.write() as txn:
            return op(txn, caller.identity, *args, **kwargs)

    # -- sessions ------------------------------------------------------------------------

    def whoami(self, caller: Caller) -> JSON:
        expires = datetime.fromtimestamp(caller.claims.expires_at, UTC)
        return {
            "uuid": caller.claims.account_uuid,
            "name": caller.name,
            "spn": caller.spn,
            "session_id": caller.claims.session_id,
            "scope": caller.claims.scope,
            "expires_at": expires.replace(tzinfo=None).isoformat() + "Z",
        }

    # -- credentials (slow: hashed off the loop, outside any transaction) ----------------

    async def set_password(
        self,
        caller: Caller,
        kind: accounts.Kind,
        text: str,
        attr: accounts.CredentialAttr,
        password: Secret,
    ) -> None:
        if caller.identity.read_only:
            raise ReadOnlySession("this session is read-only; log in again for changes")
        with self.server.read() as txn:
            lookup.find_or_404(txn, kind, text)
        phc = await self.hasher.hash(password)
        self.write(caller, accounts.set_credential, kind, text, attr, phc)

    async def generate_password(self, caller: Caller, text: str) -> Secret:
        """Give a service account a fresh generated password and return it."""
        password = generate_password()
        await self.set_password(caller, "service_account", text, "password", password)
        return password

    async def recover_account(self, name: str) -> str:
        """Set a freshly generated password on account ``name`` (as the server) and return it.

        Nothing else changes: existing sessions stay. Errors: ``NotFound``.
        """
        with self.server.read() as txn:
            entry = lookup.find(txn, "account", name)
        if entry is None:
            raise NotFound(f"no account {name!r}")
        password = generate_password()
        phc = await self.hasher.hash(password)
        with self.server.write() as txn:
            txn.modify(INTERNAL, entry.uuid, [Set("password", frozenset({phc}))])
        return str(password)

    async def unix_auth(self, caller: Caller, name: str, password: Secret) -> JSON:
        """Check a POSIX account's unix password, as PAM through hermit-unixd asks.

        Errors: ``InvalidCredentials`` (unknown name, no unix password, wrong password: all
        alike), ``AccountExpired`` (right password, outside the account's validity).
        """
        with self.server.read() as txn:
            entry = lookup.find(txn, unix.ACCOUNT_CLASS, name)
        phc = entry.first("unix_password") if entry is not None else None
        ok = await self.hasher.verify(password, phc)
        if entry is None or not ok:
            raise InvalidCredentials("wrong name or password")
        if not subject_of(entry).valid_at(self.clock.now()):
            raise AccountExpired("this account is expired or not yet valid")
        with self.server.read() as txn:
            fresh = txn.get(entry.uuid)
            if fresh is None:
                raise InvalidCredentials("wrong name or password")
            return unix.user_view_as(txn, caller.identity, fresh)
