"""Builds the Starlette application of hermit-idmd's REST API over one ``Idm``.

The process shell (``idmd.main``) serves what ``build_app`` returns with hypercorn over TLS;
this module binds nothing and knows no certificates.

Order of the layers, outermost first: Starlette's error middleware (the 500 handler), the body
limit (so an oversized body is refused before any route reads it), Starlette's exception
middleware (``errors.py``'s handlers), the router.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute

from idmd import web
from idmd.https import accounts, api_tokens, auth, credentials, groups, system, unix
from idmd.https.errors import EXCEPTION_HANDLERS
from idmd.https.inputs import BodyLimitMiddleware
from idmd.https.openapi import build_document
from idmd.https.routing import resource
from idmd.idm import Idm


def build_app(idm: Idm) -> Starlette:
    document = build_document()

    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(document)

    routes: list[BaseRoute] = [
        resource("/status", GET=status),
        resource("/v1/openapi.json", GET=openapi),
        *auth.ROUTES,
        *accounts.ROUTES,
        *credentials.ROUTES,
        *api_tokens.ROUTES,
        *groups.ROUTES,
        *unix.ROUTES,
        *system.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(BodyLimitMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.idm = idm
    return web.mount(app)
