"""The stepped login flow of DESIGN.md, as a state machine without I/O.

This module holds pending auth sessions and decides what each step leads to. It does not read
entries, verify passwords or issue tokens: the caller (``idmd.idm.Idm``) loads the account into
an ``AuthSubject``, checks the credential a step carries, and turns a ``Success`` into a session
record and a token.

States of one auth session::

    begin ──► PENDING(methods) ──start_step(method)──► IN_STEP ──finish_step(ok)──┬─► Success
                    ▲                                                          ├─► Denied
                    └──────────────── Continue(next methods) ◄─────────────────┘

Rules:
- A step names a session id and one of the methods offered; anything else (no id, an unknown,
  expired or finished id, another method) is ``InvalidAuthState``. ``start_step`` takes the
  session out of the store, so a session can be stepped at most once at a time and a finished
  one is gone for good.
- An unknown name is offered ``["password"]`` like any other and denied at the step with the
  same reason as a wrong password, so names cannot be probed.
- ``anonymous`` is offered ``["anonymous"]``; its success is always read-only.
- Validity (``valid_from`` / ``expire_at``) is judged only after the credential is right, so
  it tells nothing to someone without the password.
- At most ``max_pending`` sessions wait at once (the oldest is dropped beyond that), and each
  lives ``ttl`` seconds of the injected clock.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Literal

from idmd import limits
from idmd.clock import Clock
from idmd.errors import InvalidAuthState

ANONYMOUS_NAME = "anonymous"

WRONG_CREDENTIALS = "wrong password"
ACCOUNT_EXPIRED = "account expired or not yet valid"


@dataclass(frozen=True)
class AuthSubject:
    """What the state machine needs to know of the account a client names.

    Invariant: ``uuid is None`` exactly when the name matched no account that may log in.
    """

    uuid: str | None
    anonymous: bool = False
    valid_from: float | None = None
    expire_at: float | None = None

    def valid_at(self, now: float) -> bool:
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.expire_at is None or now < self.expire_at


@dataclass(frozen=True)
class Continue:
    methods: tuple[str, ...]
    state: Literal["continue"] = "continue"


@dataclass(frozen=True)
class Success:
    account_uuid: str
    read_only: bool
    state: Literal["success"] = "success"


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
    # Invariant: not empty; the first element is what the next step may use (one at a time,
    # so a second factor can be asked only after the first passed).
    methods: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class StepCheck:
    """A step that passed the state checks; the caller verifies its credential."""

    session: PendingSession
    method: str


def first_methods(subject: AuthSubject) -> tuple[str, ...]:
    """The methods a subject must pass, in order."""
    if subject.anonymous:
        return ("anonymous",)
    return ("password",)


class AuthSessions:
    """The bounded, expiring store of auth sessions in progress."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_pending: int = limits.MAX_PENDING_AUTH_SESSIONS,
        ttl: float = limits.AUTH_SESSION_TTL_SECONDS,
    ) -> None:
        self._clock = clock
        self._max_pending = max_pending
        self._ttl = ttl
        # Invariant: ordered by expires_at (insertion order, since ttl is fixed), so expired
        # sessions are at the front and the oldest is dropped first.
        self._pending: OrderedDict[str, PendingSession] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._pending)

    def begin(self, subject: AuthSubject, *, read_only: bool) -> tuple[str, Continue]:
        """Open an auth session; returns its id and the methods offered."""
        self._expire()
        while len(self._pending) >= self._max_pending:
            self._pending.popitem(last=False)
        methods = first_methods(subject)
        session = PendingSession(
            id=secrets.token_urlsafe(24),
            subject=subject,
            read_only=read_only or subject.anonymous,
            expires_at=self._clock.now() + self._ttl,
            methods=methods,
        )
        self._pending[session.id] = session
        return session.id, Continue(methods=methods[:1])

    def start_step(self, session_id: str | None, method: object) -> StepCheck:
        """Take the session out of the store for one step with ``method``.

        Errors: ``InvalidAuthState`` for a missing, unknown, expired or finished session or a
        method that is not the one offered; the session (if any) is then over too, so a client
        cannot try methods one after another.
        """
        self._expire()
        if session_id is None:
            raise InvalidAuthState("no auth session: begin with POST /v1/auth/begin")
        session = self._pending.pop(session_id, None)
        if session is None or self._clock.now() >= session.expires_at:
            raise InvalidAuthState("unknown or finished auth session: begin again")
        if method != session.methods[0]:
            raise InvalidAuthState("this method was not offered in this auth session")
        return StepCheck(session=session, method=session.methods[0])

    def finish_step(self, check: StepCheck, *, credential_ok: bool) -> Outcome:
        """Decide a step whose credential the caller checked."""
        session = check.session
        subject = session.subject
        if not credential_ok or subject.uuid is None:
            return Denied(WRONG_CREDENTIALS)
        remaining = session.methods[1:]
        if remaining:
            self._pending[session.id] = replace(session, methods=remaining)
            return Continue(methods=remaining[:1])
        if not subject.valid_at(self._clock.now()):
            return Denied(ACCOUNT_EXPIRED)
        return Success(account_uuid=subject.uuid, read_only=session.read_only)

    def _expire(self) -> None:
        now = self._clock.now()
        while self._pending:
            oldest = next(iter(self._pending.values()))
            if now < oldest.expires_at:
                break
            self._pending.popitem(last=False)
