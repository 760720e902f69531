"""The PAM conversation of hermit-unixd: a sans-IO state machine and the per-connection table.

This module decides what to ask the user and which check to run next; it does no I/O and
checks nothing itself. The resolver drives it like an httpx ``auth_flow``: it feeds the
user's answer (``receive``) and the outcome of each check it ran (``outcome``), and gets back
the next ``Action`` until that action is a ``Reply`` the PAM module can relay.

States and transitions (every rule lives in ``_TRANSITIONS``; anything else is our bug)::

    AWAIT_PASSWORD --password--> VERIFY_LOCAL    (a local account: its shadow hash)
                              -> VERIFY_ONLINE   (idmd reachable: POST /v1/unix/auth)
                              -> VERIFY_OFFLINE  (offline: the cached Argon2id hash)
    VERIFY_ONLINE  --accepted/refused/expired/error--> DONE
                   --unreachable--> VERIFY_OFFLINE  (DESIGN.md: offline at once, the same
                                                     login is answered from the cache)
    VERIFY_OFFLINE --accepted/refused/no_hash--> DONE
    VERIFY_LOCAL   --accepted/refused--> DONE

Rules:
- The password is held only between the answer and the end of its checks, never in a repr;
  it is dropped at DONE.
- Every account unixd knows, local or directory, expired or not, is asked for a password the
  same way, so prompts never tell those apart. An account it does not know at all is answered
  ``unknown`` at ``pam_auth_init``, before any prompt (the resolver decides; this machine never
  starts): the PAM module then returns PAM_USER_UNKNOWN (or PAM_IGNORE with
  ``ignore_unknown_user``) and the stack's other modules, which ask for a password as usual,
  decide — as SSSD's pam_sss does.
- Session ids (43 characters of URL-safe base64 from 32 random bytes) live in a bounded LRU
  per connection; the oldest conversation is dropped when a connection opens too many.

Implements docs/protocol.md ``pam_auth_init`` / ``pam_auth_step`` and DESIGN.md "Where
hermit goes beyond" (offline at once).
"""

from __future__ import annotations

import enum
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from unixd.proto.messages import DeniedPrompt, PasswordPrompt, Prompt, SuccessPrompt

PASSWORD_PROMPT = "Password: "

# Conversations open at once on one connection: a PAM module runs one; a few cover a
# process that authenticates several users on one connection. Each holds at most a password.
MAX_SESSIONS_PER_CONNECTION = 8

_SESSION_ID_BYTES = 32


class AccountKind(enum.Enum):
    LOCAL = "local"
    DIRECTORY = "directory"


class Step(enum.Enum):
    AWAIT_PASSWORD = "await_password"
    VERIFY_ONLINE = "verify_online"
    VERIFY_OFFLINE = "verify_offline"
    VERIFY_LOCAL = "verify_local"
    DONE = "done"


