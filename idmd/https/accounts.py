"""``/v1/person`` and ``/v1/service_account``: the same routes over the two kinds of account.

docs/api.md "People" and "Service accounts". Each handler reads and checks its body here, then
calls one operation of ``idmd.idm.directory.accounts`` inside one transaction as the caller.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hermit_common.errors import InvalidValue
from idmd.https.inputs import caller_of, idm_of, optional_string, read_object, string
from idmd.https.routing import Handler, resource
from idmd.idm.credentials.hashimport import validate_imported_hash
from idmd.idm.credentials.passwords import validate_password
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


def _changes(kind: Kind, body: dict[str, Any]) -> dict[str, object]:
    changes: dict[str, object] = {}
    if "name" in body:
        changes["name"] = string(body, "name")
    if "displayname" in body:
        changes["displayname"] = validate_text("displayname", body["displayname"])
    if "mail" in body:
        changes["mail"] = validate_mail_list(body["mail"])
    for key in ("valid_from", "expire_at"):
        if key in body:
            changes[key] = None if body[key] is None else validate_time(key, body[key])
    if kind == "service_account" and "managed_by" in body:
        changes["managed_by"] = string(body, "managed_by")
    return changes


def account_routes(kind: Kind) -> list[Route]:
    prefix = f"/v1/{kind}"

    async def list_(request: Request) -> JSONResponse:
        caller = caller_of(request)
        entries = idm_of(request).read(caller, accounts.list_accounts, kind)
        return JSONResponse({PLURAL[kind]: entries})

    async def create(request: Request) -> JSONResponse:
        caller = caller_of(request)
        if kind == "person":
            body = await read_object(
                request, allowed=("name", "displayname", "mail"), required=("name", "displayname")
            )
        else:
            body = await read_object(
                request,
                allowed=("name", "displayname", "managed_by"),
                required=("name", "displayname", "managed_by"),
            )
        changed, entry = idm_of(request).write(
            caller,
            accounts.create_account,
            kind,
            name=string(body, "name"),
            displayname=validate_text("displayname", body["displayname"]),
            mail=validate_mail_list(body["mail"]) if "mail" in body else None,
            managed_by=optional_string(body, "managed_by"),
        )
        return JSONResponse({"changed": changed, "entry": entry})

    async def get(request: Request) -> JSONResponse:
        caller = caller_of(request)
        entry = idm_of(request).read(caller, accounts.get_account, kind, request.path_params["id"])
        return JSONResponse(entry)

    async def update(request: Request) -> JSONResponse:
        caller = caller_of(request)
        allowed = ["displayname", "mail", "name", "valid_from", "expire_at"]
        if kind == "service_account":
            allowed.append("managed_by")
        body = await read_object(request, allowed=allowed)
        changed, entry = idm_of(request).write(
            caller, accounts.update_account, kind, request.path_params["id"], _changes(kind, body)
        )
        return JSONResponse({"changed": changed, "entry": entry})

    async def delete(request: Request) -> JSONResponse:
        caller = caller_of(request)
        await read_object(request, allowed=())
        changed = idm_of(request).write(
            caller, accounts.delete_account, kind, request.path_params["id"]
        )
        return JSONResponse({"changed": changed})

    async def posix(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await read_object(request, allowed=("gidnumber", "loginshell"))
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
            body = await read_object(request, allowed=("password", "password_hash"))
            if len(body) != 1:
                raise InvalidValue("send exactly one of password and password_hash")
            if "password_hash" in body:
                # A hash another system made (docs/password-policy.md "Imported hashes"): not
                # vetted (we cannot see the password), upgraded to Argon2id at the first login.
                stored = validate_imported_hash(body["password_hash"])
                ended = idm_of(request).import_password_hash(
                    caller, kind, request.path_params["id"], attr, stored
                )
                return JSONResponse({"changed": True, "sessions_ended": ended})
            password = validate_password(body["password"])
            ended = await idm_of(request).set_password(
                caller, kind, request.path_params["id"], attr, password
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
        body = await read_object(request, allowed=("key",), required=("key",))
        key = make_key(request.path_params["label"], body["key"])
        changed, view = idm_of(request).write(
            caller, accounts.put_ssh_key, kind, request.path_params["id"], key
        )
        return JSONResponse({"changed": changed, "ssh_key": view})

    async def delete_ssh_key(request: Request) -> JSONResponse:
        caller = caller_of(request)
        await read_object(request, allowed=())
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
            await read_object(request, allowed=())
            password, ended = await idm_of(request).generate_password(
                caller, request.path_params["id"]
            )
            return JSONResponse(
                {"changed": True, "password": password.reveal(), "sessions_ended": ended}
            )

        routes.append(resource(f"{prefix}/{{id}}/generate_password", POST=generate_password))
    return routes


ROUTES = account_routes("person") + account_routes("service_account")
