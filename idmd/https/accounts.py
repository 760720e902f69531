"""``/v1/person`` and ``/v1/service_account``: the same routes over the two kinds of account.

docs/api.md "People" and "Service accounts". Each handler reads and checks its body here, then
calls one operation of ``idmd.idm.directory.accounts`` inside one transaction as the caller.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hermit_common.secret import Secret
from idmd import limits
from idmd.https import fields
from idmd.https.bodies import NO_KEYS, Body, checked, nullable, text, whole
from idmd.https.inputs import caller_of, idm_of
from idmd.https.routing import Handler, resource
from idmd.idm.credentials.hashimport import validate_imported_hash
from idmd.idm.credentials.passwords import MIN_PASSWORD_CHARS
from idmd.idm.directory import accounts
from idmd.idm.directory.accounts import CredentialAttr, Kind
from idmd.idm.directory.sshkeys import make_key
from idmd.idm.values import (
    validate_gidnumber_type,
    validate_loginshell,
    validate_mail_list,
    validate_text,
    validate_time,
)

PLURAL: dict[Kind, str] = {"person": "persons", "service_account": "service_accounts"}

# maxLength in characters: 4 UTF-8 bytes each at most, so any such string fits the byte limit.
PASSWORD = {
    "type": "string",
    "minLength": MIN_PASSWORD_CHARS,
    "maxLength": limits.MAX_PASSWORD_BYTES // 4,
}

CREATE: dict[Kind, Body] = {
    "person": Body(
        {
            "name": text(**fields.NAME),
            "displayname": checked(fields.TEXT),
            "mail": checked(fields.MAILS, required=False),
        }
    ),
    "service_account": Body(
        {
            "name": text(**fields.NAME),
            "displayname": checked(fields.TEXT),
            "managed_by": text(),
        }
    ),
}
_UPDATE_KEYS = {
    "displayname": checked(fields.TEXT, required=False),
    "mail": checked(fields.MAILS, required=False),
    "name": text(required=False, **fields.NAME),
    "valid_from": checked(nullable(fields.TIME), required=False),
    "expire_at": checked(nullable(fields.TIME), required=False),
}
UPDATE: dict[Kind, Body] = {
    "person": Body(_UPDATE_KEYS),
    "service_account": Body({**_UPDATE_KEYS, "managed_by": text(required=False)}),
}
POSIX = Body(
    {
        "gidnumber": whole(fields.GIDNUMBER, required=False),
        "loginshell": checked(fields.LOGINSHELL, required=False),
    }
)
# A password, or a hash another system made (docs/password-policy.md "Imported hashes").
PASSWORD_OR_HASH = Body(
    {
        "password": checked(PASSWORD, required=False),
        "password_hash": checked({"type": "string", "minLength": 1}, required=False),
    },
    exactly_one_of=("password", "password_hash"),
)
SSH_KEY = Body({"key": checked({"type": "string", "maxLength": limits.MAX_SSH_KEY_LEN})})


def _changes(kind: Kind, body: dict[str, Any]) -> dict[str, object]:
    changes: dict[str, object] = {}
    if "name" in body:
        changes["name"] = body["name"]
    if "displayname" in body:
        changes["displayname"] = validate_text("displayname", body["displayname"])
    if "mail" in body:
        changes["mail"] = validate_mail_list(body["mail"])
    for key in ("valid_from", "expire_at"):
        if key in body:
            changes[key] = None if body[key] is None else validate_time(key, body[key])
    if kind == "service_account" and "managed_by" in body:
        changes["managed_by"] = body["managed_by"]
    return changes


def account_routes(kind: Kind) -> list[Route]:
    prefix = f"/v1/{kind}"

    async def list_(request: Request) -> JSONResponse:
        caller = caller_of(request)
        entries = idm_of(request).read(caller, accounts.list_accounts, kind)
        return JSONResponse({PLURAL[kind]: entries})

    async def create(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await CREATE[kind].read(request)
        changed, entry = idm_of(request).write(
            caller,
            accounts.create_account,
            kind,
            name=body["name"],
            displayname=validate_text("displayname", body["displayname"]),
            mail=validate_mail_list(body["mail"]) if "mail" in body else None,
            managed_by=body.get("managed_by"),
        )
        return JSONResponse({"changed": changed, "entry": entry})

    async def get(request: Request) -> JSONResponse:
        caller = caller_of(request)
        entry = idm_of(request).read(caller, accounts.get_account, kind, request.path_params["id"])
        return JSONResponse(entry)

    async def update(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await UPDATE[kind].read(request)
        changed, entry = idm_of(request).write(
            caller, accounts.update_account, kind, request.path_params["id"], _changes(kind, body)
        )
        return JSONResponse({"changed": changed, "entry": entry})

    async def delete(request: Request) -> JSONResponse:
        caller = caller_of(request)
        await NO_KEYS.read(request)
        changed = idm_of(request).write(
            caller, accounts.delete_account, kind, request.path_params["id"]
        )
        return JSONResponse({"changed": changed})

    async def posix(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await POSIX.read(request)
        gidnumber = validate_gidnumber_type(body["gidnumber"]) if "gidnumber" in body else None
        shell = validate_loginshell(body["loginshell"]) if "loginshell" in body else None
        changed, entry = idm_of(request).write(
            caller,
            accounts.set_posix,
            kind,
            request.path_params["id"],
            gidnumber=gidnumber,
            loginshell=shell,
        )
        return JSONResponse({"changed": changed, "entry": entry})

    def password_setter(attr: CredentialAttr) -> Handler:
        async def set_password(request: Request) -> JSONResponse:
            caller = caller_of(request)
            body = await PASSWORD_OR_HASH.read(request)
            if "password_hash" in body:
                # A hash another system made (docs/password-policy.md "Imported hashes"): not
                # vetted (we cannot see the password), upgraded to Argon2id at the first login.
                stored = validate_imported_hash(body["password_hash"])
                ended = idm_of(request).import_password_hash(
                    caller, kind, request.path_params["id"], attr, stored
                )
                return JSONResponse({"changed": True, "sessions_ended": ended})
            ended = await idm_of(request).set_password(
                caller, kind, request.path_params["id"], attr, Secret(body["password"])
            )
            # A new password ends the account's other sessions (docs/authentication.md).
            return JSONResponse({"changed": True, "sessions_ended": ended})

        return set_password

    async def ssh_keys(request: Request) -> JSONResponse:
        caller = caller_of(request)
        keys = idm_of(request).read(caller, accounts.list_ssh_keys, kind, request.path_params["id"])
        return JSONResponse({"ssh_keys": keys})

    async def put_ssh_key(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await SSH_KEY.read(request)
        key = make_key(request.path_params["label"], body["key"])
        changed, view = idm_of(request).write(
            caller, accounts.put_ssh_key, kind, request.path_params["id"], key
        )
        return JSONResponse({"changed": changed, "ssh_key": view})

    async def delete_ssh_key(request: Request) -> JSONResponse:
        caller = caller_of(request)
        await NO_KEYS.read(request)
        changed = idm_of(request).write(
            caller,
            accounts.delete_ssh_key,
            kind,
            request.path_params["id"],
            request.path_params["label"],
        )
        return JSONResponse({"changed": changed})

    routes = [
        resource(prefix, GET=list_, POST=create),
        resource(f"{prefix}/{{id}}", GET=get, PATCH=update, DELETE=delete),
        resource(f"{prefix}/{{id}}/posix", PUT=posix),
        resource(f"{prefix}/{{id}}/password", PUT=password_setter("password")),
        resource(f"{prefix}/{{id}}/unix_password", PUT=password_setter("unix_password")),
        resource(f"{prefix}/{{id}}/ssh_keys", GET=ssh_keys),
        resource(f"{prefix}/{{id}}/ssh_keys/{{label}}", PUT=put_ssh_key, DELETE=delete_ssh_key),
    ]
    if kind == "service_account":

        async def generate_password(request: Request) -> JSONResponse:
            caller = caller_of(request)
            await NO_KEYS.read(request)
            password, ended = await idm_of(request).generate_password(
                caller, request.path_params["id"]
            )
            return JSONResponse(
                {"changed": True, "password": password.reveal(), "sessions_ended": ended}
            )

        routes.append(resource(f"{prefix}/{{id}}/generate_password", POST=generate_password))
    return routes


ROUTES = account_routes("person") + account_routes("service_account")
