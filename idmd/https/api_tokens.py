"""``/v1/service_account/{id}/api_token``: creating, listing and destroying API tokens.

docs/api.md "API tokens". Each handler reads its body (JSON types only) and calls
``Idm.create_api_token`` (which validates the values) or one operation of
``idmd.idm.auth.apitokens`` as the caller. The token itself appears in exactly one answer, the
creating ``POST``'s; it is never logged.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idmd import limits
from idmd.https import fields
from idmd.https.bodies import NO_KEYS, Body, checked, nullable, text
from idmd.https.inputs import caller_of, idm_of
from idmd.https.routing import resource
from idmd.idm.auth import apitokens
from idmd.idm.bounds import API_TOKEN_SCOPES

PREFIX = "/v1/service_account/{id}/api_token"
CREATE = Body(
    {
        "label": text(**fields.label(limits.MAX_SSH_KEY_LABEL_LEN)),
        "scope": text(required=False, enum=list(API_TOKEN_SCOPES)),
        "expires_at": checked(nullable(fields.TIME), required=False),
    }
)


async def create(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await CREATE.read(request)
    token, view = idm_of(request).create_api_token(
        caller,
        request.path_params["id"],
        body["label"],
        scope=body.get("scope", "read_only"),
        expires_at=body.get("expires_at"),
    )
    return JSONResponse({"changed": True, "token": token.reveal(), "api_token": view})


async def list_(request: Request) -> JSONResponse:
    caller = caller_of(request)
    tokens = idm_of(request).read(caller, apitokens.list_api_tokens, request.path_params["id"])
    return JSONResponse({"api_tokens": tokens})


async def destroy(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await NO_KEYS.read(request)
    changed = idm_of(request).write(
        caller,
        apitokens.destroy_api_token,
        request.path_params["id"],
        request.path_params["token_id"],
    )
    return JSONResponse({"changed": changed})


ROUTES: list[Route] = [
    resource(PREFIX, GET=list_, POST=create),
    resource(f"{PREFIX}/{{token_id}}", DELETE=destroy),
]
