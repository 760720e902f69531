"""Logins, reauth and bearer tokens against the entry database: the I/O around ``flow``.

This module loads accounts for the auth state machine, checks each credential a step carries
(password, TOTP and backup code behind the softlocks; a passkey), writes session records onto
accounts, extends privilege windows, lists and ends a caller's sessions, and turns a bearer
token back into the caller's ``Identity``. It does not decide the flow (``flow.py``) nor sign
(``tokens.py``) nor count failures (``softlock.py``).

Rules:
- No transaction is held open across an ``await``: the account is read, the transaction
  closed, the password checked on a worker thread, then a new write transaction records the
  session. A TOTP or backup code is checked inside the write transaction that stores its use
  (the step counter, the removal), so two logins racing with one code cannot both pass.
- Every credential is checked behind its softlock, in the credential's turn (one attempt at
  a time, ``Softlocks.attempt``): a credential that must wait, or that too many attempts
  already wait for, is denied with the softlock's reason (when to retry) before any work,
  Argon2 included; a failure counts, a wrong TOTP code also waits for the next time step; a
  success resets that credential only.
- After a password verifies, a hash that ``credentials.passwords.needs_upgrade`` names
  (imported, or an older Argon2id cost) is replaced by a fresh Argon2id hash of the same
  password, unless the password changed meanwhile.
- Session records are written as ``INTERNAL`` (logging in is not an access-controlled change of
  the account); expired records of the account are removed in the same write, and beyond
  ``MAX_SESSIONS_PER_ACCOUNT`` the oldest go, so an account's entry cannot grow without bound.
  Anonymous logins write no record (``tokens.py``): their token is read-only and lives until
  its expiry, so a fleet of any size logs in without writes and without pushing out others.
  Their lifetime and privilege window come from the account policy.
- A read-write session may write only inside its privilege window; outside it the caller's
  identity is read-only and a write is ``ReadOnlySession`` "run hermit reauth". API tokens
  (``kind == "api"``) of scope read_write are always privileged.
- Every request re-reads the account: a deleted account, a revoked session or an account
  outside its validity stops the token at once.
- A passkey step (``credentials.passkeys``) is checked inside one write transaction that
  reads the account (the named one, or for a usernameless session the one the user handle
  names), verifies the assertion, applies the signature counter rule and stores the new
  counter and last use as ``INTERNAL``: two racing assertions cannot both pass the counter.
  A counter that went backwards is denied and logged (account, label and counters; nothing
  secret). A passkey has no softlock: its signature cannot be guessed, and a lockout counted
  from forged answers would let anyone lock a person out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from hermit_common.clock import Clock
from hermit_common.errors import InvalidRequest, InvalidValue
from hermit_common.secret import Secret
from idmd.entry import Entry
from idmd.errors import (
    AccessDenied,
    AccountExpired,
    CredentialLocked,
    InvalidAuthState,
    ReadOnlySession,
    TokenRevoked,
    Unauthenticated,
)
from idmd.idm import bounds
from idmd.idm.auth.flow import (
    ANONYMOUS_NAME,
    AuthSessions,
    AuthSubject,
    Continue,
    Denied,
    Outcome,
    StepCheck,
    Success,
)
from idmd.idm.auth.softlock import Softlocks
from idmd.idm.auth.tokens import (
    SessionRecord,
    TokenClaims,
    TokenSigner,
    check_session,
    expired_sessions,
    find_session,
    new_session,
)
from idmd.idm.credentials import passkeys, totp
from idmd.idm.credentials.passwords import Hasher, needs_upgrade
from idmd.idm.directory import lookup
from idmd.idm.directory.views import JSON
from idmd.idm.policy.account import account_policy
from idmd.idm.values import iso_time, time_to_epoch
from idmd.server import QueryServer, ReadTxn
from idmd.server.builtin import UUID_ANONYMOUS
from idmd.server.identity import INTERNAL, Identity, account_identity
from idmd.server.mods import Add, Mod, Remove, Set

log = logging.getLogger(__name__)

# Live sessions one account may hold; the oldest beyond this is ended. Generous for a person
# with many machines, small enough that a script logging in in a loop cannot bloat the entry.
MAX_SESSIONS_PER_ACCOUNT = 64

READ_ONLY_SCOPE = "this session is read-only; log in again for changes"
PRIVILEGE_OVER = "the privilege window of this session is over: run hermit reauth"
SESSION_GONE = "this session has been ended; log in again"


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the verified token and the identity it acts with.

    ``identity.read_only`` is true for a read-only scope and for a read-write session outside
    its privilege window (``privileged_until``, epoch seconds; ``None`` for API tokens).
    """

    identity: Identity
    claims: TokenClaims
    name: str
    spn: str
    privileged_until: int | None = None

    def require_write(self) -> None:
        """Errors: ``ReadOnlySession`` saying whether to log in again or to reauth."""
        if not self.identity.read_only:
            return
        if self.claims.read_only:
            raise ReadOnlySession(READ_ONLY_SCOPE)
        raise ReadOnlySession(PRIVILEGE_OVER)


