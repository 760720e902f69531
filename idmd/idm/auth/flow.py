"""The stepped login flow of DESIGN.md, as a state machine without I/O.

This module holds pending auth sessions and decides what each step leads to. It does not read
entries, verify credentials or issue tokens: the caller (``idmd.idm.auth.login``) loads the account
into an ``AuthSubject``, checks the credential a step carries (softlocks included), and turns a
``Success`` into a session record and a token, or into a longer privilege window (reauth).

States of one auth session::

    begin ──► PENDING(stages) ──start_step(method)──► IN_STEP ──finish_step(ok)──┬─► Success
                    ▲                                                         ├─► Denied
                    └──────────────── Continue(next stage) ◄──────────────────┘

Rules:
- The methods come in stages; a step uses one of the alternatives of the first stage left.
  An account with a TOTP is asked ``["totp", "backup_code", "passkey"]`` first, then
  ``["password"]``: a wrong code ends the session before any password is tried, so a password
  cannot be guessed (nor tested against the softlock) by someone without the second factor.
  Other accounts are asked ``["password", "passkey"]``.
- ``passkey`` is offered in the first stage to every name but anonymous, unknown names too,
  with request options of the same kind (no ``allowCredentials``), so nothing tells a real
  name from an unknown one. A passkey step that succeeds ends the flow at once (a passkey with
  user verification is multi-factor). Its ceremony (the challenge) lives in the session and
  is forgotten by the step that uses it, so an assertion is accepted at most once.
- A usernameless session (``begin`` with no name) is offered ``["passkey"]`` only; its account
  is the one the assertion's user handle names, which the caller resolves and hands to
  ``finish_step``.
- A step names a session id and one of the methods offered; anything else (no id, an unknown,
  expired or finished id, another method) is ``InvalidAuthState``. ``start_step`` takes the
  session out of the store, so a session can be stepped at most once at a time and a finished
  one is gone for good.
- An unknown name is offered ``["password", "passkey"]`` like an account without TOTP and
  denied at the step with the same reason as a wrong password (or an unknown passkey), so
  names cannot be probed.
- ``anonymous`` is offered ``["anonymous"]``; its success is always read-only.
- Validity (``valid_from`` / ``expire_at``) and the account policy's ``min_credential`` are
  judged only after every credential was right, so they tell nothing to someone without them.
  ``min_credential = passkey`` is met only by a passkey step; ``mfa`` by a passkey step or a
  TOTP (or backup code) with the password.
- A reauth session (``reauth_of``: the id of the caller's session record) runs the same stages;
  its success names that record, whose privilege window the caller extends.
- At most ``max_pending`` sessions wait at once (the oldest is dropped beyond that), and each
  lives ``ttl`` seconds of the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from hermit_common.clock import Clock
from hermit_common.lru import Lru
from idmd import limits
from idmd.errors import InvalidAuthState
from idmd.idm.auth.softlock import unknown_key
from idmd.idm.credentials.passkeys import Ceremony
from idmd.idm.ids import new_id
from idmd.idm.policy.account import AccountPolicy

ANONYMOUS_NAME = "anonymous"

WRONG_CREDENTIALS = "wrong password"
WRONG_CODE = "wrong or already used code"
WRONG_BACKUP_CODE = "wrong or already used backup code"
ACCOUNT_EXPIRED = "account expired or not yet valid"
MFA_MISSING = (
    "this account's policy asks for a second factor and the account has no TOTP: sign in with "
    "a passkey, or ask an admin for a reset token and add one"
)
PASSKEY_MISSING = "this account's policy asks for a passkey: sign in with a passkey"
WRONG_PASSKEY = "unknown passkey: it is not registered for this account"
_WRONG = {
    "password": WRONG_CREDENTIALS,
    "totp": WRONG_CODE,
    "backup_code": WRONG_BACKUP_CODE,
    "passkey": WRONG_PASSKEY,
}

Stage = tuple[str, ...]
JSON = dict[str, Any]
# Makes a passkey ceremony: the request options to send and the ceremony to keep.
PasskeyRequest = Callable[[], "tuple[JSON, Ceremony]"]
# Frozen, so one instance can be every default.
DEFAULT_POLICY = AccountPolicy()


@dataclass(frozen=True)
class AuthSubject:
    """What the state machine needs to know of the account a client names.

    Invariant: ``uuid is None`` exactly when the name matched no account that may log in.
    """

    uuid: str | None
    anonymous: bool = False
    valid_from: float | None = None
    expire_at: float | None = None
    # The name as the client typed it (keys the softlocks of an unknown name).
    name: str = ""
    has_totp: bool = False
    policy: AccountPolicy = DEFAULT_POLICY
    # Begun without a name: the account is the one the passkey's user handle names.
    usernameless: bool = False

    def valid_at(self, now: float) -> bool:
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.expire_at is None or now < self.expire_at

    @property
    def lock_key(self) -> str:
        """The ``account`` key of this subject's softlocks."""
        return self.uuid if self.uuid is not None else unknown_key(self.name)

    def policy_refusal(self, *, by_passkey: bool = False) -> str | None:
        """Why the account policy refuses this account a session, or ``None``;
        ``by_passkey``: the session was won by a passkey step."""
        if self.anonymous or by_passkey:
            return None
        if self.policy.min_credential == "passkey":
            return PASSKEY_MISSING
        if self.policy.min_credential == "mfa" and not self.has_totp:
            return MFA_MISSING
        return None


