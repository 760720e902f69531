"""Credential update sessions and reset tokens over HTTP (docs/api.md "Credential updates").

Each handler reads and checks its body, then calls one method of
``Idm.credential_updates`` (``idmd.idm.credentials.updates``).

Wire format: a session begins at ``POST /v1/person/{id}/credential/update`` (bearer) or
``POST /v1/credential/update/begin`` with a reset token (no bearer); every later call carries
the session id in the body's ``session`` key, never in the url (urls end up in logs and
proxies' histories), and needs no bearer token: the session id is the capability.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.https.inputs import caller_of, flag, idm_of, read_object, string
from idmd.https.routing import Handler, resource
from idmd.idm.credentials.passwords import validate_password
from idmd.idm.credentials.staging import PasswordAttr
from idmd.idm.credentials.totp import ALGORITHMS, Algorithm
from idmd.idm.credentials.updates import CredentialUpdates

PREFIX = "/v1/credential/update"


def _updates(request: Request) -> CredentialUpdates:
    return idm_of(request).credential_updates


def _algorithm(body: dict[str, Any]) -> Algorithm:
    value: object = body.get("algorithm", "sha256")
    if value in ALGORITHMS:
        return value
    raise InvalidValue(f"algorithm must be one of {', '.join(ALGORITHMS)}")


async def begin(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await read_object(request, allowed=())
    updates = _updates(request)
    session = updates.begin(caller, request.path_params["id"])
    return JSONResponse({"session": session, "status": updates.status(session)})


async def create_reset_token(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await read_object(request, allowed=("ttl",))
    ttl = body.get("ttl", limits.DEFAULT_RESET_TOKEN_TTL_SECONDS)
    token, expires_at = _updates(request).create_reset_token(
        caller, request.path_params["id"], ttl
    )
    return JSONResponse({"changed": True, "token": token.reveal(), "expires_at": expires_at})


async def begin_with_reset_token(request: Request) -> JSONResponse:
    body = await read_object(request, allowed=("reset_token",), required=("reset_token",))
    token = string(body, "reset_token")
    updates = _updates(request)
    session = updates.begin_with_reset_token(token)
    return JSONResponse({"session": session, "status": updates.status(session)})


async def status(request: Request) -> JSONResponse:
    body = await read_object(request, allowed=("session",), required=("session",))
    return JSONResponse(_updates(request).status(body["session"]))


def _password_setter(attr: PasswordAttr) -> Handler:
    async def set_password(request: Request) -> JSONResponse:
        body = await read_object(
            request, allowed=("session", "password"), required=("session", "password")
        )
        password = validate_password(body["password"])
        return JSONResponse(await _updates(request).set_password(body["session"], attr, password))

    return set_password


async def totp_begin(request: Request) -> JSONResponse:
    body = await read_object(
        request, allowed=("session", "label", "unix", "algorithm"), required=("session", "label")
    )
    enrolment = _updates(request).begin_totp(
        body["session"], body["label"], unix=flag(body, "unix"), algorithm=_algorithm(body)
    )
    return JSONResponse(
        {
            "label": enrolment.label,
            "secret": enrolment.secret.reveal(),
            "uri": enrolment.uri.reveal(),
            "algorithm": enrolment.algorithm,
            "digits": enrolment.digits,
            "step": enrolment.step,
        }
    )


async def totp_confirm(request: Request) -> JSONResponse:
    body = await read_object(request, allowed=("session", "code"), required=("session", "code"))
    return JSONResponse(_updates(request).confirm_totp(body["session"], string(body, "code")))


async def totp_remove(request: Request) -> JSONResponse:
    body = await read_object(
        request, allowed=("session", "label", "unix"), required=("session", "label")
    )
    changed, view = _updates(request).remove_totp(
        body["session"], body["label"], unix=flag(body, "unix")
    )
    return JSONResponse({"changed": changed, "status": view})


async def backup_codes(request: Request) -> JSONResponse:
    body = await read_object(request, allowed=("session",), required=("session",))
    codes, view = _updates(request).generate_backup_codes(body["session"])
    return JSONResponse({"backup_codes": [code.reveal() for code in codes], "status": view})


async def commit(request: Request) -> JSONResponse:
    body = await read_object(request, allowed=("session",), required=("session",))
    changed, ended = _updates(request).commit(body["session"])
    return JSONResponse({"changed": changed, "sessions_ended": ended})


async def cancel(request: Request) -> JSONResponse:
    body = await read_object(request, allowed=("session",), required=("session",))
    _updates(request).cancel(body["session"])
    return JSONResponse({"changed": True})


ROUTES = [
    resource("/v1/person/{id}/credential/update", POST=begin),
    resource("/v1/person/{id}/credential/reset_token", POST=create_reset_token),
    resource(f"{PREFIX}/begin", POST=begin_with_reset_token),
    resource(f"{PREFIX}/status", POST=status),
    resource(f"{PREFIX}/password", POST=_password_setter("password")),
    resource(f"{PREFIX}/unix_password", POST=_password_setter("unix_password")),
    resource(f"{PREFIX}/totp/begin", POST=totp_begin),
    resource(f"{PREFIX}/totp/confirm", POST=totp_confirm),
    resource(f"{PREFIX}/totp/remove", POST=totp_remove),
    resource(f"{PREFIX}/backup_codes", POST=backup_codes),
    resource(f"{PREFIX}/commit", POST=commit),
    resource(f"{PREFIX}/cancel", POST=cancel),
]
