"""The PAM conversation of hermit-unixd: a sans-IO state machine and the per-connection table.

This module decides what to ask the user and which check to run next; it does no I/O and
checks nothing itself. The resolver drives it like an httpx ``auth_flow``: it feeds the
user's answer (``receive``) and the outcome of each check it ran (``outcome``), and gets back
the next ``Action`` until that action is a ``Reply`` the PAM module can relay.

States and transitions (every rule after a check lives in ``_TRANSITIONS``; anything else is
our bug)::

    AWAIT_PASSWORD --password--> AWAIT_CODE      (the cached view says unix_mfa)
                              -> VERIFY_ONLINE   (idmd reachable: POST /v1/unix/auth)
                              -> VERIFY_OFFLINE  (offline: the cached Argon2id hash)
                              -> DONE            (unix_mfa, offline, offline_mfa = "deny")
    AWAIT_CODE     --code-->     VERIFY_ONLINE   (password and code together)
                              -> VERIFY_OFFLINE  (offline, offline_mfa = "password")
                              -> DONE            (offline, offline_mfa = "deny")
    VERIFY_ONLINE  --accepted/refused/expired/error/locked--> DONE
                   --unreachable--> VERIFY_OFFLINE  (DESIGN.md: offline at once, the same
                                                     login is answered from the cache;
                                                     with a code, only if offline_mfa allows)
                                 -> DONE            (a code, offline_mfa = "deny")
                   --mfa_required--> AWAIT_CODE     (unixd's view had no unix TOTP yet:
                                                     the same login asks for the code)
                                  -> DONE           (a code was sent already: idmd's bug)
    VERIFY_OFFLINE --accepted/refused/no_hash--> DONE
                   --locked--> DONE               (the offline failure delay of this account
                                                   is running: nothing was checked)

Rules:
- The password and the code are held only between their answers and the end of the checks,
  never in a repr; both are dropped at DONE.
- An account whose unix credential carries a TOTP (the view's ``unix_mfa``) is asked for the
  password, then the code, and idmd checks both at once. Offline the code cannot be checked
  (unixd never holds the TOTP secret): ``offline_mfa`` decides — ``deny`` refuses with a
  reason saying so, ``password`` lets the cached password hash alone decide (docs/unixd.md
  "Password + TOTP offline" has the trade-off).
- ``locked`` (idmd: too many failed attempts) is denied with a reason to try later; it is
  never answered from the cache, which would turn idmd's lockout into an offline guess.
- Only directory accounts converse: hermit never holds or checks a local account's password
  (issue 9: unixd had /etc/shadow's hashes and answered right/wrong to any local user). A
  local name, like a name unixd does not know at all, is answered ``unknown`` at
  ``pam_auth_init``, before any prompt (the resolver and the dispatcher decide; this machine
  never starts): the PAM module then returns PAM_USER_UNKNOWN (or PAM_IGNORE with
  ``ignore_unknown_user``) and the stack's other modules (pam_unix for local accounts)
  decide, as SSSD's pam_sss does. Every directory account, expired or not, is asked for a
  password the same way (the code prompt tells an account with a unix TOTP, which its view,
  readable by unixd's anonymous reader, says anyway).
- Who may converse about which account (a peer that is not root only about its own, as
  unix_chkpwd rules) is the dispatcher's; the offline failure delay is the resolver's.
- Session ids (43 characters of URL-safe base64 from 32 random bytes) live in a bounded LRU
  per connection; the oldest conversation is dropped when a connection opens too many.

Implements docs/protocol.md ``pam_auth_init`` / ``pam_auth_step`` and DESIGN.md "Where
hermit goes beyond" (offline at once; password + TOTP through PAM).
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from hermit_common.lru import Lru
from unixd.proto.messages import (
    CodePrompt,
    DeniedPrompt,
    PasswordPrompt,
    Prompt,
    SuccessPrompt,
)

PASSWORD_PROMPT = "Password: "
CODE_PROMPT = "Verification code: "

# Conversations open at once on one connection: a PAM module runs one; a few cover a
# process that authenticates several users on one connection. Each holds at most a password
# and a code.
MAX_SESSIONS_PER_CONNECTION = 8

_SESSION_ID_BYTES = 32

# The reasons a login is denied (shown by the PAM module; one line each).
WRONG_PASSWORD = "wrong password"
WRONG_PASSWORD_OR_CODE = "wrong password or verification code"
EXPIRED = "this account is expired or not yet valid"
NO_HASH = "the identity server is unreachable and this password was never used on this host"
CANNOT_CHECK = "the password cannot be checked now"
OFFLINE_MFA_DENIED = (
    "the identity server is unreachable and this account needs a verification code, which "
    "cannot be checked offline on this host: try again when the server is back"
)
LOCKED = "too many failed attempts with this account's credentials: try again later"
# A peer that is not root asked to check another account's password (unix_chkpwd's rule).
OTHER_ACCOUNT = "only root may check the password of another account"
OVER = "this login conversation is over"


class OfflineMfa(enum.Enum):
    """unixd.toml ``offline_mfa``: what an account with a unix TOTP gets while offline."""

    DENY = "deny"  # refused: the second factor cannot be checked
    PASSWORD = "password"  # the cached password hash alone decides


class Step(enum.Enum):
    AWAIT_PASSWORD = "await_password"
    AWAIT_CODE = "await_code"
    VERIFY_ONLINE = "verify_online"
    VERIFY_OFFLINE = "verify_offline"
    DONE = "done"


class Outcome(enum.Enum):
    """What a check the resolver ran found."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    EXPIRED = "expired"  # the right password, outside valid_from / expire_at
    UNREACHABLE = "unreachable"  # idmd could not be asked: go offline
    NO_HASH = "no_hash"  # offline, and no cached hash to compare with
    ERROR = "error"  # idmd answered something unusable
    # idmd: too many failures on this credential; offline: the account's failure delay is
    # running. Either way nothing was checked.
    LOCKED = "locked"
    MFA_REQUIRED = "mfa_required"  # idmd wants a code the conversation did not ask for