@dataclass(frozen=True)
class StepResult:
    outcome: Outcome
    token: Secret | None = None
    # A reauth's success: the end of the session's new privilege window (epoch seconds).
    privileged_until: int | None = None


def subject_of(entry: Entry | None, txn: ReadTxn, name: str) -> AuthSubject:
    """The auth subject of an account, with its TOTP state and policy, for a login."""
    if entry is None:
        return AuthSubject(uuid=None, name=name)
    return AuthSubject(
        uuid=entry.uuid,
        anonymous=entry.first("name") == ANONYMOUS_NAME,
        valid_from=time_to_epoch(entry.first("valid_from")),
        expire_at=time_to_epoch(entry.first("expire_at")),
        name=name,
        has_totp=bool(totp.records(entry.get("totp"))),
        policy=account_policy(txn, entry),
    )


def _unknown_subject(name: str | None) -> AuthSubject:
    """The subject of a session that names no account yet (an unknown name, or none)."""
    return AuthSubject(uuid=None, name=name or "", usernameless=name is None)


def spend_totp_code(
    server: QueryServer, uuid: str, attr: str, code: Secret, now: float
) -> float | None:
    """Accept ``code`` for one of the account's ``attr`` TOTPs (``totp``, ``unix_totp``) and
    store the step it used, in one write transaction: two logins racing with one code cannot
    both pass.

    ``None`` when the code was accepted; otherwise when the next time step of the account's
    TOTPs begins, the earliest a fresh code can be tried.
    """
    with server.write() as txn:
        entry = txn.get(uuid)
        values = entry.get(attr) if entry is not None else frozenset()
        found = totp.check_any(values, code.reveal(), now)
        if found is not None:
            old, updated = found
            txn.modify(INTERNAL, uuid, [Remove(attr, old), Add(attr, updated.encode())])
            return None
    return totp.next_step(values, now)


async def upgrade_password_hash(
    server: QueryServer, hasher: Hasher, uuid: str, attr: str, phc: str, password: Secret
) -> None:
    """After ``password`` verified against ``phc`` (the account's ``attr``): replace a hash
    that ``needs_upgrade`` names (imported, or an older Argon2id cost) by Argon2id at today's
    cost, unless the password changed meanwhile."""
    if not needs_upgrade(phc):
        return
    fresh = await hasher.hash(password)
    with server.write() as txn:
        entry = txn.get(uuid)
        # Only the hash just verified is replaced: a password set meanwhile stays.
        if entry is not None and entry.first(attr) == phc:
            txn.modify(INTERNAL, uuid, [Set(attr, frozenset({fresh}))])


def account_valid_at(entry: Entry, now: float) -> bool:
    """Whether ``now`` is inside the account's ``valid_from``/``expire_at``.

    Every bearer request asks this, so it reads the two times and nothing else of the account.
    """
    return AuthSubject(
        uuid=entry.uuid,
        valid_from=time_to_epoch(entry.first("valid_from")),
        expire_at=time_to_epoch(entry.first("expire_at")),
    ).valid_at(now)


