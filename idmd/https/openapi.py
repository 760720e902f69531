"""The OpenAPI 3.1 document of the REST API, served at ``/v1/openapi.json``.

Hand-written from docs/api.md, so it says exactly what the routes do: every path, method,
status code and body shape. ``tests/idmd/test_https_openapi.py`` checks that every route of the
app is in it and every operation in it is a route, and a schemathesis run checks the answers.

Rules:
- Request bodies are not written here: each is the ``schema()`` of the ``bodies.Body`` its
  handler reads with, so the document and the parsing cannot disagree. They are closed
  (``additionalProperties: false``): an unknown key is ``400``.
- Each operation lists the error statuses it can answer, all with the ``Error`` shape; ``5xx``
  is never listed (there must be none).
- Operations behind a bearer token declare ``security``; the others declare none.
"""

from __future__ import annotations

from typing import Any

from idmd.https import accounts, api_tokens, auth, credentials, groups, system, unix
from idmd.https.bodies import NO_KEYS
from idmd.idm.directory.accounts import Kind

JSON = dict[str, Any]


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: JSON) -> JSON:
    return {"oneOf": [schema, {"type": "null"}]}


def _obj(properties: JSON, required: list[str] | None = None) -> JSON:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
TIME = {"type": "string", "format": "date-time"}
BOOL = {"type": "boolean"}
COUNT = {"type": "integer", "minimum": 0}
GIDNUMBER = {"type": "integer", "minimum": 0, "maximum": 4_294_967_295}

_ERROR_TEXT = {
    400: "Invalid request (see docs/api.md for the codes)",
    401: "No, or an invalid, expired or revoked bearer token; or wrong credentials",
    403: "Not allowed: access profiles, a read-only session, or an expired account",
    404: "No such entry",
    409: "A name, spn or gidnumber is already taken",
    413: "The request body is larger than 256 KiB",
    429: "Too many failed attempts on this credential; see Retry-After",
}

SCHEMAS: JSON = {
    "Error": _obj({"error": STRING, "detail": STRING}),
    "SshKey": _obj({"label": STRING, "key": STRING, "fingerprint": STRING}),
    "Posix": _obj({"gidnumber": GIDNUMBER, "loginshell": _nullable(STRING)}),
    "GroupPosix": _obj({"gidnumber": GIDNUMBER}),
    "Person": _obj(
        {
            "uuid": STRING,
            "name": STRING,
            "spn": STRING,
            "classes": STRINGS,
            "displayname": _nullable(STRING),
            "mail": STRINGS,
            "memberof": STRINGS,
            "posix": _nullable(_ref("Posix")),
            "ssh_keys": {"type": "array", "items": _ref("SshKey")},
            "valid_from": _nullable(STRING),
            "expire_at": _nullable(STRING),
        }
    ),
    "Group": _obj(
        {
            "uuid": STRING,
            "name": STRING,
            "spn": STRING,
            "classes": STRINGS,
            "description": _nullable(STRING),
            "members": STRINGS,
            "memberof": STRINGS,
            "posix": _nullable(_ref("GroupPosix")),
            "policy": _nullable(_ref("GroupPolicy")),
        }
    ),
    "UnixGroupRef": _obj(
        {"uuid": STRING, "name": STRING, "spn": STRING, "gidnumber": GIDNUMBER}
    ),
    "UnixUser": _obj(
        {
            "uuid": STRING,
            "name": STRING,
            "spn": STRING,
            "displayname": _nullable(STRING),
            "gidnumber": GIDNUMBER,
            "shell": _nullable(STRING),
            "ssh_keys": STRINGS,
            "valid_from": _nullable(STRING),
            "expire_at": _nullable(STRING),
            "groups": {"type": "array", "items": _ref("UnixGroupRef")},
            "unix_mfa": BOOL,
            "password_version": _nullable(STRING),
        }
    ),
    "UnixGroup": _obj(
        {"uuid": STRING, "name": STRING, "spn": STRING, "gidnumber": GIDNUMBER, "members": STRINGS}
    ),
    "Changed": _obj({"changed": BOOL}),
    # A credential change that signs the account's other sessions out (docs/authentication.md
    # "Sessions after a password reset"): how many it ended.
    "CredentialChanged": _obj({"changed": BOOL, "sessions_ended": COUNT}),
}
# A group's account policy (docs/password-policy.md): each setting, or null when not set.
SCHEMAS["GroupPolicy"] = _obj(
    {
        "min_credential": _nullable({"enum": ["password", "mfa", "passkey"]}),
        "session_lifetime": _nullable({"type": "integer"}),
        "privilege_lifetime": _nullable({"type": "integer"}),
        "password_min_length": _nullable({"type": "integer"}),
    }
)
# SERVICE_ACCOUNT = PERSON + managed_by.
SCHEMAS["ServiceAccount"] = _obj(
    {**SCHEMAS["Person"]["properties"], "managed_by": _nullable(STRING)}
)
# WebAuthn options as the browser's PublicKeyCredential.parse*OptionsFromJSON take them.
PASSKEY_OPTIONS = _obj({"publicKey": {"type": "object"}})
PASSKEY = _obj({"label": STRING, "created_at": TIME, "last_used_at": _nullable(TIME)})
SCHEMAS["AuthState"] = {
    "oneOf": [
        # "passkey": the request options, present exactly when "passkey" is offered.
        _obj(
            {"state": {"const": "continue"}, "methods": STRINGS, "passkey": PASSKEY_OPTIONS},
            ["state", "methods"],
        ),
        _obj({"state": {"const": "success"}, "token": STRING}),
        # A reauth's success: the bearer's session writes until then.
        _obj({"state": {"const": "success"}, "privileged_until": TIME}),
        _obj({"state": {"const": "denied"}, "reason": STRING}),
    ]
}

