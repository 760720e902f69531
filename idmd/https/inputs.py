"""Reading what a request carries: a bounded JSON object body, typed fields, the bearer token.

Rules (docs/api.md "Conventions"):
- A body is at most ``MAX_BODY_BYTES``: a larger ``Content-Length`` is refused before reading,
  and the bytes are counted while streaming too (a missing or lying header does not help).
- A body is one JSON object: malformed JSON (also invalid UTF-8, lone surrogates, NaN,
  nesting too deep) is ``malformed_json``; any other JSON value is ``invalid_request``.
- A key the route does not know is ``invalid_attribute``; a missing required key is
  ``invalid_request``; a value of the wrong JSON type is ``invalid_value``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hermit_common.errors import InvalidRequest, InvalidValue
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
        for key, value in scope["headers"]:
            if key.lower() == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                response = error_response(BodyTooLarge(_TOO_LARGE))
                await response(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(_TOO_LARGE)
            return message

        await self.app(scope, counting_receive, send)


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


def string(body: dict[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str):
        raise InvalidValue(f"{key} must be a string")
    return value


def optional_string(body: dict[str, Any], key: str) -> str | None:
    return string(body, key) if key in body else None


def flag(body: dict[str, Any], key: str) -> bool:
    """The boolean at ``key``; false when the key is left out."""
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidValue(f"{key} must be true or false")
    return value


def string_list(body: dict[str, Any], key: str) -> list[str]:
    value = body[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidValue(f"{key} must be a list of strings")
    return value


def idm_of(request: Request) -> Idm:
    idm: Idm = request.app.state.idm
    return idm


def caller_of(request: Request) -> Caller:
    """The verified caller. Errors: ``Unauthenticated`` and its kin (401), ``AccountExpired``."""
    return idm_of(request).login.authenticate(request.headers.get("authorization"))
