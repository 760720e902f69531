"""Logins and bearer tokens against the entry database: the I/O around ``authsession``.

This module loads accounts for the auth state machine, checks credentials with the
``Hasher``, writes session records onto accounts, and turns a bearer token back into the
caller's ``Identity``. It does not decide the flow (``authsession.py``) nor sign
(``tokens.py``).

Rules:
- No transaction is held open across an ``await``: the account is read, the transaction
  closed, the password checked on a worker thread, then a new write transaction records the
  session.
- Session records are written as ``INTERNAL`` (logging in is not an access-controlled change of
  the account); expired records of the account are removed in the same write, and beyond
  ``MAX_SESSIONS_PER_ACCOUNT`` the oldest go, so an account's entry cannot grow without bound.
- Every request re-reads the account: a deleted account, a revoked session or an account
  outside its validity stops the token at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from idmd.clock import Clock
from idmd.entry import Entry
from idmd.errors import AccountExpired, InvalidAuthState, TokenRevoked, Unauthenticated
from idmd.idm import lookup
from idmd.idm.authsession import (
    ANONYMOUS_NAME,
    AuthSessions,
    AuthSubject,
    Continue,
    Denied,
    Outcome,
    Success,
)
from idmd.idm.passwords import Hasher, Secret
from idmd.idm.tokens import (
    SessionRecord,
    TokenClaims,
    TokenSigner,
    check_session,
    expired_sessions,
    new_session,
)
from idmd.idm.values import time_to_epoch
from idmd.server import QueryServer
from idmd.server.identity import INTERNAL, Identity, account_identity
from idmd.server.mods import Add, Mod, Remove

# Live sessions one account may hold; the oldest beyond this is ended. Generous for a person
# with many machines, small enough that a script logging in in a loop cannot bloat the entry.
MAX_SESSIONS_PER_ACCOUNT = 64


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the verified token and the identity it acts with."""

    identity: Identity
    claims: TokenClaims
    name: str
    spn: str


@dataclass(frozen=True)
class StepResult:
    outcome: Outcome
    token: Secret | None = None


def subject_of(entry: Entry | None) -> AuthSubject:
    if entry is None:
        return AuthSubject(uuid=None)
    return AuthSubject(
        uuid=entry.uuid,
        anonymous=entry.first("name") == ANONYMOUS_NAME,
        valid_from=time_to_epoch(entry.first("valid_from")),
        expire_at=time_to_epoch(entry.first("expire_at")),
    )


class Login:
    def __init__(
        self, server: QueryServer, signer: TokenSigner, hasher: Hasher, clock: Clock
    ) -> None:
        self._server = server
        self._signer = signer
        self._hasher = hasher
        self._clock = clock
        self.sessions = AuthSessions(clock)

    def _account(self, name: str) -> Entry | None:
        with self._server.read() as txn:
            return lookup.find(txn, "account", name)

    def begin(self, name: str, *, read_only: bool) -> tuple[str, Continue]:
        """Open an auth session for ``name`` (which need not exist; see ``authsession``)."""
        return self.sessions.begin(subject_of(self._account(name)), read_only=read_only)

    async def step(
        self, session_id: str | None, method: object, password: str | None
    ) -> StepResult:
        """One step. Errors: ``InvalidAuthState`` (the session is then over)."""
        check = self.sessions.start_step(session_id, method)
        ok = True
        if check.method == "password":
            if password is None:
                raise InvalidAuthState("the password step needs a password")
            phc = self._password_hash(check.session.subject)
            ok = await self._hasher.verify(password, phc)
        outcome = self.sessions.finish_step(check, credential_ok=ok)
        if not isinstance(outcome, Success):
            return StepResult(outcome)
        token = self._start_session(outcome)
        if token is None:
            # The account went away between the step and the record: deny, never half-succeed.
            return StepResult(Denied("wrong password"))
        return StepResult(outcome, token)

    def _password_hash(self, subject: AuthSubject) -> str | None:
        if subject.uuid is None:
            return None
        with self._server.read() as txn:
            entry = txn.get(subject.uuid)
        return entry.first("password") if entry is not None else None

    def _start_session(self, success: Success) -> Secret | None:
        now = self._clock.now()
        record = new_session(read_only=success.read_only, now=now)
        with self._server.write() as txn:
            entry = txn.get(success.account_uuid)
            if entry is None:
                return None
            values = entry.get("auth_session")
            over = set(expired_sessions(values, now))
            live = sorted(
                (r for v in values if v not in over and (r := SessionRecord.decode(v))),
                key=lambda r: r.issued_at,
            )
            mods: list[Mod] = [Remove("auth_session", value) for value in over]
            for oldest in live[: max(0, len(live) - MAX_SESSIONS_PER_ACCOUNT + 1)]:
                mods.append(Remove("auth_session", oldest.encode()))
            mods.append(Add("auth_session", record.encode()))
            txn.modify(INTERNAL, entry.uuid, mods)
        return self._signer.issue(success.account_uuid, record)

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller behind an ``Authorization: Bearer`` header.

        Errors: ``Unauthenticated`` (none or bad), ``TokenExpired``, ``TokenRevoked``,
        ``AccountExpired`` (the account is outside ``valid_from``/``expire_at`` now).
        """
        if authorization is None:
            raise Unauthenticated("log in first: this needs 'Authorization: Bearer TOKEN'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer TOKEN'")
        claims = self._signer.check(token.strip())
        with self._server.read() as txn:
            entry = txn.get(claims.account_uuid)
        if entry is None:
            raise TokenRevoked("this session has been ended; log in again")
        now = self._clock.now()
        check_session(claims, entry.get(claims.record_attr), now)
        if not subject_of(entry).valid_at(now):
            raise AccountExpired("this account is expired or not yet valid")
        return Caller(
            identity=account_identity(entry.uuid, read_only=claims.read_only),
            claims=claims,
            name=entry.first("name") or "",
            spn=entry.first("spn") or "",
        )

    def logout(self, caller: Caller) -> bool:
        """End the caller's session: its token stops working at once."""
        with self._server.write() as txn:
            entry = txn.get(caller.claims.account_uuid)
            if entry is None:
                return False
            values = [
                v
                for v in entry.get("auth_session")
                if (r := SessionRecord.decode(v)) is not None and r.id == caller.claims.session_id
            ]
            if not values:
                return False
            mods: list[Mod] = [Remove("auth_session", value) for value in values]
            _, changed = txn.modify(INTERNAL, entry.uuid, mods)
        return changed