SCHEMAS["CredentialUpdateStatus"] = _obj(
    {
        "account": _obj({"uuid": STRING, "name": STRING, "spn": STRING}),
        "expires_at": TIME,
        "changed": BOOL,
        "password": {"enum": ["unset", "set", "staged"]},
        "unix_password": {"enum": ["unset", "set", "staged"]},
        "unix_allowed": BOOL,
        "totp": STRINGS,
        "unix_totp": STRINGS,
        "pending_totp": _nullable(_obj({"label": STRING, "unix": BOOL})),
        "backup_codes": {"type": "integer", "minimum": 0},
        "passkeys": {"type": "array", "items": PASSKEY},
        "min_credential": {"enum": ["password", "mfa", "passkey"]},
        "commit_blocker": _nullable(STRING),
    }
)


def _response(schema: JSON, description: str = "OK", headers: JSON | None = None) -> JSON:
    response: JSON = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _operation(
    summary: str,
    ok: JSON,
    errors: tuple[int, ...],
    *,
    body: JSON | None = None,
    params: tuple[str, ...] = (),
    secured: bool = True,
    ok_headers: JSON | None = None,
) -> JSON:
    statuses = set(errors)
    if secured:
        statuses |= {401, 403}
    if body is not None:
        statuses |= {400, 413}
    op: JSON = {
        "summary": summary,
        "responses": {"200": _response(ok, headers=ok_headers)}
        | {str(s): _response(_ref("Error"), _ERROR_TEXT[s]) for s in sorted(statuses)},
    }
    if params:
        op["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    op["security"] = [{"bearer": []}] if secured else []
    return op


def _entry_result(schema: str) -> JSON:
    return _obj({"changed": BOOL, "entry": _ref(schema)})


def _account_paths(kind: Kind, schema: str, plural: str) -> JSON:
    base = f"/v1/{kind}"
    noun = kind.replace("_", " ")
    create_errors: tuple[int, ...] = (409,) if kind == "person" else (404, 409)
    password_body = accounts.PASSWORD_OR_HASH.schema()
    idp = ("id",)
    paths: JSON = {
        base: {
            "get": _operation(
                f"List {noun}s", _obj({plural: {"type": "array", "items": _ref(schema)}}), ()
            ),
            "post": _operation(
                f"Create a {noun}",
                _entry_result(schema),
                create_errors,
                body=accounts.CREATE[kind].schema(),
            ),
        },
        f"{base}/{{id}}": {
            "get": _operation(f"Read a {noun}", _ref(schema), (404,), params=idp),
            "patch": _operation(
                f"Change a {noun}",
                _entry_result(schema),
                (404, 409),
                body=accounts.UPDATE[kind].schema(),
                params=idp,
            ),
            "delete": _operation(f"Delete a {noun}", _ref("Changed"), (400,), params=idp),
        },
        f"{base}/{{id}}/posix": {
            "put": _operation(
                f"Make a {noun} POSIX",
                _entry_result(schema),
                (404, 409),
                body=accounts.POSIX.schema(),
                params=idp,
            )
        },
        f"{base}/{{id}}/password": {
            "put": _operation(
                "Set the password, or import a hash",
                _ref("CredentialChanged"),
                (404,),
                body=password_body,
                params=idp,
            )
        },
        f"{base}/{{id}}/unix_password": {
            "put": _operation(
                "Set the unix password, or import a hash",
                _ref("CredentialChanged"),
                (404,),
                body=password_body,
                params=idp,
            )
        },
        f"{base}/{{id}}/ssh_keys": {
            "get": _operation(
                "List SSH keys",
                _obj({"ssh_keys": {"type": "array", "items": _ref("SshKey")}}),
                (404,),
                params=idp,
            )
        },
        f"{base}/{{id}}/ssh_keys/{{label}}": {
            "put": _operation(
                "Store an SSH public key under a label",
                _obj({"changed": BOOL, "ssh_key": _ref("SshKey")}),
                (404,),
                body=accounts.SSH_KEY.schema(),
                params=("id", "label"),
            ),
            "delete": _operation(
                "Remove an SSH key", _ref("Changed"), (400, 404), params=("id", "label")
            ),
        },
    }
    if kind == "service_account":
        paths[f"{base}/{{id}}/generate_password"] = {
            "post": _operation(
                "Give the service account a generated password",
                _obj({"changed": BOOL, "password": STRING, "sessions_ended": COUNT}),
                (400, 404),
                params=idp,
            )
        }
    return paths


def _group_paths() -> JSON:
    idp = ("id",)
    members_body = groups.MEMBERS.schema()
    return {
        "/v1/group": {
            "get": _operation(
                "List groups", _obj({"groups": {"type": "array", "items": _ref("Group")}}), ()
            ),
            "post": _operation(
                "Create a group",
                _entry_result("Group"),
                (409,),
                body=groups.CREATE.schema(),
            ),
        },
        "/v1/group/{id}": {
            "get": _operation("Read a group", _ref("Group"), (404,), params=idp),
            "patch": _operation(
                "Change a group",
                _entry_result("Group"),
                (404, 409),
                body=groups.UPDATE.schema(),
                params=idp,
            ),
            "delete": _operation("Delete a group", _ref("Changed"), (400,), params=idp),
        },
        "/v1/group/{id}/members/add": {
            "post": _operation(
                "Add members", _entry_result("Group"), (404,), body=members_body, params=idp
            )
        },
        "/v1/group/{id}/members/remove": {
            "post": _operation(
                "Remove members", _entry_result("Group"), (404,), body=members_body, params=idp
            )
        },
        "/v1/group/{id}/posix": {
            "put": _operation(
                "Make a group POSIX",
                _entry_result("Group"),
                (404, 409),
                body=groups.POSIX.schema(),
                params=idp,
            )
        },
    }


def _auth_paths() -> JSON:
    session_header = {"Hermit-Auth-Session": {"schema": STRING, "required": True}}
    return {
        "/v1/auth/begin": {
            "post": _operation(
                "Begin a login",
                _ref("AuthState"),
                (),
                body=auth.BEGIN.schema(),
                secured=False,
                ok_headers=session_header,
            )
        },
        "/v1/auth/step": {
            "post": _operation(
                "One login step (needs the auth session from begin)",
                _ref("AuthState"),
                (),
                body=auth.STEP.schema(),
                secured=False,
            )
        },
        "/v1/auth/whoami": {
            "get": _operation(
                "Who the token belongs to",
                _obj(
                    {
                        "uuid": STRING,
                        "name": STRING,
                        "spn": STRING,
                        "session_id": STRING,
                        "scope": {"enum": ["read_write", "read_only"]},
                        "expires_at": STRING,
                        "privileged_until": _nullable(STRING),
                    }
                ),
                (),
            )
        },
        "/v1/auth/logout": {
            "post": _operation("End the session", _ref("Changed"), (400, 413))
        },
    }


def _session_paths() -> JSON:
    session_header = {"Hermit-Auth-Session": {"schema": STRING, "required": True}}
    session = _obj(
        {
            "id": STRING,
            "scope": {"enum": ["read_write", "read_only"]},
            "issued_at": TIME,
            "expires_at": TIME,
            "privileged_until": _nullable(TIME),
            "current": BOOL,
        }
    )
    return {
        "/v1/auth/reauth": {
            "post": _operation(
                "Begin a reauth of the bearer's session (steps as a login)",
                _ref("AuthState"),
                (400, 413),
                ok_headers=session_header,
            )
        },
        "/v1/auth/sessions": {
            "get": _operation(
                "The caller's own login sessions",
                _obj({"sessions": {"type": "array", "items": session}}),
                (),
            )
        },
        "/v1/auth/sessions/{session_id}": {
            "delete": _operation(
                "End one of the caller's own sessions",
                _ref("Changed"),
                (400, 413),
                params=("session_id",),
            )
        },
        "/v1/person/{id}/credential/unlock": {
            "post": _operation(
                "Lift the softlocks of a person's credentials",
                _ref("Changed"),
                (400, 404, 413),
                params=("id",),
            )
        },
    }


def _unix_paths() -> JSON:
    idp = ("id",)
    return {
        "/v1/unix/user": {
            "get": _operation(
                "List POSIX accounts",
                _obj({"users": {"type": "array", "items": _ref("UnixUser")}}),
                (),
            )
        },
        "/v1/unix/user/{id}": {
            "get": _operation("Read a POSIX account", _ref("UnixUser"), (404,), params=idp)
        },
        "/v1/unix/group": {
            "get": _operation(
                "List POSIX groups",
                _obj({"groups": {"type": "array", "items": _ref("UnixGroup")}}),
                (),
            )
        },
        "/v1/unix/group/{id}": {
            "get": _operation("Read a POSIX group", _ref("UnixGroup"), (404,), params=idp)
        },
        "/v1/unix/auth": {
            "post": _operation(
                "Check a unix password (and the unix TOTP code)",
                _obj({"state": {"const": "success"}, "user": _ref("UnixUser")}),
                # No 404: an unknown or unreadable account answers 401 like a wrong password.
                (429,),
                body=unix.AUTH.schema(),
            )
        },
    }


def _api_token_paths() -> JSON:
    base = "/v1/service_account/{id}/api_token"
    token = _obj(
        {
            "id": STRING,
            "label": STRING,
            "scope": {"enum": ["read_only", "read_write"]},
            "issued_at": TIME,
            "expires_at": _nullable(TIME),
        }
    )
    return {
        base: {
            "get": _operation(
                "List a service account's API tokens (never the tokens themselves)",
                _obj({"api_tokens": {"type": "array", "items": token}}),
                (400, 404),
                params=("id",),
            ),
            "post": _operation(
                "Create an API token (the token is in this answer only)",
                _obj({"changed": BOOL, "token": STRING, "api_token": token}),
                (404, 409),
                body=api_tokens.CREATE.schema(),
                params=("id",),
            ),
        },
        f"{base}/{{token_id}}": {
            "delete": _operation(
                "Destroy an API token", _ref("Changed"), (400, 404), params=("id", "token_id")
            )
        },
    }


def _credential_update_paths() -> JSON:
    """docs/api.md "Credential updates": the session id travels in the body, never the url."""
    session = credentials.SESSION.schema()
    status = _ref("CredentialUpdateStatus")
    begun = _obj({"session": STRING, "status": status})

    def step(summary: str, ok: JSON, errors: tuple[int, ...], body: JSON) -> JSON:
        return {"post": _operation(summary, ok, errors, body=body, secured=False)}

    base = "/v1/credential/update"
    return {
        "/v1/person/{id}/credential/update": {
            "post": _operation(
                "Begin a credential update session", begun, (404,), body=NO_KEYS.schema(),
                params=("id",),
            )
        },
        "/v1/person/{id}/credential/reset_token": {
            "post": _operation(
                "Create a reset token (replaces any other)",
                _obj({"changed": BOOL, "token": STRING, "expires_at": TIME}),
                (404,),
                body=credentials.RESET_TOKEN.schema(),
                params=("id",),
            )
        },
        f"{base}/begin": step(
            "Begin a session with a reset token (no bearer; the token is used up)", begun,
            (401, 403), credentials.BEGIN_WITH_RESET_TOKEN.schema(),
        ),
        # Every step asks the session's right again (403: its privilege window is over, or
        # the right is gone).
        f"{base}/status": step(
            "What the session has staged", status, (403, 404), session
        ),
        f"{base}/password": step(
            "Stage a new password", status, (403, 404), credentials.PASSWORD.schema()
        ),
        f"{base}/unix_password": step(
            "Stage a new unix password", status, (403, 404), credentials.PASSWORD.schema(),
        ),
        f"{base}/totp/begin": step(
            "Begin adding a TOTP (answers its secret once)",
            _obj({"label": STRING, "secret": STRING, "uri": STRING, "algorithm": STRING,
                  "digits": {"type": "integer"}, "step": {"type": "integer"}}),
            (403, 404, 409),
            credentials.TOTP_BEGIN.schema(),
        ),
        f"{base}/totp/confirm": step(
            "Confirm the TOTP being added with a current code", status, (403, 404),
            credentials.TOTP_CONFIRM.schema(),
        ),
        f"{base}/totp/remove": step(
            "Stage the removal of a TOTP",
            _obj({"changed": BOOL, "status": status}),
            (403, 404),
            credentials.TOTP_REMOVE.schema(),
        ),
        f"{base}/backup_codes": step(
            "Generate backup codes (answered once)",
            _obj({"backup_codes": STRINGS, "status": status}),
            (403, 404),
            session,
        ),
        f"{base}/passkey/begin": step(
            "Begin adding a passkey (answers the creation options)", PASSKEY_OPTIONS,
            (403, 404, 409), credentials.PASSKEY_BEGIN.schema(),
        ),
        f"{base}/passkey/finish": step(
            "Stage the passkey of the browser's answer to the creation options", status,
            (403, 404, 409), credentials.PASSKEY_FINISH.schema(),
        ),
        f"{base}/passkey/rename": step(
            "Stage a new label for a passkey", status, (403, 404, 409),
            credentials.PASSKEY_RENAME.schema(),
        ),
        f"{base}/passkey/remove": step(
            "Stage the removal of a passkey", _obj({"changed": BOOL, "status": status}),
            (403, 404), credentials.PASSKEY_REMOVE.schema(),
        ),
        "/v1/person/{id}/credential/passkeys": {
            "get": _operation(
                "A person's passkeys (the person or an admin)",
                _obj({"passkeys": {"type": "array", "items": PASSKEY}}),
                (404,),
                params=("id",),
            )
        },
        f"{base}/commit": step(
            "Write everything staged and end the session (and the account's other sessions)",
            _ref("CredentialChanged"), (403, 404),
            session,
        ),
        f"{base}/cancel": step(
            "End the session without writing", _ref("Changed"), (), session
        ),
    }


def _password_policy_paths() -> JSON:
    """The badlist and groups' account policy (docs/api.md "System", "Group policy")."""
    words_body = system.WORDS.schema()
    count_result = _obj({"changed": BOOL, "count": {"type": "integer", "minimum": 0}})
    policy_body = groups.POLICY.schema()
    return {
        "/v1/system/pw_badlist": {
            "get": _operation(
                "Show the password badlist",
                _obj({"words": STRINGS, "count": {"type": "integer", "minimum": 0}}),
                (),
            ),
            "post": _operation("Add words to the password badlist", count_result, (),
                               body=words_body),
        },
        "/v1/system/pw_badlist/remove": {
            "post": _operation(
                "Remove words from the password badlist", count_result, (), body=words_body
            ),
        },
        "/v1/group/{id}/policy": {
            "put": _operation(
                "Set or clear (null) a group's account policy settings",
                _entry_result("Group"),
                (404,),
                body=policy_body,
                params=("id",),
            )
        },
    }


def _public_paths() -> JSON:
    return {
        "/status": {
            "get": _operation(
                "Health", _obj({"status": {"const": "ok"}}), (), secured=False
            )
        },
        "/v1/openapi.json": {
            "get": _operation("This document", {"type": "object"}, (), secured=False)
        },
    }


def build_document() -> JSON:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hermit-idmd",
            "version": "1",
            "description": "hermit's identity server; the contract is docs/api.md.",
        },
        "paths": {
            **_public_paths(),
            **_auth_paths(),
            **_session_paths(),
            **_account_paths("person", "Person", "persons"),
            **_credential_update_paths(),
            **_account_paths("service_account", "ServiceAccount", "service_accounts"),
            **_api_token_paths(),
            **_group_paths(),
            **_unix_paths(),
            **_password_policy_paths(),
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
