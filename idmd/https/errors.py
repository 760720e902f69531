"""The one mapping of errors to HTTP responses: ``{"error": CODE, "detail": TEXT}``.

Every ``HermitError`` carries its wire code and status (``idmd/errors.py``); this module only
renders them. Starlette's own refusals (no such route, wrong method) are rendered the same way.
Anything else is a bug: it is logged with its traceback and answered ``500 internal_error``
with no detail, so nothing internal (or secret) reaches the client.

Rules:
- ``invalid_auth_state`` and ``body_too_large`` answers carry ``Connection: close``: DESIGN.md
  asks that a step without its auth session breaks the connection, and a refused body may be
  left unread on the wire.
- ``401`` answers carry ``WWW-Authenticate: Bearer`` (RFC 6750 section 3).
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hermit_common.errors import HermitError
from idmd.errors import BodyTooLarge, CredentialLocked, InvalidAuthState

log = logging.getLogger(__name__)

_CLOSE_CONNECTION = (InvalidAuthState, BodyTooLarge)

# Starlette's HTTPExceptions, by status, in the API's vocabulary.
_HTTP_CODES = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def error_response(exc: HermitError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, _CLOSE_CONNECTION):
        headers["Connection"] = "close"
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="hermit"'
    if isinstance(exc, CredentialLocked):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(
        {"error": exc.code, "detail": exc.detail}, status_code=exc.status, headers=headers
    )


async def handle_hermit_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HermitError)
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code if exc.status_code in _HTTP_CODES else 400
    detail = "no such route" if status == 404 else str(exc.detail)
    return JSONResponse(
        {"error": _HTTP_CODES[status], "detail": detail},
        status_code=status,
        headers=dict(exc.headers or {}),
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # The traceback names code, never request values; the client learns nothing.
    log.error("internal error on %s %s", request.method, request.scope.get("path"), exc_info=exc)
    return JSONResponse({"error": "internal_error", "detail": "internal error"}, status_code=500)


EXCEPTION_HANDLERS = {
    HermitError: handle_hermit_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
