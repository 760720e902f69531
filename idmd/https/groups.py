"""``/v1/group``: groups, their members and their POSIX data (docs/api.md "Groups").

Each handler reads its body (JSON types only) and calls one ``Idm`` method as the caller,
which validates the values, or one operation of ``idmd.idm.directory.groups`` through
``Idm.read``/``Idm.write`` where a request carries no value to validate.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from idmd import limits
from idmd.https import fields
from idmd.https.bodies import NO_KEYS, Body, checked, nullable, text, texts, whole
from idmd.https.inputs import caller_of, idm_of
from idmd.https.routing import Handler, resource
from idmd.idm.directory import groups

CREATE = Body(
    {"name": text(**fields.NAME), "description": checked(nullable(fields.TEXT), required=False)}
)
UPDATE = Body(
    {
        "description": checked(nullable(fields.TEXT), required=False),
        "name": text(required=False, **fields.NAME),
    }
)
MEMBERS = Body({"members": texts(maxItems=limits.MAX_MEMBERS_PER_REQUEST)})
POSIX = Body({"gidnumber": whole(fields.GIDNUMBER, required=False)})
_SECONDS = {"type": "integer", "minimum": limits.MIN_POLICY_LIFETIME_SECONDS}
# policy.account.POLICY_SETTINGS' keys (docs/api.md "Group policy"); null clears.
POLICY = Body(
    {
        "min_credential": checked(
            nullable({"enum": ["password", "mfa", "passkey"]}), required=False
        ),
        "session_lifetime": whole(
            nullable({**_SECONDS, "maximum": limits.MAX_SESSION_LIFETIME_SECONDS}),
            required=False,
        ),
        "privilege_lifetime": whole(
            nullable({**_SECONDS, "maximum": limits.MAX_PRIVILEGE_LIFETIME_SECONDS}),
            required=False,
        ),
        "password_min_length": whole(
            nullable(
                {
                    "type": "integer",
                    "minimum": limits.ABSOLUTE_MIN_PASSWORD_CHARS,
                    "maximum": limits.MAX_POLICY_PASSWORD_CHARS,
                }
            ),
            required=False,
        ),
    }
)


async def list_(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse({"groups": idm_of(request).read(caller, groups.list_groups)})


async def create(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await CREATE.read(request)
    changed, entry = idm_of(request).create_group(
        caller, name=body["name"], description=body.get("description")
    )
    return JSONResponse({"changed": changed, "entry": entry})


async def get(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse(idm_of(request).read(caller, groups.get_group, request.path_params["id"]))


async def update(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await UPDATE.read(request)
    changed, entry = idm_of(request).update_group(caller, request.path_params["id"], body)
    return JSONResponse({"changed": changed, "entry": entry})


async def delete(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await NO_KEYS.read(request)
    changed = idm_of(request).write(caller, groups.delete_group, request.path_params["id"])
    return JSONResponse({"changed": changed})


def _change_members(add: bool) -> Handler:
    async def change(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await MEMBERS.read(request)
        changed, entry = idm_of(request).write(
            caller,
            groups.change_members,
            request.path_params["id"],
            body["members"],
            add=add,
        )
        return JSONResponse({"changed": changed, "entry": entry})

    return change


async def posix(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await POSIX.read(request)
    changed, entry = idm_of(request).set_group_posix(caller, request.path_params["id"], body)
    return JSONResponse({"changed": changed, "entry": entry})


async def set_policy(request: Request) -> JSONResponse:
    caller = caller_of(request)
    body = await POLICY.read(request)
    changed, entry = idm_of(request).set_group_policy(caller, request.path_params["id"], body)
    return JSONResponse({"changed": changed, "entry": entry})


ROUTES = [
    resource("/v1/group", GET=list_, POST=create),
    resource("/v1/group/{id}", GET=get, PATCH=update, DELETE=delete),
    resource("/v1/group/{id}/members/add", POST=_change_members(add=True)),
    resource("/v1/group/{id}/members/remove", POST=_change_members(add=False)),
    resource("/v1/group/{id}/posix", PUT=posix),
    resource("/v1/group/{id}/policy", PUT=set_policy),
]