class Outcome(enum.Enum):
    """What a check the resolver ran found."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    EXPIRED = "expired"  # the right password, outside valid_from / expire_at
    UNREACHABLE = "unreachable"  # idmd could not be asked: go offline
    NO_HASH = "no_hash"  # offline, and no cached hash to compare with
    ERROR = "error"  # idmd answered something unusable


@dataclass(frozen=True)
class Reply:
    """Answer the PAM module with ``prompt``."""

    prompt: Prompt


@dataclass(frozen=True)
class VerifyOnline:
    password: str = field(repr=False)


@dataclass(frozen=True)
class VerifyOffline:
    password: str = field(repr=False)


@dataclass(frozen=True)
class VerifyLocal:
    password: str = field(repr=False)


Action = Reply | VerifyOnline | VerifyOffline | VerifyLocal


class ConversationError(Exception):
    """Our own bug: the driver fed an event the current state has no rule for."""


class Conversation:
    """One login's conversation for the account ``name`` (the resolver's folded key)."""

    def __init__(self, name: str, kind: AccountKind) -> None:
        self.name = name
        self.kind = kind
        self.step = Step.AWAIT_PASSWORD
        # Invariant: set only while a check of it is pending (VERIFY_*), None otherwise.
        self._password: str | None = None

    def __repr__(self) -> str:
        return f"Conversation({self.name!r}, {self.kind.value}, {self.step.value})"

    @property
    def done(self) -> bool:
        return self.step is Step.DONE

    def start(self) -> Reply:
        return Reply(PasswordPrompt(prompt=PASSWORD_PROMPT))

    def receive(self, answer: str, *, online: bool) -> Action:
        """The user's answer to the last prompt; ``online``: may idmd be asked now."""
        if self.step is not Step.AWAIT_PASSWORD:
            # A step for a finished conversation, or while one is being checked.
            return self._finish(DeniedPrompt(reason="this login conversation is over"))
        self._password = answer
        if self.kind is AccountKind.LOCAL:
            self.step = Step.VERIFY_LOCAL
            return VerifyLocal(answer)
        if online:
            self.step = Step.VERIFY_ONLINE
            return VerifyOnline(answer)
        self.step = Step.VERIFY_OFFLINE
        return VerifyOffline(answer)

    def outcome(self, outcome: Outcome) -> Action:
        """What the check asked for by the last action found."""
        handler = _TRANSITIONS.get((self.step, outcome))
        if handler is None:
            raise ConversationError(f"no rule for {outcome.value} in {self.step.value}")
        return handler(self)

    def _finish(self, prompt: Prompt) -> Reply:
        self.step = Step.DONE
        self._password = None
        return Reply(prompt)

    def _to_offline(self) -> Action:
        assert self._password is not None  # Invariant: VERIFY_ONLINE holds the password.
        self.step = Step.VERIFY_OFFLINE
        return VerifyOffline(self._password)


def _success(conv: Conversation) -> Action:
    return conv._finish(SuccessPrompt())


def _wrong(conv: Conversation) -> Action:
    return conv._finish(DeniedPrompt(reason="wrong password"))


def _expired(conv: Conversation) -> Action:
    return conv._finish(DeniedPrompt(reason="this account is expired or not yet valid"))


def _no_hash(conv: Conversation) -> Action:
    return conv._finish(
        DeniedPrompt(reason="the identity server is unreachable and this password was never "
                            "used on this host")
    )


def _error(conv: Conversation) -> Action:
    return conv._finish(DeniedPrompt(reason="the password cannot be checked now"))


def _offline(conv: Conversation) -> Action:
    return conv._to_offline()


_TRANSITIONS: dict[tuple[Step, Outcome], Callable[[Conversation], Action]] = {
    (Step.VERIFY_ONLINE, Outcome.ACCEPTED): _success,
    (Step.VERIFY_ONLINE, Outcome.REFUSED): _wrong,
    (Step.VERIFY_ONLINE, Outcome.EXPIRED): _expired,
    (Step.VERIFY_ONLINE, Outcome.ERROR): _error,
    (Step.VERIFY_ONLINE, Outcome.UNREACHABLE): _offline,
    (Step.VERIFY_OFFLINE, Outcome.ACCEPTED): _success,
    (Step.VERIFY_OFFLINE, Outcome.REFUSED): _wrong,
    (Step.VERIFY_OFFLINE, Outcome.NO_HASH): _no_hash,
    (Step.VERIFY_LOCAL, Outcome.ACCEPTED): _success,
    (Step.VERIFY_LOCAL, Outcome.REFUSED): _wrong,
}


class SessionTable:
    """The conversations of one connection, by session id; a bounded LRU."""

    def __init__(self, capacity: int = MAX_SESSIONS_PER_CONNECTION) -> None:
        self._capacity = capacity
        self._sessions: OrderedDict[str, Conversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(_SESSION_ID_BYTES)

    def add(self, conversation: Conversation) -> str:
        session = self.new_id()
        self._sessions[session] = conversation
        while len(self._sessions) > self._capacity:
            self._sessions.popitem(last=False)
        return session

    def get(self, session: str) -> Conversation | None:
        conversation = self._sessions.get(session)
        if conversation is not None:
            self._sessions.move_to_end(session)
        return conversation

    def remove(self, session: str) -> None:
        self._sessions.pop(session, None)
