"""Credential update sessions: what one session has staged for an account, and their store.

This module owns the sessions (an in-memory, bounded, expiring store), what a session may
stage (a password, a unix password, TOTPs added and removed on the primary or the unix
credential, fresh backup codes, passkeys added, renamed and removed), the status view, the
rules commit applies, and the modifications it writes. It reads entries it is handed and
performs no I/O: beginning, hashing, vetting and the commit's transaction are
``idmd.idm.credentials.updates``; HTTP is ``idmd/https/credentials.py``.

Life of a session (docs/credential-updates.md)::

    begin (owner / admin / reset token) ──► OPEN ──stage…──► OPEN ──commit──► gone (written)
                                             │                     └─cancel──► gone
                                             └── idle CREDENTIAL_UPDATE_IDLE_SECONDS ──► gone

Rules:
- One session per account: beginning another ends the first (the latest person to begin
  wins; a forgotten session never locks an admin out for the idle time).
- A session's id is its capability (32 random bytes). Any use after commit, cancel or the
  idle timeout, or of an unknown id, is ``InvalidCredentialUpdate``; each use restarts the
  idle clock. At most ``MAX_CREDENTIAL_UPDATE_SESSIONS`` are held; beyond, the idlest goes.
- Commit is refused (the session stays open to be fixed) when the account's policy asks for
  ``mfa`` and the account would be left with neither a TOTP nor a passkey, or asks for
  ``passkey`` and it would be left without a passkey, and when a password was vetted as the
  password of an account with a second factor (a TOTP) that the session then removed.
- Passkeys: labelled, a label unique per account, at most
  ``passkeys.MAX_PASSKEYS_PER_ACCOUNT``; one registration ceremony is pending at a time (a
  new one replaces it) and its challenge is forgotten by the answer that uses it.
- Removing the last TOTP also removes the backup codes, which only stand in for a TOTP code.
- A session carries the ``Authority`` it began with; the I/O layer asks it again at every
  step and at commit (docs/credential-updates.md "Who may, for how long").
- Secrets (password hashes, TOTP secrets, backup code hashes, the session id, the token's
  claims) never reach a repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hermit_common.clock import Clock
from hermit_common.lru import Lru
from idmd import limits
from idmd.entry import Entry
from idmd.errors import InvalidCredentialUpdate, MfaRequired, PasswordRejected
from idmd.idm.auth.tokens import TokenClaims
from idmd.idm.credentials import passkeys, totp
from idmd.idm.credentials.passkeys import Ceremony, PasskeyRecord
from idmd.idm.credentials.totp import TotpRecord
from idmd.idm.directory.views import JSON
from idmd.idm.ids import new_id
from idmd.idm.values import iso_time, validate_label
from idmd.server.mods import Add, Mod, Remove, Set

PasswordAttr = Literal["password", "unix_password"]
TotpAttr = Literal["totp", "unix_totp"]
# The second factor that guards each password (what ``has_second_factor`` looks at).
GUARD: dict[PasswordAttr, TotpAttr] = {"password": "totp", "unix_password": "unix_totp"}
DEFAULT_TOTP_ALGORITHM: totp.Algorithm = "sha256"
MAX_TOTP_LABEL_CHARS = 64


def validate_totp_label(raw: object) -> str:
    return validate_label(raw, "a TOTP label", MAX_TOTP_LABEL_CHARS)


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


@dataclass(frozen=True)
class PendingPasskey:
    """A passkey whose creation options were sent and whose answer has not come yet."""

    label: str
    ceremony: Ceremony = field(repr=False)


@dataclass(frozen=True)
class Authority:
    """Whose right a session uses: asked again at every step and at commit
    (``updates.CredentialUpdates``), so a session never outlives it."""

    # The account whose right to the person's credentials it is: the caller that began the
    # session, or the admin who made the reset token it began with (the commit is written
    # on this account's behalf, so the invariants judge it: plugins/privileged.py).
    actor_uuid: str
    # The account whose right to the unix credential it is: the caller, or for a reset
    # token the person (what they may change of their own account).
    unix_by: str
    # The bearer token the caller began with, whose session must stay live and privileged;
    # None for a reset token's session.
    claims: TokenClaims | None = field(default=None, repr=False)
    # The owner's own login session that began it: the one session a commit leaves.
    keep_session: str | None = field(default=None, repr=False)


@dataclass
class UpdateSession:
    """What one session has staged for its account. Invariant: ``account_uuid`` and
    ``authority`` never change."""

    id: str = field(repr=False)
    account_uuid: str
    may_unix: bool
    authority: Authority
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
    # Passkeys by label: staged (new, or renamed: the record under its new label) and the
    # labels of stored ones that go. Invariant: no label is in both.
    passkeys_added: dict[str, PasskeyRecord] = field(default_factory=dict)
    passkeys_removed: set[str] = field(default_factory=set)
    pending_passkey: PendingPasskey | None = None

    # -- the account as it would be after commit ------------------------------------------

    def totp_labels(self, attr: TotpAttr, entry: Entry) -> list[str]:
        current = {r.label for r in totp.records(entry.get(attr))}
        kept = current - self.totp_removed[attr]
        return sorted(kept | set(self.totp_added[attr]))

    def has_second_factor(self, attr: TotpAttr, entry: Entry) -> bool:
        return bool(self.totp_labels(attr, entry))

    def passkey_records(self, entry: Entry) -> list[PasskeyRecord]:
        """The account's passkeys after commit, by label."""
        kept = [
            r
            for r in passkeys.records(entry.get("passkey"))
            if r.label not in self.passkeys_removed and r.label not in self.passkeys_added
        ]
        return sorted([*kept, *self.passkeys_added.values()], key=lambda r: r.label)

    def stored_passkey(self, entry: Entry, label: str) -> PasskeyRecord | None:
        """The passkey ``label`` as it would be after commit, or ``None``."""
        for record in self.passkey_records(entry):
            if record.label == label:
                return record
        return None

    def stage_passkey(self, record: PasskeyRecord) -> None:
        self.passkeys_removed.discard(record.label)
        self.passkeys_added[record.label] = record

    def unstage_passkey(self, entry: Entry, label: str) -> None:
        """Remove the passkey ``label`` (staged or stored) from the account-to-be."""
        if self.passkeys_added.pop(label, None) is not None and not any(
            r.label == label for r in passkeys.records(entry.get("passkey"))
        ):
            return
        self.passkeys_removed.add(label)

    def stages_unix(self) -> bool:
        """Whether anything staged touches the unix credential."""
        pending = self.pending_totp
        return bool(
            "unix_password" in self.passwords
            or self.totp_added["unix_totp"]
            or self.totp_removed["unix_totp"]
            or (pending is not None and pending.attr == "unix_totp")
        )

    def has_changes(self) -> bool:
        return bool(
            self.passwords
            or any(self.totp_added.values())
            or any(self.totp_removed.values())
            or self.backup_codes is not None
            or self.passkeys_added
            or self.passkeys_removed
        )

    def commit_blocker(
        self, entry: Entry, min_credential: str
    ) -> MfaRequired | PasswordRejected | None:
        """Why commit would be refused now (the error commit raises), or ``None``."""
        has_passkey = bool(self.passkey_records(entry))
        if min_credential == "passkey" and not has_passkey:
            return MfaRequired(
                "this account's policy asks for passkey: add a passkey before saving"
            )
        if min_credential == "mfa" and not (
            has_passkey or self.has_second_factor("totp", entry)
        ):
            return MfaRequired(
                "this account's policy asks for mfa: add a TOTP or a passkey before saving"
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
        for value in entry.get("passkey"):
            passkey = PasskeyRecord.decode(value)
            if passkey is not None and (
                passkey.label in self.passkeys_removed or passkey.label in self.passkeys_added
            ):
                mods.append(Remove("passkey", value))
        mods.extend(Add("passkey", staged.encode()) for staged in self.passkeys_added.values())
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
            "expires_at": iso_time(expires_at),
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
            "passkeys": [record.view() for record in self.passkey_records(entry)],
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
        self.idle = idle
        # Invariant: ordered by last_used (each use moves a session to the end), so the idle
        # ones are at the front; at most one session per account (``_by_account``).
        self._sessions: Lru[str, UpdateSession] = Lru(max_sessions)
        self._by_account: dict[str, str] = {}

    def __len__(self) -> int:
        self._expire()
        return len(self._sessions)

    def begin(self, account_uuid: str, *, may_unix: bool, authority: Authority) -> UpdateSession:
        """A new session for the account; any other session of that account ends."""
        self._expire()
        previous = self._by_account.get(account_uuid)
        if previous is not None:
            self.end(previous)
        for _, oldest in self._sessions.trim(room=1):
            del self._by_account[oldest.account_uuid]
        session = UpdateSession(
            id=new_id(32),
            account_uuid=account_uuid,
            may_unix=may_unix,
            authority=authority,
            last_used=self._clock.now(),
        )
        self._sessions.put(session.id, session)
        self._by_account[account_uuid] = session.id
        return session

    def use(self, session_id: object) -> UpdateSession:
        """The open session ``session_id``, its idle clock restarted.

        Errors: ``InvalidCredentialUpdate`` (unknown, committed, cancelled or idle too long).
        """
        self._expire()
        session = self._sessions.touch(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise InvalidCredentialUpdate(_GONE)
        session.last_used = self._clock.now()
        return session

    def expires_at(self, session: UpdateSession) -> float:
        return session.last_used + self.idle

    def end(self, session_id: str) -> None:
        session = self._sessions.pop(session_id)
        if session is not None:
            del self._by_account[session.account_uuid]

    def _expire(self) -> None:
        now = self._clock.now()
        while oldest := self._sessions.oldest(1):
            _, session = oldest[0]
            if now < session.last_used + self.idle:
                break
            self.end(session.id)
