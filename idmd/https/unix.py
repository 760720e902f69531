"""``/v1/unix``: the views hermit-unixd reads, and unix password (+ TOTP) checks (docs/api.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hermit_common.secret import Secret
from idmd.https.bodies import Body, text
from idmd.https.inputs import caller_of, idm_of
from idmd.https.routing import resource
from idmd.idm.unix import reads as unix

AUTH = Body({"name": text(), "password": text(), "totp": text(required=False)})


async def list_users(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse({"users": idm_of(request).read(caller, unix.list_users)})


async def get_user(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse(idm_of(request).read(caller, unix.get_user, request.path_params["id"]))


async def list_groups(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse({"groups": idm_of(request).read(caller, unix.list_groups)})


async def get_group(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse(idm_of(request).read(caller, unix.get_group, request.path_params["id"]))


async def auth(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await AUTH.read(request)
    # idm bounds the password and the code (idmd/idm/bounds.py).
    code = body.get("totp")
    user = await idm_of(request).unix_auth(
        caller, body["name"], Secret(body["password"]), Secret(code) if code is not None else None
    )
    return JSONResponse({"state": "success", "user": user})


ROUTES = [
    resource("/v1/unix/user", GET=list_users),
    resource("/v1/unix/user/{id}", GET=get_user),
    resource("/v1/unix/group", GET=list_groups),
    resource("/v1/unix/group/{id}", GET=get_group),
    resource("/v1/unix/auth", POST=auth),
]
