"""``/v1/auth``: the stepped login (begin, step), whoami and logout.

Wire format (docs/api.md "Authentication"): ``begin`` opens an auth session whose id travels in
the cookie ``hermit-auth`` (``Secure; HttpOnly; SameSite=Strict; Path=/v1/auth``) and, for
clients without a cookie jar, in the header ``Hermit-Auth-Session``; ``step`` takes it from the
header first, else from the cookie. A finished session's cookie is cleared.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from idmd import limits
from idmd.errors import InvalidValue
from idmd.https.inputs import caller_of, idm_of, read_object, string
from idmd.https.routing import resource
from idmd.idm.authsession import Continue, Denied, Success

COOKIE = "hermit-auth"
HEADER = "Hermit-Auth-Session"
_COOKIE_ATTRS = "Secure; HttpOnly; SameSite=Strict; Path=/v1/auth"


def _cookie(value: str, *, clear: bool = False) -> str:
    return f"{COOKIE}={value}; {_COOKIE_ATTRS}" + ("; Max-Age=0" if clear else "")


async def begin(request: Request) -> JSONResponse:
    body = await read_object(request, allowed=("name", "read_only"), required=("name",))
    name = string(body, "name")
    if len(name) > limits.MAX_TEXT_LEN:
        raise InvalidValue(f"name may have at most {limits.MAX_TEXT_LEN} characters")
    read_only = body.get("read_only", False)
    if not isinstance(read_only, bool):
        raise InvalidValue("read_only must be true or false")
    session_id, outcome = idm_of(request).login.begin(name, read_only=read_only)
    return JSONResponse(
        {"state": "continue", "methods": list(outcome.methods)},
        headers={"Set-Cookie": _cookie(session_id), HEADER: session_id},
    )


async def step(request: Request) -> JSONResponse:
    body = await read_object(request, allowed=("method", "password"), required=("method",))
    method = string(body, "method")
    password = None
    if "password" in body:
        password = string(body, "password")
        if len(password.encode("utf-8")) > limits.MAX_PASSWORD_BYTES:
            raise InvalidValue(f"a password may have at most {limits.MAX_PASSWORD_BYTES} bytes")
    session_id = request.headers.get(HEADER) or request.cookies.get(COOKIE)
    result = await idm_of(request).login.step(session_id, method, password)
    outcome = result.outcome
    if isinstance(outcome, Continue):
        return JSONResponse({"state": "continue", "methods": list(outcome.methods)})
    clear = {"Set-Cookie": _cookie("", clear=True)}
    if isinstance(outcome, Success) and result.token is not None:
        return JSONResponse({"state": "success", "token": str(result.token)}, headers=clear)
    reason = outcome.reason if isinstance(outcome, Denied) else "denied"
    return JSONResponse({"state": "denied", "reason": reason}, headers=clear)


async def whoami(request: Request) -> JSONResponse:
    caller = caller_of(request)
    return JSONResponse(idm_of(request).whoami(caller))


async def logout(request: Request) -> JSONResponse:
    caller = caller_of(request)
    await read_object(request, allowed=())
    idm_of(request).login.logout(caller)
    return JSONResponse({"changed": True})


ROUTES = [
    resource("/v1/auth/begin", POST=begin),
    resource("/v1/auth/step", POST=step),
    resource("/v1/auth/whoami", GET=whoami),
    resource("/v1/auth/logout", POST=logout),
]