@dataclass(frozen=True)
class Reply:
    """Answer the PAM module with ``prompt``."""

    prompt: Prompt


@dataclass(frozen=True)
class VerifyOnline:
    password: str = field(repr=False)
    code: str | None = field(default=None, repr=False)  # for an account with unix_mfa


@dataclass(frozen=True)
class VerifyOffline:
    password: str = field(repr=False)


Action = Reply | VerifyOnline | VerifyOffline


class ConversationError(Exception):
    """Our own bug: the driver fed an event the current state has no rule for."""


class Conversation:
    """One login's conversation for the directory account ``name`` (its uuid).

    ``gidnumber``: the account's uid (who may converse about it: the dispatcher decides);
    ``mfa``: the account's unix credential carries a TOTP (as far as unixd knows);
    ``offline_mfa``: the host's policy for such accounts while offline. ``login_name`` and
    ``service`` (the name asked for and the PAM service) are for the log only.
    """

    def __init__(
        self,
        name: str,
        *,
        gidnumber: int | None = None,
        mfa: bool = False,
        offline_mfa: OfflineMfa = OfflineMfa.DENY,
    ) -> None:
        self.name = name
        self.gidnumber = gidnumber
        self.login_name = name
        self.service = ""
        self.mfa = mfa
        self.offline_mfa = offline_mfa
        self.step = Step.AWAIT_PASSWORD
        # Invariant: the password is set from its answer until DONE (AWAIT_CODE and VERIFY_*),
        # the code from its answer until DONE; both None otherwise.
        self._password: str | None = None
        self._code: str | None = None
        # The last check run (VERIFY_ONLINE or VERIFY_OFFLINE), for the log of a failure.
        self.last_check: Step | None = None

    def __repr__(self) -> str:
        return f"Conversation({self.name!r}, {self.step.value})"

    @property
    def done(self) -> bool:
        return self.step is Step.DONE

    def start(self) -> Reply:
        return Reply(PasswordPrompt(prompt=PASSWORD_PROMPT))

    def receive(self, answer: str, *, online: bool) -> Action:
        """The user's answer to the last prompt; ``online``: may idmd be asked now."""
        if self.step is Step.AWAIT_PASSWORD:
            self._password = answer
            if not self.mfa:
                return self._verify(online)
            if not online and self.offline_mfa is OfflineMfa.DENY:
                return self._finish(DeniedPrompt(reason=OFFLINE_MFA_DENIED))
            return self._ask_code()
        if self.step is Step.AWAIT_CODE:
            self._code = answer
            return self._verify(online)
        # A step for a finished conversation, or while one is being checked.
        return self._finish(DeniedPrompt(reason=OVER))

    def outcome(self, outcome: Outcome) -> Action:
        """What the check asked for by the last action found."""
        handler = _TRANSITIONS.get((self.step, outcome))
        if handler is None:
            raise ConversationError(f"no rule for {outcome.value} in {self.step.value}")
        return handler(self)

    def _ask_code(self) -> Reply:
        self.step = Step.AWAIT_CODE
        return Reply(CodePrompt(prompt=CODE_PROMPT))

    def _verify(self, online: bool) -> Action:
        assert self._password is not None  # Invariant: the password was answered.
        if online:
            self.step = Step.VERIFY_ONLINE
            return VerifyOnline(self._password, self._code)
        return self._to_offline()

    def _to_offline(self) -> Action:
        assert self._password is not None  # Invariant: the password was answered.
        if self.mfa and self.offline_mfa is OfflineMfa.DENY:
            return self._finish(DeniedPrompt(reason=OFFLINE_MFA_DENIED))
        self.step = Step.VERIFY_OFFLINE
        return VerifyOffline(self._password)

    def _finish(self, prompt: Prompt) -> Reply:
        if self.step in (Step.VERIFY_ONLINE, Step.VERIFY_OFFLINE):
            self.last_check = self.step
        self.step = Step.DONE
        self._password = None
        self._code = None
        return Reply(prompt)


