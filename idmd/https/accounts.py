"""``/v1/person`` and ``/v1/service_account``: the same routes over the two kinds of account.

docs/api.md "People" and "Service accounts". Each handler reads its body (JSON types only) and
calls one ``Idm`` method as the caller, which validates the values (``idmd/idm/__init__.py``),
or one read or delete of ``idmd.idm.directory.accounts`` through ``Idm.read``/``Idm.write``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hermit_common.secret import Secret
from idmd import limits
from idmd.https import fields
from idmd.https.bodies import NO_KEYS, Body, checked, nullable, text, whole
from idmd.https.inputs import caller_of, idm_of
from idmd.https.routing import Handler, resource
from idmd.idm.credentials.passwords import MIN_PASSWORD_CHARS
from idmd.idm.directory import accounts
from idmd.idm.directory.accounts import CredentialAttr, Kind

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


def account_routes(kind: Kind) -> list[Route]:
    prefix = f"/v1/{kind}"

    async def list_(request: Request) -> JSONResponse:
        caller = caller_of(request)
        entries = idm_of(request).read(caller, accounts.list_accounts, kind)
        return JSONResponse({PLURAL[kind]: entries})

    async def create(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await CREATE[kind].read(request)
        changed, entry = idm_of(request).create_account(caller, kind, body)
        return JSONResponse({"changed": changed, "entry": entry})

    async def get(request: Request) -> JSONResponse:
        caller = caller_of(request)
        entry = idm_of(request).read(caller, accounts.get_account, kind, request.path_params["id"])
        return JSONResponse(entry)

    async def update(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await UPDATE[kind].read(request)
        changed, entry = idm_of(request).update_account(
            caller, kind, request.path_params["id"], body
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
        changed, entry = idm_of(request).set_account_posix(
            caller, kind, request.path_params["id"], body
        )
        return JSONResponse({"changed": changed, "entry": entry})

    def password_setter(attr: CredentialAttr) -> Handler:
        async def set_password(request: Request) -> JSONResponse:
            caller = caller_of(request)
            body = await PASSWORD_OR_HASH.read(request)
            if "password_hash" in body:
                # A hash another system made (docs/password-policy.md "Imported hashes"): not
                # vetted (we cannot see the password), upgraded to Argon2id at the first login.
                ended = idm_of(request).import_password_hash(
                    caller, kind, request.path_params["id"], attr, body["password_hash"]
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
        changed, view = idm_of(request).put_ssh_key(
            caller, kind, request.path_params["id"], request.path_params["label"], body["key"]
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
