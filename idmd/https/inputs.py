"""Reading what a request carries: a bounded JSON object body, typed fields, the bearer token.

Rules (docs/api.md "Conventions"):
- A body is at most ``MAX_BODY_BYTES``: a larger ``Content-Length`` is refused before reading,
  and the bytes are counted while streaming too (a missing or lying header does not help).
- An answer never leaves the request body half read, where it can help it: before the last
  part of any answer goes out, the rest of the body (up to ``MAX_DRAIN_BYTES``, for at most
  ``DRAIN_SECONDS``) is read and discarded. hypercorn closes a connection whose request is
  unfinished the moment the answer ends; the client, still sending, then gets a reset and an
  error instead of the answer (RFC 9112 section 9.6, "Tear-down").
- A body is one JSON object: malformed JSON (also invalid UTF-8, lone surrogates, NaN,
  nesting too deep) is ``malformed_json``; any other JSON value is ``invalid_request``.
- A key the route does not know is ``invalid_attribute``; a missing required key is
  ``invalid_request``. Which keys a route knows, and their JSON types, each route declares
  once in a ``bodies.Body``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import trio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hermit_common.errors import InvalidRequest
from idmd import limits
from idmd.errors import BodyTooLarge, InvalidAttribute, MalformedJson
from idmd.https.errors import error_response
from idmd.idm import Caller, Idm

_TOO_LARGE = f"a request body may have at most {limits.MAX_BODY_BYTES} bytes"


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with ``413 body_too_large``."""

    def __init__(self, app: ASGIApp, max_bytes: int = limits.MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _RequestBody(receive, _content_length(scope))
        if body.declared is not None and body.declared > self.max_bytes:
            response = error_response(BodyTooLarge(_TOO_LARGE))
            await response(scope, receive, body.draining(send))
            return

        async def counting_receive() -> Message:
            message = await body.receive()
            if body.received > self.max_bytes:
                raise BodyTooLarge(_TOO_LARGE)
            return message

        await self.app(scope, counting_receive, body.draining(send))


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key.lower() == b"content-length" and value.isdigit():
            return int(value)
    return None


class _RequestBody:
    """One request's body as it is received: how much has come, and whether all of it."""

    def __init__(self, receive: Receive, declared: int | None) -> None:
        self._receive = receive
        self.declared = declared
        self.received = 0
        # Invariant: true once the last part (more_body false) or a disconnect was received.
        self.done = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.done = not message.get("more_body", False)
        else:
            self.done = True
        return message

    async def drain(self) -> None:
        """Read and discard the rest of the body, within MAX_DRAIN_BYTES and DRAIN_SECONDS."""
        if self.declared is not None and self.declared > limits.MAX_DRAIN_BYTES:
            return
        with trio.move_on_after(limits.DRAIN_SECONDS):
            while not self.done and self.received <= limits.MAX_DRAIN_BYTES:
                await self.receive()

    def draining(self, send: Send) -> Send:
        """``send`` that drains the body before an answer's last part goes out."""

        async def drain_then_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await self.drain()
            await send(message)

        return drain_then_send


def _refuse_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not JSON")


def _check_strings(body: object) -> None:
    """Refuse strings that cannot be stored as UTF-8 (lone surrogates), anywhere in ``body``.

    Iterative: a body may nest as deep as the JSON parser allows.
    """
    pending = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedJson("the body holds an invalid unicode escape") from None
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


async def read_object(
    request: Request,
    *,
    allowed: Collection[str],
    required: Collection[str] = (),
) -> dict[str, Any]:
    """The request's JSON object body. Errors: see the module doc.

    A route that takes keys (``allowed`` not empty) needs a body, as its OpenAPI operation says
    (``requestBody.required``): an empty one is refused, ``{}`` is the way to send no keys. A
    route that takes none accepts an empty body as ``{}``.
    """
    raw = await request.body()
    if not raw.strip():
        if allowed:
            raise MalformedJson("this route needs a JSON object body ({} for no keys)")
        body: object = {}
    else:
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise MalformedJson("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    _check_strings(body)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidAttribute(f"unknown key {unknown[0]!r}; this route takes {sorted(allowed)}")
    missing = sorted(set(required) - set(body))
    if missing:
        raise InvalidRequest(f"the key {missing[0]!r} is required")
    return body


def idm_of(request: Request) -> Idm:
    idm: Idm = request.app.state.idm
    return idm


def caller_of(request: Request) -> Caller:
    """The verified caller. Errors: ``Unauthenticated`` and its kin (401), ``AccountExpired``."""
    return idm_of(request).login.authenticate(request.headers.get("authorization"))