class Login:
    def __init__(
        self,
        server: QueryServer,
        signer: TokenSigner,
        hasher: Hasher,
        clock: Clock,
        softlocks: Softlocks,
        origin: str,
    ) -> None:
        self._server = server
        self._signer = signer
        self._hasher = hasher
        self._clock = clock
        self._softlocks = softlocks
        self._rp = passkeys.RelyingParty(origin)
        self.sessions = AuthSessions(clock, passkey=self._rp.request)

    def begin(self, name: str | None, *, read_only: bool) -> tuple[str, Continue]:
        """Open an auth session for ``name`` (which need not exist; see ``flow``), or with
        ``name=None`` a usernameless one (a passkey names its account).

        Errors: ``InvalidValue`` (``bounds.validate_login_name``).
        """
        if name is None:
            subject = _unknown_subject(None)
        else:
            name = bounds.validate_login_name(name)
            with self._server.read() as txn:
                entry = lookup.find(txn, "account", name)
                subject = subject_of(entry, txn, name)
        return self.sessions.begin(subject, read_only=read_only)

    def begin_reauth(self, caller: Caller) -> tuple[str, Continue]:
        """Open an auth session that extends the caller's own session when it succeeds.

        Errors: ``InvalidRequest`` for an API token (always privileged), ``ReadOnlySession``
        for a read-only session (it never writes: log in again without read_only).
        """
        if caller.claims.kind == "api":
            raise InvalidRequest("an API token needs no reauth: it is privileged for its life")
        if caller.claims.read_only:
            raise ReadOnlySession("a read-only session cannot write: log in again for changes")
        with self._server.read() as txn:
            entry = txn.get(caller.claims.account_uuid)
            if entry is None:
                raise TokenRevoked(SESSION_GONE)
            subject = subject_of(entry, txn, caller.name)
        return self.sessions.begin(
            subject,
            read_only=False,
            reauth_of=caller.claims.session_id,
        )

    async def step(
        self,
        session_id: str | None,
        method: object,
        credential: Secret | None,
        *,
        passkey: Mapping[str, object] | None = None,
    ) -> StepResult:
        """One step; ``credential`` is what the body carries under the method's name, and
        for ``method == "passkey"``, ``passkey`` is the browser's ``credential.toJSON()``.

        Errors: ``InvalidValue`` (``bounds.validate_step_credential``, the passkey answer's
        shape: checked first, the session is untouched), ``InvalidAuthState`` (the session
        is then over).
        """
        if method == "passkey":
            assertion = passkeys.read_assertion(passkey) if passkey is not None else None
            check = self.sessions.start_step(session_id, method)
            if assertion is None:
                raise InvalidAuthState("the passkey step needs a passkey")
            reason, proved = self._check_passkey(check, assertion)
            outcome = self.sessions.finish_step(
                check, credential_ok=reason is None, subject=proved, reason=reason
            )
            return self._finish(outcome)
        credential = bounds.validate_step_credential(method, credential)
        check = self.sessions.start_step(session_id, method)
        if check.method != "anonymous":
            if credential is None:
                raise InvalidAuthState(f"the {check.method} step needs a {check.method}")
            subject = check.session.subject
            try:
                async with self._softlocks.attempt(subject.lock_key, check.method) as attempt:
                    ok, wait = await self._check_credential(check, credential)
                    if ok:
                        attempt.succeeded()
                    else:
                        attempt.failed(wait_until=wait)
            except CredentialLocked as locked:
                return StepResult(Denied(locked.detail))
        else:
            ok = True
        outcome = self.sessions.finish_step(check, credential_ok=ok)
        return self._finish(outcome)

    def _finish(self, outcome: Outcome) -> StepResult:
        """A step's outcome, with a success turned into a session (or a reauth's window)."""
        if not isinstance(outcome, Success):
            return StepResult(outcome)
        if outcome.reauth_of is not None:
            until = self._extend_privilege(outcome)
            if until is None:
                return StepResult(Denied(SESSION_GONE))
            return StepResult(outcome, privileged_until=until)
        token = self._start_session(outcome)
        if token is None:
            # The account went away between the step and the record: deny, never half-succeed.
            return StepResult(Denied("wrong password"))
        return StepResult(outcome, token)

    # -- credentials -----------------------------------------------------------------------

    async def _check_credential(
        self, check: StepCheck, credential: Secret
    ) -> tuple[bool, float | None]:
        """Whether ``credential`` is right and, for a wrong TOTP code, until when the next try
        waits (``Softlocks.failed(wait_until=)``)."""
        uuid = check.session.subject.uuid
        if check.method == "password":
            return await self._check_password(uuid, credential), None
        if uuid is None:  # never offered more than a password; kept for the type checker
            return False, None
        if check.method == "totp":
            wait = spend_totp_code(self._server, uuid, "totp", credential, self._clock.now())
            return wait is None, wait
        return self._use_backup_code(uuid, credential), None

    def _check_passkey(
        self, check: StepCheck, assertion: passkeys.Assertion
    ) -> tuple[str | None, AuthSubject | None]:
        """Verify a passkey step and store the passkey's new counter and last use, in one
        write transaction; why it was refused (``None``: it passed) and the account it
        proved, read in that transaction."""
        session = check.session
        subject = session.subject
        ceremony = session.ceremony
        if ceremony is None:  # every session that offers a passkey has one
            return passkeys.UNKNOWN_PASSKEY, None
        named = passkeys.account_of_handle(assertion.user_handle)
        if subject.usernameless:
            owner = named
        else:
            owner = subject.uuid
            # The handle is the authenticator's word for whose passkey it is.
            if named is not None and named != owner:
                owner = None
        if owner is None:
            return passkeys.UNKNOWN_PASSKEY, None
        now = self._clock.now()
        with self._server.write() as txn:
            entry = txn.get(owner)
            if entry is None or entry.first("name") == ANONYMOUS_NAME:
                return passkeys.UNKNOWN_PASSKEY, None
            found = passkeys.find(entry.get("passkey"), assertion.credential_id)
            if found is None:
                return passkeys.UNKNOWN_PASSKEY, None
            value, record = found
            try:
                counter = self._rp.verify_assertion(ceremony, record, assertion)
            except InvalidValue as refused:
                return refused.detail, None
            if not passkeys.counter_ok(record.sign_count, counter):
                log.warning(
                    "passkey %r of account %s refused: signature counter %d after %d, "
                    "possibly a cloned authenticator",
                    record.label, entry.uuid, counter, record.sign_count,
                )
                return passkeys.CLONED, None
            used = record.used(counter, now)
            txn.modify(
                INTERNAL, entry.uuid, [Remove("passkey", value), Add("passkey", used.encode())]
            )
            proved = subject_of(entry, txn, subject.name or str(entry.first("name") or ""))
        return None, proved

    async def _check_password(self, uuid: str | None, password: Secret) -> bool:
        phc = None
        if uuid is not None:
            with self._server.read() as txn:
                entry = txn.get(uuid)
            phc = entry.first("password") if entry is not None else None
        ok = await self._hasher.verify(password, phc)
        if ok and uuid is not None and phc is not None:
            await upgrade_password_hash(self._server, self._hasher, uuid, "password", phc, password)
        return ok

    def _use_backup_code(self, uuid: str, code: Secret) -> bool:
        with self._server.write() as txn:
            entry = txn.get(uuid)
            if entry is None:
                return False
            used = totp.match_backup_code(entry.get("backup_code"), code.reveal())
            if used is None:
                return False
            txn.modify(INTERNAL, uuid, [Remove("backup_code", used)])
        return True

    # -- session records -------------------------------------------------------------------

    def _start_session(self, success: Success) -> Secret | None:
        now = self._clock.now()
        record = new_session(
            read_only=success.read_only,
            now=now,
            lifetime=success.policy.session_lifetime,
            privilege_lifetime=success.policy.privilege_lifetime,
        )
        if success.account_uuid == UUID_ANONYMOUS:
            return self._signer.issue(UUID_ANONYMOUS, record, kind="anonymous")
        with self._server.write() as txn:
            entry = txn.get(success.account_uuid)
            if entry is None:
                return None
            values = entry.get("auth_session")
            over = set(expired_sessions(values, now))
            # (issued_at, stored value): a record is removed by the value stored, never by a
            # re-encoding of what was decoded from it.
            live = sorted(
                (r.issued_at, v)
                for v in values
                if v not in over and (r := SessionRecord.decode(v)) is not None
            )
            mods: list[Mod] = [Remove("auth_session", value) for value in over]
            for _, oldest in live[: max(0, len(live) - MAX_SESSIONS_PER_ACCOUNT + 1)]:
                mods.append(Remove("auth_session", oldest))
            mods.append(Add("auth_session", record.encode()))
            txn.modify(INTERNAL, entry.uuid, mods)
        return self._signer.issue(success.account_uuid, record)

    def _extend_privilege(self, success: Success) -> int | None:
        """Open a new privilege window on the reauthenticated session; its end, or ``None``
        when the session is gone."""
        session_id = success.reauth_of
        assert session_id is not None
        now = self._clock.now()
        with self._server.write() as txn:
            entry = txn.get(success.account_uuid)
            found = find_session(entry.get("auth_session"), session_id) if entry else None
            if entry is None or found is None:
                return None
            value, record = found
            if now >= record.expires_at:
                return None
            until = min(record.expires_at, int(now) + success.policy.privilege_lifetime)
            extended = replace(record, privileged_until=until)
            txn.modify(
                INTERNAL,
                entry.uuid,
                [Remove("auth_session", value), Add("auth_session", extended.encode())],
            )
        return until

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
            raise TokenRevoked(SESSION_GONE)
        now = self._clock.now()
        privileged_until: int | None = None
        if claims.kind == "anonymous":
            # No record to check: the claims must name the anonymous account, read-only.
            if entry.uuid != UUID_ANONYMOUS or not claims.read_only:
                raise Unauthenticated("the bearer token is not valid")
            read_only = True
        else:
            record = check_session(claims, entry.get(claims.record_attr), now)
            if claims.kind == "api":
                read_only = claims.read_only
            else:
                read_only = not record.privileged_at(now)
                privileged_until = record.privilege_end
        if not account_valid_at(entry, now):
            raise AccountExpired("this account is expired or not yet valid")
        return Caller(
            identity=account_identity(entry.uuid, read_only=read_only),
            claims=claims,
            name=entry.first("name") or "",
            spn=entry.first("spn") or "",
            privileged_until=privileged_until,
        )

    # -- a caller's own sessions -----------------------------------------------------------

    def list_sessions(self, caller: Caller) -> list[JSON]:
        """The caller's live login sessions, oldest first. Errors: ``AccessDenied``."""
        _refuse_anonymous(caller)
        with self._server.read() as txn:
            entry = txn.get(caller.claims.account_uuid)
        values = entry.get("auth_session") if entry is not None else frozenset()
        now = self._clock.now()
        records = sorted(
            (r for v in values if (r := SessionRecord.decode(v)) and now < r.expires_at),
            key=lambda r: (r.issued_at, r.id),
        )
        return [
            {
                "id": r.id,
                "scope": r.scope,
                "issued_at": iso_time(r.issued_at),
                "expires_at": iso_time(r.expires_at),
                "privileged_until": (
                    iso_time(r.privilege_end) if r.privilege_end is not None else None
                ),
                "current": caller.claims.kind == "session" and r.id == caller.claims.session_id,
            }
            for r in records
        ]

    def destroy_session(self, caller: Caller, session_id: str) -> bool:
        """End one of the caller's own sessions; whether it existed.

        Ending the current session is a logout and always allowed; ending another needs a
        session that may write now (``ReadOnlySession`` otherwise). Errors: ``AccessDenied``
        for anonymous, whose sessions are every host's.
        """
        _refuse_anonymous(caller)
        current = caller.claims.kind == "session" and session_id == caller.claims.session_id
        if not current:
            caller.require_write()
        return self._end_session(caller.claims.account_uuid, session_id)

    def logout(self, caller: Caller) -> bool:
        """End the caller's session: its token stops working at once; whether one was ended.

        ``False`` for a token that names no session record and so stays valid: an anonymous
        token (stateless, valid until its expiry) and an API token (``api-token destroy``
        ends it).
        """
        if caller.claims.kind != "session":
            return False
        return self._end_session(caller.claims.account_uuid, caller.claims.session_id)

    def _end_session(self, account_uuid: str, session_id: str) -> bool:
        """Remove the session record ``session_id`` of the account; whether there was one."""
        with self._server.write() as txn:
            entry = txn.get(account_uuid)
            found = find_session(entry.get("auth_session"), session_id) if entry else None
            if entry is None or found is None:
                return False
            _, changed = txn.modify(INTERNAL, entry.uuid, [Remove("auth_session", found[0])])
        return changed


def _refuse_anonymous(caller: Caller) -> None:
    if caller.name == ANONYMOUS_NAME:
        raise AccessDenied("anonymous sessions belong to every host: they are not listed")
