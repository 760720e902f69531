"""``/v1/auth``: the stepped login (begin, step), reauth, whoami, logout, the caller's own
sessions; and the admin's softlock unlock (``/v1/person/{id}/credential/unlock``).

Wire format (docs/api.md "Authentication"): ``begin`` opens an auth session whose id travels in
the cookie ``hermit-auth`` (``Secure; HttpOnly; SameSite=Strict; Path=/v1/auth``) and, for
clients without a cookie jar, in the header ``Hermit-Auth-Session``; ``step`` takes it from the
header first, else from the cookie. A finished session's cookie is cleared. ``reauth`` opens
the same kind of auth session, bound to the bearer's session; its success answers the end of
the new privilege window instead of a token. ``begin`` without a ``name`` opens a usernameless
session (a passkey names the account). A ``continue`` that offers ``passkey`` carries the
request options in ``passkey`` (``{"publicKey": {...}}``, what the browser's
``PublicKeyCredential.parseRequestOptionsFromJSON`` takes); the passkey step sends the
browser's ``credential.toJSON()`` as ``passkey``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hermit_common.secret import Secret
from idmd import limits
from idmd.https.bodies import NO_KEYS, Body, checked, flag, text
from idmd.https.inputs import caller_of, idm_of
from idmd.https.routing import resource
from idmd.idm.auth.flow import Continue, Denied, Success
from idmd.idm.values import iso_time

COOKIE = "hermit-auth"
HEADER = "Hermit-Auth-Session"
_COOKIE_ATTRS = "Secure; HttpOnly; SameSite=Strict; Path=/v1/auth"


BEGIN = Body(
    {"name": text(required=False, maxLength=limits.MAX_TEXT_LEN), "read_only": flag()}
)
# The browser's PublicKeyCredential.toJSON(): idm checks its shape (credentials/passkeys.py).
PASSKEY_ANSWER: dict[str, object] = {
    "type": "object",
    "description": "the browser's credential.toJSON() (id, rawId, type, response)",
}
STEP = Body(
    {
        "method": text(enum=["password", "totp", "backup_code", "anonymous", "passkey"]),
        "password": text(required=False),
        "totp": text(required=False, maxLength=limits.MAX_TOTP_CODE_LEN),
        "backup_code": text(required=False, maxLength=limits.MAX_BACKUP_CODE_LEN),
        "passkey": checked(PASSKEY_ANSWER, required=False),
    }
)


def _cookie(value: str, *, clear: bool = False) -> str:
    return f"{COOKIE}={value}; {_COOKIE_ATTRS}" + ("; Max-Age=0" if clear else "")


async def begin(request: Request) -> JSONResponse:
    body = await BEGIN.read(request)
    # idm bounds the name (idmd/idm/bounds.py).
    login = idm_of(request).login
    session_id, outcome = login.begin(body.get("name"), read_only=body.get("read_only", False))
    return _opened(session_id, outcome)


def _continue(outcome: Continue) -> dict[str, object]:
    answer: dict[str, object] = {"state": "continue", "methods": list(outcome.methods)}
    if outcome.passkey is not None:
        answer["passkey"] = outcome.passkey
    return answer


def _opened(session_id: str, outcome: Continue) -> JSONResponse:
    return JSONResponse(
        _continue(outcome), headers={"Set-Cookie": _cookie(session_id), HEADER: session_id}
    )


async def reauth(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await NO_KEYS.read(request)
    session_id, outcome = idm_of(request).login.begin_reauth(caller)
    return _opened(session_id, outcome)


async def step(request: Request) -> JSONResponse:
    body = await STEP.read(request)
    method = body["method"]
    # The credential travels under the method's name; idm bounds its bytes.
    passkey = body.get("passkey")
    value = None
    if method in STEP.keys and method not in ("method", "passkey"):
        value = body.get(method)
    credential = Secret(value) if value is not None else None
    session_id = request.headers.get(HEADER) or request.cookies.get(COOKIE)
    result = await idm_of(request).login.step(
        session_id, method, credential, passkey=passkey if method == "passkey" else None
    )
    outcome = result.outcome
    if isinstance(outcome, Continue):
        return JSONResponse(_continue(outcome))
    clear = {"Set-Cookie": _cookie("", clear=True)}
    if isinstance(outcome, Success) and result.token is not None:
        return JSONResponse({"state": "success", "token": result.token.reveal()}, headers=clear)
    if isinstance(outcome, Success) and result.privileged_until is not None:
        return JSONResponse(
            {"state": "success", "privileged_until": iso_time(result.privileged_until)},
            headers=clear,
        )
    reason = outcome.reason if isinstance(outcome, Denied) else "denied"
    return JSONResponse({"state": "denied", "reason": reason}, headers=clear)


async def whoami(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse(idm_of(request).whoami(caller))


async def logout(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await NO_KEYS.read(request)
    # False for a token that names no session record (anonymous, an API token): it stays
    # valid, and the answer says so rather than claim a revocation that did not happen.
    changed = idm_of(request).login.logout(caller)
    return JSONResponse({"changed": changed})


async def list_sessions(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse({"sessions": idm_of(request).login.list_sessions(caller)})


async def destroy_session(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await NO_KEYS.read(request)
    changed = idm_of(request).login.destroy_session(caller, request.path_params["session_id"])
    return JSONResponse({"changed": changed})


async def unlock(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await NO_KEYS.read(request)
    changed = idm_of(request).unlock_credentials(caller, request.path_params["id"])
    return JSONResponse({"changed": changed})


ROUTES = [
    resource("/v1/auth/begin", POST=begin),
    resource("/v1/auth/step", POST=step),
    resource("/v1/auth/reauth", POST=reauth),
    resource("/v1/auth/whoami", GET=whoami),
    resource("/v1/auth/logout", POST=logout),
    resource("/v1/auth/sessions", GET=list_sessions),
    resource("/v1/auth/sessions/{session_id}", DELETE=destroy_session),
    resource("/v1/person/{id}/credential/unlock", POST=unlock),
]
