"""``/v1/service_account/{id}/api_token``: creating, listing and destroying API tokens.

docs/api.md "API tokens". Each handler checks its body here and calls ``Idm.create_api_token``
or one operation of ``idmd.idm.auth.apitokens`` as the caller. The token itself appears in exactly
one answer, the creating ``POST``'s; it is never logged.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hermit_common.errors import InvalidValue
from idmd.https.inputs import caller_of, idm_of, read_object, string
from idmd.https.routing import resource
from idmd.idm.auth import apitokens
from idmd.idm.values import time_to_epoch, validate_time

PREFIX = "/v1/service_account/{id}/api_token"
SCOPES = ("read_only", "read_write")


async def create(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await read_object(
        request, allowed=("label", "scope", "expires_at"), required=("label",)
    )
    scope = string(body, "scope") if "scope" in body else "read_only"
    if scope not in SCOPES:
        raise InvalidValue("scope must be read_only or read_write")
    raw_expiry = body.get("expires_at")
    expires_at = (
        None if raw_expiry is None else time_to_epoch(validate_time("expires_at", raw_expiry))
    )
    token, view = idm_of(request).create_api_token(
        caller,
        request.path_params["id"],
        string(body, "label"),
        read_write=scope == "read_write",
        expires_at=expires_at,
    )
    return JSONResponse({"changed": True, "token": token.reveal(), "api_token": view})


async def list_(request: Request) -> JSONResponse:
    caller = caller_of(request)
    tokens = idm_of(request).read(caller, apitokens.list_api_tokens, request.path_params["id"])
    return JSONResponse({"api_tokens": tokens})


async def destroy(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await read_object(request, allowed=())
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
