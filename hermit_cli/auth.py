"""The stepped login of DESIGN.md as a generator that does no I/O, and the loop that drives it.

The flow decides what to send next; it neither talks HTTP (``client.py`` does) nor reads a
password (the ``ask`` callable from ``prompt.py`` does). Like an httpx ``auth_flow`` it yields
what it needs and is sent the answer:

    yield Begin(name, read_only)      -> is sent the AuthAnswer of POST /v1/auth/begin
    yield AskCredential(method)       -> is sent the Secret to use for that method
    yield Step(session, method, ...)  -> is sent the AuthAnswer of POST /v1/auth/step
    return Secret(token)              on {"state": "success", "token": ...}

Rules:
- every step carries the session id the server gave (the ``Hermit-Auth-Session`` header);
- ``denied`` ends the login with ``LoginError`` carrying the server's reason;
- a method this CLI does not know ends the login (it never sends a step the server did not
  offer, which the server would answer by closing the connection);
- at most ``MAX_LOGIN_STEPS`` steps, so a confused server cannot keep us looping.

Implements docs/api.md "Authentication".
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Protocol

from hermit_cli.client import AuthAnswer, JsonObject
from hermit_cli.errors import LoginError
from hermit_cli.secret import Secret

# Methods this CLI can answer, and whether the answer needs a credential from the user.
# (TOTP and the like arrive with later issues.)
_METHODS_NEEDING_CREDENTIAL = {"password": True, "anonymous": False}

# More steps than any chain of methods hermit offers (password, then a code) with room to
# spare; past it the server is misbehaving.
MAX_LOGIN_STEPS = 8


@dataclass(frozen=True)
class Begin:
    name: str
    read_only: bool


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


LoginFlow = Generator[Begin | AskCredential | Step, AuthAnswer | Secret, Secret]


def login_flow(name: str, *, read_only: bool = False) -> LoginFlow:
    """Log ``name`` in step by step; returns the session token.

    Errors: ``LoginError`` when the server denies, offers nothing this CLI can answer, or
    answers something that is not a state of the flow.
    """
    answer = _expect_answer((yield Begin(name, read_only)))
    session = answer.session
    for _ in range(MAX_LOGIN_STEPS):
        body = answer.body
        state = body.get("state")
        if state == "success":
            token = body.get("token")
            if not isinstance(token, str) or not token:
                raise LoginError("the server reported success without a token")
            return Secret(token)
        if state == "denied":
            reason = body.get("reason")
            raise LoginError(f"login denied: {reason}" if reason else "login denied")
        if state != "continue":
            raise LoginError(f"the server answered an unknown login state {state!r}")
        method = _choose_method(body.get("methods"))
        credential = None
        if _METHODS_NEEDING_CREDENTIAL[method]:
            credential = _expect_secret((yield AskCredential(method)))
        answer = _expect_answer((yield Step(session, method, credential)))
        session = answer.session or session
    raise LoginError(f"the server wanted more than {MAX_LOGIN_STEPS} login steps")


def _choose_method(methods: object) -> str:
    if not isinstance(methods, list) or not methods:
        raise LoginError("the server offered no login method")
    for method in methods:
        if method in _METHODS_NEEDING_CREDENTIAL:
            return str(method)
    offered = ", ".join(str(m) for m in methods)
    raise LoginError(f"the server asks for {offered}, which this hermit cannot answer")


def _expect_answer(sent: AuthAnswer | Secret) -> AuthAnswer:
    if not isinstance(sent, AuthAnswer):
        raise TypeError("the login flow was sent a secret where it expected an answer")
    return sent


def _expect_secret(sent: AuthAnswer | Secret) -> Secret:
    if not isinstance(sent, Secret):
        raise TypeError("the login flow was sent an answer where it expected a secret")
    return sent


class AuthTransport(Protocol):
    """The two routes the flow needs (``ApiClient`` has them)."""

    def auth_begin(self, name: str, *, read_only: bool = False) -> AuthAnswer: ...

    def auth_step(self, session: str | None, step: JsonObject) -> AuthAnswer: ...


def run_login(
    client: AuthTransport,
    name: str,
    ask: Callable[[str, str], Secret],
    *,
    read_only: bool = False,
) -> Secret:
    """Drive ``login_flow`` against ``client``; ``ask(method, name)`` supplies credentials.

    Errors: ``LoginError`` from the flow; ``ApiError``/``TransportError`` from the client;
    whatever ``ask`` raises (a ``UsageError`` when there is no terminal and no password).
    """
    flow = login_flow(name, read_only=read_only)
    request = next(flow)
    while True:
        reply: AuthAnswer | Secret
        if isinstance(request, Begin):
            reply = client.auth_begin(request.name, read_only=request.read_only)
        elif isinstance(request, AskCredential):
            reply = ask(request.method, name)
        else:
            reply = client.auth_step(request.session, request.body())
        try:
            request = flow.send(reply)
        except StopIteration as done:
            token: Secret = done.value
            return token
