"""Credential update sessions and reset tokens over HTTP (docs/api.md "Credential updates").

Each handler reads its body (JSON types only), then calls one method of
``Idm.credential_updates`` (``idmd.idm.credentials.updates``), which validates the values.

Wire format: a session begins at ``POST /v1/person/{id}/credential/update`` (bearer) or
``POST /v1/credential/update/begin`` with a reset token (no bearer); every later call carries
the session id in the body's ``session`` key, never in the url (urls end up in logs and
proxies' histories), and needs no bearer token: the session id is the capability.

Passkeys: ``passkey/begin`` answers the creation options (``{"publicKey": {...}}``, what the
browser's ``PublicKeyCredential.parseCreationOptionsFromJSON`` takes), ``passkey/finish``
takes the browser's ``credential.toJSON()`` as ``passkey``; ``GET
/v1/person/{id}/credential/passkeys`` lists a person's passkeys (bearer: the person or an
admin).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hermit_common.secret import Secret
from idmd import limits
from idmd.https import fields
from idmd.https.bodies import NO_KEYS, Body, checked, flag, text, whole
from idmd.https.inputs import caller_of, idm_of
from idmd.https.routing import Handler, resource
from idmd.idm.credentials.passkeys import MAX_PASSKEY_LABEL_CHARS
from idmd.idm.credentials.passwords import MIN_PASSWORD_CHARS
from idmd.idm.credentials.staging import (
    DEFAULT_TOTP_ALGORITHM,
    MAX_TOTP_LABEL_CHARS,
    PasswordAttr,
)
from idmd.idm.credentials.totp import ALGORITHMS
from idmd.idm.credentials.updates import CredentialUpdates

PREFIX = "/v1/credential/update"

# The session id travels in every step's body; an unknown one is 404, whatever its type.
_SESSION = {"session": checked({"type": "string"})}
_LABEL = checked(fields.label(MAX_TOTP_LABEL_CHARS))
# maxLength in characters: 4 UTF-8 bytes each at most, so any such string fits the byte limit.
_PASSWORD = checked(
    {
        "type": "string",
        "minLength": MIN_PASSWORD_CHARS,
        "maxLength": limits.MAX_PASSWORD_BYTES // 4,
    }
)
RESET_TOKEN = Body(
    {
        "ttl": whole(
            {"type": "integer", "minimum": 60, "maximum": limits.MAX_RESET_TOKEN_TTL_SECONDS},
            required=False,
        )
    }
)
BEGIN_WITH_RESET_TOKEN = Body({"reset_token": text()})
SESSION = Body(_SESSION)
PASSWORD = Body({**_SESSION, "password": _PASSWORD})
TOTP_BEGIN = Body(
    {
        **_SESSION,
        "label": _LABEL,
        "unix": flag(),
        "algorithm": checked({"enum": list(ALGORITHMS)}, required=False),
    }
)
TOTP_CONFIRM = Body({**_SESSION, "code": text()})
TOTP_REMOVE = Body({**_SESSION, "label": _LABEL, "unix": flag()})
_PASSKEY_LABEL = checked(fields.label(MAX_PASSKEY_LABEL_CHARS))
PASSKEY_BEGIN = Body({**_SESSION, "label": _PASSKEY_LABEL})
# The browser's PublicKeyCredential.toJSON(): idm checks its shape (credentials/passkeys.py).
PASSKEY_FINISH = Body(
    {
        **_SESSION,
        "passkey": checked(
            {
                "type": "object",
                "description": "the browser's credential.toJSON() (id, rawId, type, response)",
            }
        ),
    }
)
PASSKEY_RENAME = Body({**_SESSION, "label": _PASSKEY_LABEL, "new_label": _PASSKEY_LABEL})
PASSKEY_REMOVE = Body({**_SESSION, "label": _PASSKEY_LABEL})


def _updates(request: Request) -> CredentialUpdates:
    return idm_of(request).credential_updates


async def begin(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await NO_KEYS.read(request)
    updates = _updates(request)
    session = updates.begin(caller, request.path_params["id"])
    return JSONResponse({"session": session, "status": updates.status(session)})


async def create_reset_token(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await RESET_TOKEN.read(request)
    ttl = body.get("ttl", limits.DEFAULT_RESET_TOKEN_TTL_SECONDS)
    token, expires_at = _updates(request).create_reset_token(
        caller, request.path_params["id"], ttl
    )
    return JSONResponse({"changed": True, "token": token.reveal(), "expires_at": expires_at})


async def begin_with_reset_token(request: Request) -> JSONResponse:
    body = await BEGIN_WITH_RESET_TOKEN.read(request)
    updates = _updates(request)
    session = updates.begin_with_reset_token(body["reset_token"])
    return JSONResponse({"session": session, "status": updates.status(session)})


async def status(request: Request) -> JSONResponse:
    body = await SESSION.read(request)
    return JSONResponse(_updates(request).status(body["session"]))


def _password_setter(attr: PasswordAttr) -> Handler:
    async def set_password(request: Request) -> JSONResponse:
        body = await PASSWORD.read(request)
        updates = _updates(request)
        password = Secret(body["password"])
        return JSONResponse(await updates.set_password(body["session"], attr, password))

    return set_password


async def totp_begin(request: Request) -> JSONResponse:
    body = await TOTP_BEGIN.read(request)
    enrolment = _updates(request).begin_totp(
        body["session"],
        body["label"],
        unix=body.get("unix", False),
        algorithm=body.get("algorithm", DEFAULT_TOTP_ALGORITHM),
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
    body = await TOTP_CONFIRM.read(request)
    return JSONResponse(_updates(request).confirm_totp(body["session"], body["code"]))


async def totp_remove(request: Request) -> JSONResponse:
    body = await TOTP_REMOVE.read(request)
    changed, view = _updates(request).remove_totp(
        body["session"], body["label"], unix=body.get("unix", False)
    )
    return JSONResponse({"changed": changed, "status": view})


async def backup_codes(request: Request) -> JSONResponse:
    body = await SESSION.read(request)
    codes, view = _updates(request).generate_backup_codes(body["session"])
    return JSONResponse({"backup_codes": [code.reveal() for code in codes], "status": view})


async def passkey_begin(request: Request) -> JSONResponse:
    body = await PASSKEY_BEGIN.read(request)
    return JSONResponse(_updates(request).begin_passkey(body["session"], body["label"]))


async def passkey_finish(request: Request) -> JSONResponse:
    body = await PASSKEY_FINISH.read(request)
    return JSONResponse(_updates(request).finish_passkey(body["session"], body["passkey"]))


async def passkey_rename(request: Request) -> JSONResponse:
    body = await PASSKEY_RENAME.read(request)
    updates = _updates(request)
    return JSONResponse(
        updates.rename_passkey(body["session"], body["label"], body["new_label"])
    )


async def passkey_remove(request: Request) -> JSONResponse:
    body = await PASSKEY_REMOVE.read(request)
    changed, view = _updates(request).remove_passkey(body["session"], body["label"])
    return JSONResponse({"changed": changed, "status": view})


async def list_passkeys(request: Request) -> JSONResponse:
    caller = caller_of(request)
    found = _updates(request).list_passkeys(caller, request.path_params["id"])
    return JSONResponse({"passkeys": found})


async def commit(request: Request) -> JSONResponse:
    body = await SESSION.read(request)
    changed, ended = _updates(request).commit(body["session"])
    return JSONResponse({"changed": changed, "sessions_ended": ended})


async def cancel(request: Request) -> JSONResponse:
    body = await SESSION.read(request)
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
    resource(f"{PREFIX}/passkey/begin", POST=passkey_begin),
    resource(f"{PREFIX}/passkey/finish", POST=passkey_finish),
    resource(f"{PREFIX}/passkey/rename", POST=passkey_rename),
    resource(f"{PREFIX}/passkey/remove", POST=passkey_remove),
    resource("/v1/person/{id}/credential/passkeys", GET=list_passkeys),
    resource(f"{PREFIX}/commit", POST=commit),
    resource(f"{PREFIX}/cancel", POST=cancel),
]
