"""The web door's ASGI app: its routes, its error pages, its body bounds, and ``mount``, which
puts it and the headers middleware in front of the REST API's app.

Layers of one request, outermost first::

    SecurityHeadersMiddleware            every answer of idmd (headers.py)
      path /ui or /ui/... ?  ── no ──►   the API's whole stack (idmd/https/app.py)
        _TooLargeGate                    a declared body too large to drain: the 413 page
          BodyLimitMiddleware            drains an unread body before the answer ends
            the web Starlette app        error pages, routes; forms.py bounds each form

Rules:
- Every refusal under ``/ui/`` is a page (HTML), never the API's JSON: 403 (CSRF or Origin),
  404, 405, 413 (a form over ``forms.MAX_FORM_BYTES``), 400, and 500 without detail.
- The API's routes and OpenAPI document stay exactly the API's: the web door is not among the
  app's routes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from hermit_common.errors import HermitError
from idmd import limits
from idmd.errors import BodyTooLarge
from idmd.https.inputs import BodyLimitMiddleware
from idmd.https.routing import resource
from idmd.idm import Idm
from idmd.web import selfservice, signin
from idmd.web.door import Forbidden, Visitor, WebDoor, page, visitor_of
from idmd.web.forms import TOO_LARGE
from idmd.web.headers import SecurityHeadersMiddleware

log = logging.getLogger(__name__)

PREFIX = "/ui"
STATIC = Path(__file__).parent / "static"


def _routes() -> list[BaseRoute]:
    changes = [
        resource(f"/ui/credentials/{name}", POST=handler)
        for name, handler in selfservice.CHANGES.items()
    ]
    return [
        Mount("/ui/static", app=StaticFiles(directory=STATIC), name="static"),
        resource("/ui/", GET=signin.applications),
        resource("/ui/login", GET=signin.login_page, POST=signin.begin),
        resource("/ui/login/step", POST=signin.step),
        resource("/ui/login/passkey/begin", POST=signin.passkey_begin),
        resource("/ui/login/passkey", POST=signin.passkey_finish),
        resource("/ui/reauth", POST=signin.reauth),
        resource("/ui/logout", POST=signin.sign_out),
        resource("/ui/credentials", GET=selfservice.credentials_page),
        *changes,
        resource("/ui/credentials/save", POST=selfservice.save),
        resource("/ui/credentials/discard", POST=selfservice.discard),
        resource("/ui/sessions/end", POST=selfservice.end_session),
        resource("/ui/reset", GET=selfservice.reset_page, POST=selfservice.redeem),
    ]


def _message(visitor: Visitor, status: int, text: str) -> Response:
    return page(visitor, "message.html", status=status, alert=text, title="hermit")


async def _forbidden(request: Request, exc: Exception) -> Response:
    return _message(visitor_of(request), 403, str(exc))


async def _hermit_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HermitError)
    response = _message(visitor_of(request), exc.status, exc.detail)
    if isinstance(exc, BodyTooLarge):
        response.headers["Connection"] = "close"
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    texts = {404: "There is no such page.", 405: "This page does not take that method."}
    status = exc.status_code if exc.status_code in texts else 400
    response = _message(visitor_of(request), status, texts.get(status, "Bad request."))
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The traceback names code, never request values; the browser learns nothing.
    log.error("internal error on %s %s", request.method, request.scope.get("path"), exc_info=exc)
    return _message(visitor_of(request), 500, "Something went wrong on the server.")


class _TooLargeGate:
    """Answers the 413 page at once for a declared body too large to drain (the API's
    ``BodyLimitMiddleware`` would answer it in JSON)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limits.MAX_DRAIN_BYTES:
                scope["app"] = self.app
                response = _message(visitor_of(request), 413, TOO_LARGE)
                response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_web_app(idm: Idm) -> ASGIApp:
    door = WebDoor(idm)
    web = Starlette(
        routes=[*_routes(), resource("/ui", GET=signin.to_applications)],
        middleware=[Middleware(BodyLimitMiddleware, max_bytes=limits.MAX_DRAIN_BYTES)],
        exception_handlers={
            Forbidden: _forbidden,
            HermitError: _hermit_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    web.state.door = door
    return _TooLargeGate(web)


class _Doors:
    """Sends ``/ui`` and ``/ui/...`` to the web door, everything else to the API."""

    def __init__(self, web: ASGIApp, api: ASGIApp) -> None:
        self.web = web
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.web(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def mount(app: Starlette) -> Starlette:
    """Put the web door and the headers middleware in front of ``app`` (the REST API's app,
    whose ``state.idm`` the door uses); ``app`` itself, for ``build_app`` to return.

    Resources: none beyond the app's; call it last, once ``app``'s middleware is complete.
    """
    web = build_web_app(app.state.idm)
    app.middleware_stack = SecurityHeadersMiddleware(_Doors(web, app.build_middleware_stack()))
    return app