@dataclass(frozen=True)
class Continue:
    methods: tuple[str, ...]
    state: Literal["continue"] = "continue"
    # The request options ({"publicKey": {...}}, the JSON form the browser's
    # PublicKeyCredential.parseRequestOptionsFromJSON takes), present exactly when
    # "passkey" is among ``methods``.
    passkey: JSON | None = None


@dataclass(frozen=True)
class Success:
    account_uuid: str
    read_only: bool
    state: Literal["success"] = "success"
    policy: AccountPolicy = DEFAULT_POLICY
    # The session record whose privilege window this success extends (a reauth), or None.
    reauth_of: str | None = None


@dataclass(frozen=True)
class Denied:
    reason: str
    state: Literal["denied"] = "denied"


Outcome = Continue | Success | Denied


@dataclass(frozen=True)
class PendingSession:
    id: str
    subject: AuthSubject
    read_only: bool
    expires_at: float
    # Invariant: not empty; the first stage holds the methods the next step may use (one
    # stage at a time, so the second factor is asked only after the first passed).
    stages: tuple[Stage, ...] = field(default=())
    reauth_of: str | None = None
    # The passkey ceremony of the first stage (its challenge); None once a step has been
    # taken (a challenge is used at most once).
    ceremony: Ceremony | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StepCheck:
    """A step that passed the state checks; the caller verifies its credential."""

    session: PendingSession
    method: str


def stages_for(subject: AuthSubject) -> tuple[Stage, ...]:
    """The stages a subject must pass, in order; one method of each."""
    if subject.anonymous:
        return (("anonymous",),)
    if subject.usernameless:
        return (("passkey",),)
    if subject.has_totp:
        return (("totp", "backup_code", "passkey"), ("password",))
    return (("password", "passkey"),)


class AuthSessions:
    """The bounded, expiring store of auth sessions in progress."""

    def __init__(
        self,
        clock: Clock,
        *,
        passkey: PasskeyRequest,
        max_pending: int = limits.MAX_PENDING_AUTH_SESSIONS,
        ttl: float = limits.AUTH_SESSION_TTL_SECONDS,
    ) -> None:
        """``passkey`` makes the request options and the ceremony of each session that
        offers a passkey (``passkeys.RelyingParty.request``)."""
        self._clock = clock
        self._passkey = passkey
        self._ttl = ttl
        # Invariant: ordered by expires_at (insertion order, since ttl is fixed), so expired
        # sessions are at the front and the oldest is dropped first.
        self._pending: Lru[str, PendingSession] = Lru(max_pending)

    def __len__(self) -> int:
        self._expire()
        return len(self._pending)

    def begin(
        self, subject: AuthSubject, *, read_only: bool, reauth_of: str | None = None
    ) -> tuple[str, Continue]:
        """Open an auth session; returns its id and the methods offered (with the passkey
        request options when a passkey is among them)."""
        self._expire()
        self._pending.trim(room=1)
        stages = stages_for(subject)
        options, ceremony = None, None
        if "passkey" in stages[0]:
            options, ceremony = self._passkey()
        session = PendingSession(
            id=new_id(24),
            subject=subject,
            read_only=read_only or subject.anonymous,
            expires_at=self._clock.now() + self._ttl,
            stages=stages,
            reauth_of=reauth_of,
            ceremony=ceremony,
        )
        self._pending.put(session.id, session)
        return session.id, Continue(methods=stages[0], passkey=options)

    def start_step(self, session_id: str | None, method: object) -> StepCheck:
        """Take the session out of the store for one step with ``method``.

        Errors: ``InvalidAuthState`` for a missing, unknown, expired or finished session or a
        method that is not the one offered; the session (if any) is then over too, so a client
        cannot try methods one after another.
        """
        self._expire()
        if session_id is None:
            raise InvalidAuthState("no auth session: begin with POST /v1/auth/begin")
        session = self._pending.pop(session_id)
        if session is None or self._clock.now() >= session.expires_at:
            raise InvalidAuthState("unknown or finished auth session: begin again")
        offered = session.stages[0]
        if not isinstance(method, str) or method not in offered:
            raise InvalidAuthState("this method was not offered in this auth session")
        return StepCheck(session=session, method=method)

    def finish_step(
        self,
        check: StepCheck,
        *,
        credential_ok: bool,
        subject: AuthSubject | None = None,
        reason: str | None = None,
    ) -> Outcome:
        """Decide a step whose credential the caller checked.

        ``subject``: the account a passkey step proved (the caller read it afresh; for a
        usernameless session, the one the user handle names). ``reason``: why the
        credential was refused, when the caller knows better than "wrong password".
        """
        session = check.session
        by_passkey = check.method == "passkey"
        if subject is None or not by_passkey:
            subject = session.subject
        if not credential_ok or subject.uuid is None:
            return Denied(reason or _WRONG.get(check.method, WRONG_CREDENTIALS))
        remaining = () if by_passkey else session.stages[1:]
        if remaining:
            # The ceremony was offered for the first stage only; it is not offered again.
            self._pending.put(session.id, replace(session, stages=remaining, ceremony=None))
            return Continue(methods=remaining[0])
        if not subject.valid_at(self._clock.now()):
            return Denied(ACCOUNT_EXPIRED)
        refusal = subject.policy_refusal(by_passkey=by_passkey)
        if refusal is not None:
            return Denied(refusal)
        return Success(
            account_uuid=subject.uuid,
            read_only=session.read_only,
            policy=subject.policy,
            reauth_of=session.reauth_of,
        )

    def _expire(self) -> None:
        now = self._clock.now()
        while oldest := self._pending.oldest(1):
            session_id, session = oldest[0]
            if now < session.expires_at:
                break
            self._pending.pop(session_id)