def _success(conv: Conversation) -> Action:
    return conv._finish(SuccessPrompt())


def _wrong(conv: Conversation) -> Action:
    online_with_code = conv.step is Step.VERIFY_ONLINE and conv._code is not None
    return conv._finish(
        DeniedPrompt(reason=WRONG_PASSWORD_OR_CODE if online_with_code else WRONG_PASSWORD)
    )


def _expired(conv: Conversation) -> Action:
    return conv._finish(DeniedPrompt(reason=EXPIRED))


def _no_hash(conv: Conversation) -> Action:
    return conv._finish(DeniedPrompt(reason=NO_HASH))


def _error(conv: Conversation) -> Action:
    return conv._finish(DeniedPrompt(reason=CANNOT_CHECK))


def _locked(conv: Conversation) -> Action:
    return conv._finish(DeniedPrompt(reason=LOCKED))


def _offline(conv: Conversation) -> Action:
    return conv._to_offline()


def _mfa_required(conv: Conversation) -> Action:
    if conv._code is not None:
        return _error(conv)  # idmd asks again for what it was sent: do not loop
    conv.mfa = True
    return conv._ask_code()


_TRANSITIONS: dict[tuple[Step, Outcome], Callable[[Conversation], Action]] = {
    (Step.VERIFY_ONLINE, Outcome.ACCEPTED): _success,
    (Step.VERIFY_ONLINE, Outcome.REFUSED): _wrong,
    (Step.VERIFY_ONLINE, Outcome.EXPIRED): _expired,
    (Step.VERIFY_ONLINE, Outcome.ERROR): _error,
    (Step.VERIFY_ONLINE, Outcome.UNREACHABLE): _offline,
    (Step.VERIFY_ONLINE, Outcome.LOCKED): _locked,
    (Step.VERIFY_ONLINE, Outcome.MFA_REQUIRED): _mfa_required,
    (Step.VERIFY_OFFLINE, Outcome.ACCEPTED): _success,
    (Step.VERIFY_OFFLINE, Outcome.REFUSED): _wrong,
    (Step.VERIFY_OFFLINE, Outcome.NO_HASH): _no_hash,
    (Step.VERIFY_OFFLINE, Outcome.LOCKED): _locked,
}


class SessionTable:
    """The conversations of one connection, by session id; a bounded LRU."""

    def __init__(self, capacity: int = MAX_SESSIONS_PER_CONNECTION) -> None:
        self._sessions: Lru[str, Conversation] = Lru(capacity)

    def __len__(self) -> int:
        return len(self._sessions)

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(_SESSION_ID_BYTES)

    def add(self, conversation: Conversation) -> str:
        session = self.new_id()
        self._sessions.put(session, conversation)
        self._sessions.trim()
        return session

    def get(self, session: str) -> Conversation | None:
        return self._sessions.touch(session)

    def remove(self, session: str) -> None:
        self._sessions.pop(session)
