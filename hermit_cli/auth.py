"""The stepped login of DESIGN.md as a generator that does no I/O, and the loop that drives it.

The flow decides what to send next; it neither talks HTTP (``client.py`` does) nor reads a
password or code (the ``ask`` callable from ``prompt.py`` does). Like an httpx ``auth_flow`` it
yields what it needs and is sent the answer:

    yield Begin(name, read_only)      -> is sent the AuthAnswer of POST /v1/auth/begin
    yield Reauth()                    -> is sent the AuthAnswer of POST /v1/auth/reauth
    yield AskCredential(method)       -> is sent the Secret to use for that method
    yield Step(session, method, ...)  -> is sent the AuthAnswer of POST /v1/auth/step
    return Secret(token)              on {"state": "success", "token": ...} (login)
    return PRIVILEGED_UNTIL           on {"state": "success", "privileged_until": ...} (reauth)

Rules:
- every step carries the session id the server gave (the ``Hermit-Auth-Session`` header);
- ``denied`` ends the login with ``LoginError`` carrying the server's reason;
- a stage offering ``totp`` and/or ``backup_code`` is answered with one ``AskCredential(CODE)``:
  what comes back is sent as a TOTP when it looks like one (6 to 8 digits) and ``totp`` is
  offered, else as a backup code when ``backup_code`` is offered, so one prompt takes either;
- a method this CLI does not know ends the login (it never sends a step the server did not
  offer, which the server would answer by closing the connection);
- at most ``MAX_LOGIN_STEPS`` steps, so a confused server cannot keep us looping.

Implements docs/api.md "Authentication".
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from hermit_cli.client import AuthAnswer, JsonObject
from hermit_cli.errors import LoginError
from hermit_common.secret import Secret

# What ``AskCredential`` asks for when the server wants a second factor: a TOTP code or a
# backup code, whichever the person has at hand.
CODE = "code"
_CODE_METHODS = ("totp", "backup_code")

# Methods this CLI can answer, and whether the answer needs a credential from the user.
_METHODS_NEEDING_CREDENTIAL = {
    "password": True,
    "totp": True,
    "backup_code": True,
    "anonymous": False,
}

# More steps than any chain of methods hermit offers (a code, then a password) with room to
# spare; past it the server is misbehaving.
MAX_LOGIN_STEPS = 8


@dataclass(frozen=True)
class Begin:
    name: str
    read_only: bool


@dataclass(frozen=True)
class Reauth:
    pass


@dataclass(frozen=True)
class AskCredential:
    method: str


@dataclass(frozen=True)
class Step:
    session: str | None
    method: str
    credential: Secret | None  # repr shows [secure]

    def body(self) -> JsonObject:
        body: JsonObject = {"method": self.method}
        if self.credential is not None:
            body[self.method] = self.credential.reveal()
        return body


Request = Begin | Reauth | AskCredential | Step
Sent = AuthAnswer | Secret
LoginFlow = Generator[Request, Sent, Secret]
ReauthFlow = Generator[Request, Sent, str]


def login_flow(name: str, *, read_only: bool = False) -> LoginFlow:
    """Log ``name`` in step by step; returns the session token.

    Errors: ``LoginError`` when the server denies, offers nothing this CLI can answer, or
    answers something that is not a state of the flow.
    """
    answer = _expect_answer((yield Begin(name, read_only)))
    success = yield from _steps(answer)
    token = success.get("token")
    if not isinstance(token, str) or not token:
        raise LoginError("the server reported success without a token")
    return Secret(token)


def reauth_flow() -> ReauthFlow:
    """Re-authenticate the session in use; returns when its writes end (the server's time).

    Errors: as ``login_flow``.
    """
    answer = _expect_answer((yield Reauth()))
    success = yield from _steps(answer)
    until = success.get("privileged_until")
    if not isinstance(until, str) or not until:
        raise LoginError("the server reported success without a privilege window")
    return until


def _steps(answer: AuthAnswer) -> Generator[Request, Sent, JsonObject]:
    """The steps after begin or reauth; returns the success body."""
    session = answer.session
    for _ in range(MAX_LOGIN_STEPS):
        body = answer.body
        state = body.get("state")
        if state == "success":
            return body
        if state == "denied":
            reason = body.get("reason")
            raise LoginError(f"login denied: {reason}" if reason else "login denied")
        if state != "continue":
            raise LoginError(f"the server answered an unknown login state {state!r}")
        offered = _offered(body.get("methods"))
        method = _choose_method(offered)
        credential = None
        if method == CODE:
            credential = _expect_secret((yield AskCredential(CODE)))
            method = _code_method(credential, offered)
        elif _METHODS_NEEDING_CREDENTIAL[method]:
            credential = _expect_secret((yield AskCredential(method)))
        answer = _expect_answer((yield Step(session, method, credential)))
        session = answer.session or session
    raise LoginError(f"the server wanted more than {MAX_LOGIN_STEPS} login steps")


def _offered(methods: object) -> list[str]:
    if not isinstance(methods, list) or not methods:
        raise LoginError("the server offered no login method")
    return [str(m) for m in methods]


def _choose_method(offered: list[str]) -> str:
    for method in offered:
        if method in _CODE_METHODS:
            return CODE
        if method in _METHODS_NEEDING_CREDENTIAL:
            return method
    raise LoginError(f"the server asks for {', '.join(offered)}, which this hermit cannot answer")


def looks_like_totp(code: str) -> bool:
    return 6 <= len(code) <= 8 and code.isascii() and code.isdigit()


def _code_method(code: Secret, offered: list[str]) -> str:
    if "totp" in offered and looks_like_totp(code.reveal()):
        return "totp"
    if "backup_code" in offered:
        return "backup_code"
    raise LoginError("the server asks for a TOTP code: give its digits")


def _expect_answer(sent: Sent) -> AuthAnswer:
    if not isinstance(sent, AuthAnswer):
        raise TypeError("the login flow was sent a secret where it expected an answer")
    return sent


def _expect_secret(sent: Sent) -> Secret:
    if not isinstance(sent, Secret):
        raise TypeError("the login flow was sent an answer where it expected a secret")
    return sent


class AuthTransport(Protocol):
    """The routes the flows need (``ApiClient`` has them)."""

    def auth_begin(self, name: str, *, read_only: bool = False) -> AuthAnswer: ...

    def auth_step(self, session: str | None, step: JsonObject) -> AuthAnswer: ...


class ReauthTransport(AuthTransport, Protocol):
    def auth_reauth(self) -> AuthAnswer: ...


Ask = Callable[[str, str], Secret]
T = TypeVar("T")


def run_login(
    client: AuthTransport,
    name: str,
    ask: Ask,
    *,
    read_only: bool = False,
) -> Secret:
    """Drive ``login_flow`` against ``client``; ``ask(method, name)`` supplies credentials.

    Errors: ``LoginError`` from the flow; ``ApiError``/``TransportError`` from the client;
    whatever ``ask`` raises (a ``UsageError`` when there is no terminal and no password).
    """
    return _drive(login_flow(name, read_only=read_only), client, name, ask)


def run_reauth(client: ReauthTransport, name: str, ask: Ask) -> str:
    """Drive ``reauth_flow`` with the client's bearer token; the end of the privilege window.

    Errors: as ``run_login``.
    """

    def reauth() -> AuthAnswer:
        return client.auth_reauth()

    return _drive(reauth_flow(), client, name, ask, reauth)


def _drive(
    flow: Generator[Request, Sent, T],
    client: AuthTransport,
    name: str,
    ask: Ask,
    reauth: Callable[[], AuthAnswer] | None = None,
) -> T:
    request = next(flow)
    while True:
        reply: Sent
        if isinstance(request, Begin):
            reply = client.auth_begin(request.name, read_only=request.read_only)
        elif isinstance(request, Reauth):
            if reauth is None:
                raise TypeError("a login flow asked to reauth")
            reply = reauth()
        elif isinstance(request, AskCredential):
            reply = ask(request.method, name)
        else:
            reply = client.auth_step(request.session, request.body())
        try:
            request = flow.send(reply)
        except StopIteration as done:
            result: T = done.value
            return result
