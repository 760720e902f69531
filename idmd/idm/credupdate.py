"""Credential update sessions: changes to one account's credentials, staged, then committed.

This module owns the sessions (an in-memory, bounded, expiring store), what a session may
stage (a password, a unix password, TOTPs added and removed on the primary or the unix
credential, fresh backup codes), the status view, and the commit. It does not speak HTTP
(``idmd/https/credentials.py``), judge passwords (the injected ``PasswordVetter``, i.e.
``idmd.idm.pwpolicy.vet_password``) or keep reset tokens (``resettoken.py``).

Life of a session (docs/credential-updates.md)::

    begin (owner / admin / reset token) ──► OPEN ──stage…──► OPEN ──commit──► gone (written)
                                             │                     └─cancel──► gone
                                             └── idle CREDENTIAL_UPDATE_IDLE_SECONDS ──► gone

Rules:
- Who may begin: a read-write caller that may modify the account's ``password`` (the owner
  through ``acp_self``, or an admin), checked with the caller's identity when the session
  begins; or whoever redeems the account's reset token. The unix password and unix TOTPs
  also need the right to modify ``unix_password`` (a reset token acts as the owner).
- Nothing is written before commit. Commit writes every staged change in one write
  transaction as ``INTERNAL`` (the right was checked at begin); slow work (Argon2id) happens
  when a change is staged, never inside that transaction.
- One session per account: beginning another ends the first (the latest person to begin
  wins; a forgotten session never locks an admin out for the idle time).
- A session's id is its capability (32 random bytes; no bearer token is needed after begin).
  Any use after commit, cancel or the idle timeout, or of an unknown id, is
  ``InvalidCredentialUpdate``. Each use restarts the idle clock.
- Commit refuses (and the session stays open) when the account's policy asks for ``mfa`` or
  more and the account would be left without a TOTP, and when a password was vetted as the
  password of an account with a second factor that the session then removed.
- Removing the last TOTP also removes the backup codes, which only stand in for a TOTP code;
  backup codes can be generated only while a TOTP is (or will be) there.
- Secrets (passwords, TOTP secrets, backup codes, the session id) never reach a repr, a log
  line or an error message.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from idmd import limits
from idmd.clock import Clock
from idmd.entry import Entry
from idmd.errors import (
    AccessDenied,
    AccountExpired,
    Conflict,
    InvalidCredentialUpdate,
    InvalidRequest,
    InvalidValue,
    MfaRequired,
    NotFound,
    PasswordRejected,
)
from idmd.idm import lookup, resettoken, totp
from idmd.idm.login import Caller, subject_of
from idmd.idm.passwords import Hasher, Secret
from idmd.idm.policy import account_policy
from idmd.idm.totp import TotpRecord
from idmd.idm.views import JSON
from idmd.server import QueryServer, ReadTxn
from idmd.server.identity import INTERNAL, account_identity
from idmd.server.mods import Add, Mod, Remove, Set

PasswordAttr = Literal["password", "unix_password"]
TotpAttr = Literal["totp", "unix_totp"]
ACCOUNT_CLASS = "person"
# The second factor that guards each password (what ``has_second_factor`` looks at).
GUARD: dict[PasswordAttr, TotpAttr] = {"password": "totp", "unix_password": "unix_totp"}
DEFAULT_TOTP_ALGORITHM: totp.Algorithm = "sha256"
MAX_TOTP_LABEL_CHARS = 64
_LABEL_RE = re.compile(r"[a-z0-9._-]+")


class PasswordVetter(Protocol):
    """``idmd.idm.pwpolicy.vet_password``: the password policy (raises ``PasswordRejected``)."""

    def __call__(
        self,
        server: QueryServer,
        account_uuid: str,
        password: str,
        *,
        has_second_factor: bool | None = None,
    ) -> Awaitable[Secret]: ...


def validate_totp_label(raw: object) -> str:
    if not isinstance(raw, str):
        raise InvalidValue("a TOTP label must be a string")
    label = raw.lower()
    if not 1 <= len(label) <= MAX_TOTP_LABEL_CHARS or not _LABEL_RE.fullmatch(label):
        raise InvalidValue(
            f"a TOTP label has 1 to {MAX_TOTP_LABEL_CHARS} characters of a-z, 0-9, '.', '_', '-'"
        )
    return label


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).replace(tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True)
class StagedPassword:
    phc: str = field(repr=False)
    # The rule it was vetted under: the guarding TOTP was there (or staged) at that moment.
    vetted_with_second_factor: bool


@dataclass(frozen=True)
class PendingTotp:
    """A TOTP shown to the person and not yet confirmed with a code."""

    attr: TotpAttr
    record: TotpRecord


@dataclass
class UpdateSession:
    """What one session has staged for its account. Invariant: ``account_uuid`` never changes."""

    id: str = field(repr=False)
    account_uuid: str
    may_unix: bool
    last_used: float
    passwords: dict[PasswordAttr, StagedPassword] = field(default_factory=dict)
    totp_added: dict[TotpAttr, dict[str, TotpRecord]] = field(
        default_factory=lambda: {"totp": {}, "unix_totp": {}}
    )
    totp_removed: dict[TotpAttr, set[str]] = field(
        default_factory=lambda: {"totp": set(), "unix_totp": set()}
    )
    pending_totp: PendingTotp | None = None
    # Hashes of freshly generated codes, or None when the codes are not being replaced.
    backup_codes: frozenset[str] | None = field(default=None, repr=False)

    # -- the account as it would be after commit ------------------------------------------

    def totp_labels(self, attr: TotpAttr, entry: Entry) -> list[str]:
        current = {r.label for r in totp.records(entry.get(attr))}
        kept = current - self.totp_removed[attr]
        return sorted(kept | set(self.totp_added[attr]))

    def has_second_factor(self, attr: TotpAttr, entry: Entry) -> bool:
        return bool(self.totp_labels(attr, entry))

    def has_changes(self) -> bool:
        return bool(
            self.passwords
            or any(self.totp_added.values())
            or any(self.totp_removed.values())
            or self.backup_codes is not None
        )

    def commit_blocker(
        self, entry: Entry, min_credential: str
    ) -> MfaRequired | PasswordRejected | None:
        """Why commit would be refused now (the error commit raises), or ``None``."""
        if min_credential != "password" and not self.has_second_factor("totp", entry):
            return MfaRequired(
                f"this account's policy asks for {min_credential}: add a TOTP before saving"
            )
        for attr, staged in self.passwords.items():
            if staged.vetted_with_second_factor and not self.has_second_factor(
                GUARD[attr], entry
            ):
                noun = attr.replace("_", " ")
                return PasswordRejected(
                    f"the new {noun} was accepted for an account with a second factor, "
                    "which this session removes: set the password again"
                )
        return None

    def mods(self, entry: Entry) -> list[Mod]:
        """The modifications that apply what is staged to ``entry`` as it is now."""
        mods: list[Mod] = [
            Set(attr, frozenset({staged.phc})) for attr, staged in self.passwords.items()
        ]
        for attr in ("totp", "unix_totp"):
            added, removed = self.totp_added[attr], self.totp_removed[attr]
            for value in entry.get(attr):
                record = totp.TotpRecord.decode(value)
                if record is not None and (record.label in removed or record.label in added):
                    mods.append(Remove(attr, value))
            mods.extend(Add(attr, record.encode()) for record in added.values())
        if not self.has_second_factor("totp", entry):
            mods.append(Set("backup_code", frozenset()))
        elif self.backup_codes is not None:
            mods.append(Set("backup_code", self.backup_codes))
        return mods

    def status(self, entry: Entry, *, min_credential: str, expires_at: float) -> JSON:
        """What is staged and what the account would hold after commit; never a secret."""

        def password_state(attr: PasswordAttr) -> str:
            if attr in self.passwords:
                return "staged"
            return "set" if entry.get(attr) else "unset"

        if self.backup_codes is not None:
            backup_codes = len(self.backup_codes)
        else:
            backup_codes = len(entry.get("backup_code"))
        if not self.has_second_factor("totp", entry):
            backup_codes = 0
        pending = self.pending_totp
        blocker = self.commit_blocker(entry, min_credential)
        return {
            "account": {
                "uuid": entry.uuid,
                "name": entry.first("name"),
                "spn": entry.first("spn"),
            },
            "expires_at": _time(expires_at),
            "changed": self.has_changes(),
            "password": password_state("password"),
            "unix_password": password_state("unix_password"),
            "unix_allowed": self.may_unix,
            "totp": self.totp_labels("totp", entry),
            "unix_totp": self.totp_labels("unix_totp", entry),
            "pending_totp": None
            if pending is None
            else {"label": pending.record.label, "unix": pending.attr == "unix_totp"},
            "backup_codes": backup_codes,
            "min_credential": min_credential,
            "commit_blocker": None if blocker is None else blocker.detail,
        }


_GONE = "unknown or finished credential update session: begin again"


class UpdateSessions:
    """The bounded, expiring store of credential update sessions (no I/O)."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_sessions: int = limits.MAX_CREDENTIAL_UPDATE_SESSIONS,
        idle: float = limits.CREDENTIAL_UPDATE_IDLE_SECONDS,
    ) -> None:
        self._clock = clock
        self._max = max_sessions
        self.idle = idle
        # Invariant: ordered by last_used (each use moves a session to the end), so the idle
        # ones are at the front; at most one session per account (``_by_account``).
        self._sessions: OrderedDict[str, UpdateSession] = OrderedDict()
        self._by_account: dict[str, str] = {}

    def __len__(self) -> int:
        self._expire()
        return len(self._sessions)

    def begin(self, account_uuid: str, *, may_unix: bool) -> UpdateSession:
        """A new session for the account; any other session of that account ends."""
        self._expire()
        previous = self._by_account.get(account_uuid)
        if previous is not None:
            self.end(previous)
        while len(self._sessions) >= self._max:
            _, oldest = self._sessions.popitem(last=False)
            del self._by_account[oldest.account_uuid]
        session = UpdateSession(
            id=secrets.token_urlsafe(32),
            account_uuid=account_uuid,
            may_unix=may_unix,
            last_used=self._clock.now(),
        )
        self._sessions[session.id] = session
        self._by_account[account_uuid] = session.id
        return session

    def use(self, session_id: object) -> UpdateSession:
        """The open session ``session_id``, its idle clock restarted.

        Errors: ``InvalidCredentialUpdate`` (unknown, committed, cancelled or idle too long).
        """
        self._expire()
        session = self._sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise InvalidCredentialUpdate(_GONE)
        session.last_used = self._clock.now()
        self._sessions.move_to_end(session.id)
        return session

    def expires_at(self, session: UpdateSession) -> float:
        return session.last_used + self.idle

    def end(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            del self._by_account[session.account_uuid]

    def _expire(self) -> None:
        now = self._clock.now()
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if now < oldest.last_used + self.idle:
                break
            self.end(oldest.id)


@dataclass(frozen=True)
class TotpEnrolment:
    """What the person's app needs for a TOTP being added (secrets: shown once)."""

    label: str
    secret: Secret
    uri: Secret
    algorithm: str
    digits: int
    step: int


class CredentialUpdates:
    """The sessions and their I/O: beginning, staging (with hashing), status and commit.

    Every method that takes a session id raises ``InvalidCredentialUpdate`` for a session that
    is not open, and ``NotFound`` (ending the session) when the account has gone.
    """

    def __init__(
        self,
        server: QueryServer,
        hasher: Hasher,
        clock: Clock,
        *,
        vet: PasswordVetter,
        issuer: str,
    ) -> None:
        self._server = server
        self._hasher = hasher
        self._clock = clock
        self._vet = vet
        self._issuer = issuer
        self.sessions = UpdateSessions(clock)

    # -- beginning -------------------------------------------------------------------------

    def begin(self, caller: Caller, text: str) -> str:
        """Open a session for person ``text`` as ``caller``; the session id.

        Errors: ``ReadOnlySession`` (read-only, or outside the privilege window: reauth),
        ``NotFound``, ``AccessDenied``.
        """
        caller.require_write()
        with self._server.read() as txn:
            entry = lookup.find_or_404(txn, ACCOUNT_CLASS, text)
            if not txn.can_modify(caller.identity, entry, ["password"]):
                raise AccessDenied(f"you may not change the credentials of {text!r}")
            may_unix = txn.can_modify(caller.identity, entry, ["unix_password"])
        return self.sessions.begin(entry.uuid, may_unix=may_unix).id

    def begin_with_reset_token(self, token: str) -> str:
        """Redeem ``token`` (it is used up) and open a session for its person, acting as them.

        Errors: ``InvalidResetToken`` (unknown, used or expired), ``AccountExpired`` (the
        token is then kept, so it works once the account is valid again).
        """
        now = self._clock.now()
        with self._server.read() as txn:
            found = resettoken.find(txn, token)
        if found is None:
            raise resettoken.invalid()
        if not subject_of(found).valid_at(now):
            raise AccountExpired("this account is expired or not yet valid")
        with self._server.write() as txn:
            entry = resettoken.redeem(txn, token, now)
            owner = account_identity(entry.uuid, read_only=False) if entry else None
            may_unix = entry is not None and owner is not None and txn.can_modify(
                owner, entry, ["unix_password"]
            )
        if entry is None:
            raise resettoken.invalid()
        return self.sessions.begin(entry.uuid, may_unix=may_unix).id

    def create_reset_token(
        self, caller: Caller, text: str, ttl: int = limits.DEFAULT_RESET_TOKEN_TTL_SECONDS
    ) -> tuple[Secret, str]:
        """A new reset token for person ``text`` (replacing any other) and its expiry time.

        Who: a read-write caller that may modify the person's ``password`` and is not the
        person (who can begin a session directly). Errors: ``ReadOnlySession``,
        ``NotFound``, ``AccessDenied``, ``InvalidValue`` (ttl).
        """
        ttl = resettoken.validate_ttl(ttl)
        caller.require_write()
        with self._server.write() as txn:
            entry = lookup.find_or_404(txn, ACCOUNT_CLASS, text)
            if entry.uuid == caller.identity.uuid:
                raise AccessDenied(
                    "a reset token is for someone else: change your own credentials with "
                    "hermit person credential update"
                )
            if not txn.can_modify(caller.identity, entry, ["password"]):
                raise AccessDenied(f"you may not change the credentials of {text!r}")
            token, record = resettoken.create(
                txn, entry, issued_by=caller.identity.uuid or "", now=self._clock.now(), ttl=ttl
            )
        return token, _time(record.expires_at)

    # -- inside a session --------------------------------------------------------------------

    def _account(self, txn: ReadTxn, session: UpdateSession) -> Entry:
        entry = txn.get(session.account_uuid)
        if entry is None:
            self.sessions.end(session.id)
            raise NotFound("the account of this credential update session is gone")
        return entry

    def _status(self, txn: ReadTxn, session: UpdateSession) -> JSON:
        entry = self._account(txn, session)
        return session.status(
            entry,
            min_credential=account_policy(txn, entry).min_credential,
            expires_at=self.sessions.expires_at(session),
        )

    def status(self, session_id: object) -> JSON:
        session = self.sessions.use(session_id)
        with self._server.read() as txn:
            return self._status(txn, session)

    async def set_password(self, session_id: object, attr: PasswordAttr, password: Secret) -> JSON:
        """Vet and hash ``password`` and stage it as the account's ``attr``.

        Errors: ``PasswordRejected`` (the policy's reason), ``AccessDenied`` (the unix
        password without the right to it).
        """
        session = self.sessions.use(session_id)
        if attr == "unix_password" and not session.may_unix:
            raise AccessDenied("you may not change the unix password of this account")
        with self._server.read() as txn:
            entry = self._account(txn, session)
        second = session.has_second_factor(GUARD[attr], entry)
        await self._vet(self._server, entry.uuid, password, has_second_factor=second)
        phc = await self._hasher.hash(password)
        # The session may have ended while this task waited for the vetting and hashing.
        session = self.sessions.use(session_id)
        session.passwords[attr] = StagedPassword(phc, vetted_with_second_factor=second)
        return self.status(session_id)

    def begin_totp(
        self,
        session_id: object,
        label: str,
        *,
        unix: bool,
        algorithm: totp.Algorithm = DEFAULT_TOTP_ALGORITHM,
    ) -> TotpEnrolment:
        """A fresh TOTP for the person's app, pending until ``confirm_totp`` (replacing any
        other pending one). Errors: ``Conflict`` (the label is taken), ``InvalidRequest``
        (too many TOTPs), ``AccessDenied`` (unix without the right)."""
        session = self.sessions.use(session_id)
        attr: TotpAttr = "unix_totp" if unix else "totp"
        if unix and not session.may_unix:
            raise AccessDenied("you may not change the unix credential of this account")
        label = validate_totp_label(label)
        with self._server.read() as txn:
            entry = self._account(txn, session)
        labels = session.totp_labels(attr, entry)
        if label in labels:
            raise Conflict(f"there is a TOTP labelled {label!r} already: remove it first")
        if len(labels) >= limits.MAX_TOTPS_PER_CREDENTIAL:
            raise InvalidRequest(
                f"a credential may have at most {limits.MAX_TOTPS_PER_CREDENTIAL} TOTPs"
            )
        record = totp.new_record(label, algorithm)
        session.pending_totp = PendingTotp(attr, record)
        account = str(entry.first("spn")) + (" (unix)" if unix else "")
        return TotpEnrolment(
            label=label,
            secret=Secret(record.secret),
            uri=totp.provisioning_uri(record, account, self._issuer),
            algorithm=record.algorithm,
            digits=record.digits,
            step=record.step,
        )

    def confirm_totp(self, session_id: object, code: str) -> JSON:
        """Stage the pending TOTP once ``code`` shows the app has it (falling back to SHA-1
        for apps that ignore the algorithm). Errors: ``InvalidRequest`` (none pending),
        ``InvalidValue`` (the code does not match; the TOTP stays pending)."""
        session = self.sessions.use(session_id)
        pending = session.pending_totp
        if pending is None:
            raise InvalidRequest("no TOTP is being added in this session: begin one first")
        confirmed = totp.confirm(pending.record, code, self._clock.now())
        if confirmed is None:
            raise InvalidValue(
                "the code does not match this TOTP: type the code the app shows now, and "
                "check the device's clock"
            )
        session.pending_totp = None
        session.totp_removed[pending.attr].discard(confirmed.label)
        session.totp_added[pending.attr][confirmed.label] = confirmed
        return self.status(session_id)

    def remove_totp(self, session_id: object, label: str, *, unix: bool) -> tuple[bool, JSON]:
        """Stage the removal of the TOTP ``label``; whether there was one to remove."""
        session = self.sessions.use(session_id)
        attr: TotpAttr = "unix_totp" if unix else "totp"
        if unix and not session.may_unix:
            raise AccessDenied("you may not change the unix credential of this account")
        label = validate_totp_label(label)
        with self._server.read() as txn:
            entry = self._account(txn, session)
        if label not in session.totp_labels(attr, entry):
            return False, self.status(session_id)
        if session.totp_added[attr].pop(label, None) is None:
            session.totp_removed[attr].add(label)
        return True, self.status(session_id)

    def generate_backup_codes(self, session_id: object) -> tuple[list[Secret], JSON]:
        """Fresh backup codes (shown once, staged hashed) replacing the current ones.

        Errors: ``InvalidRequest`` when the account will have no TOTP to stand in for.
        """
        session = self.sessions.use(session_id)
        with self._server.read() as txn:
            entry = self._account(txn, session)
        if not session.has_second_factor("totp", entry):
            raise InvalidRequest("backup codes stand in for a TOTP code: add a TOTP first")
        codes = totp.generate_backup_codes()
        session.backup_codes = frozenset(totp.hash_backup_code(code) for code in codes)
        return codes, self.status(session_id)

    def commit(self, session_id: object) -> bool:
        """Write everything staged in one transaction and end the session; whether the
        account changed. Errors: ``MfaRequired``, ``PasswordRejected`` (both leave the session
        open to be fixed)."""
        session = self.sessions.use(session_id)
        with self._server.write() as txn:
            entry = self._account(txn, session)
            policy = account_policy(txn, entry)
            blocker = session.commit_blocker(entry, policy.min_credential)
            if blocker is not None:
                raise blocker
            _, changed = txn.modify(INTERNAL, entry.uuid, session.mods(entry))
        self.sessions.end(session.id)
        return changed

    def cancel(self, session_id: object) -> None:
        """End the session; nothing staged is written."""
        self.sessions.end(self.sessions.use(session_id).id)
