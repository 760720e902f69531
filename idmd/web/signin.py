"""The sign-in pages: ``/ui/login`` (username, then the steps the account's methods ask for,
or a passkey from the first page), signing in again for the privilege window, and signing out.

A second door over the one stepped login of ``idmd.idm.auth.login`` (``Idm.login``): this
module turns forms into ``Login.begin``/``begin_reauth``/``step`` calls and their outcomes
into pages and cookies; every rule (methods, softlocks, policy, validity, the privilege
window) is the engine's, answered here exactly as the engine words it.

Flow (DESIGN.md "The web front door and SSO")::

    GET /ui/login ──Username+Continue──► POST /ui/login ──► step page (Password | Code,
      │                                                     Backup code | passkey)
      │                                        POST /ui/login/step ◄──┘  ──► next step page
      └──Sign in with a passkey──► POST /ui/login/passkey/begin ──► passkey page (the script
            asks the authenticator) ──► POST /ui/login/passkey ──► 303 /ui/ (or a refusal)

Rules:
- The auth session in progress travels in ``__Host-hermit-login`` (prefixed ``r.`` for a
  reauth); a finished or refused flow clears it.
- Success sets ``__Host-hermit-session`` to the session's bearer token for the account
  policy's session lifetime; reauth's success only lengthens the privilege window.
- Unknown names get the same pages, methods and refusals as real ones (the engine's rule).
- A refusal ends the flow and shows the first page again with the engine's reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from hermit_common.errors import HermitError
from hermit_common.secret import Secret
from idmd.idm.auth.flow import Continue, Denied, Success
from idmd.idm.auth.login import StepResult
from idmd.web import cookies
from idmd.web.door import Visitor, guard, page, redirect, visitor_of

# The methods a step page has a form for; a flow that offers none of them (the anonymous
# account's) cannot sign in here.
WEB_METHODS = ("password", "totp", "backup_code", "passkey")
REAUTH = "r."
NEEDS_SCRIPT = "Signing in with a passkey needs JavaScript in this browser."
NO_ANONYMOUS = "The anonymous account cannot sign in here."
BEGIN_AGAIN = "This sign-in has ended. Begin again."


def _first_page(
    visitor: Visitor, *, alert: str | None = None, notice: str | None = None,
    clear_login: bool = True,
) -> Response:
    extra = (cookies.clear_cookie(cookies.LOGIN),) if clear_login else ()
    return page(
        visitor, "login.html", alert=alert, notice=notice, set_cookies=extra,
        title="Sign in",
    )


def _step_page(
    visitor: Visitor, session_id: str, outcome: Continue, *, reauth: bool,
    alert: str | None = None, autostart: bool = False,
) -> Response:
    methods = [m for m in outcome.methods if m in WEB_METHODS]
    if not methods:
        return _first_page(visitor, alert=NO_ANONYMOUS)
    passkey = outcome.passkey
    value = (REAUTH if reauth else "") + session_id
    return page(
        visitor,
        "step.html",
        alert=alert,
        set_cookies=(cookies.set_cookie(cookies.LOGIN, value),),
        title="Sign in again" if reauth else "Sign in",
        methods=methods,
        passkey_options=json.dumps(passkey) if passkey is not None else None,
        autostart=autostart,
    )


async def login_page(request: Request) -> Response:
    visitor = visitor_of(request)
    if visitor.caller is not None:
        return redirect(visitor, "/ui/")
    return _first_page(visitor, clear_login=False)


async def begin(request: Request) -> Response:
    visitor, form = await guard(request)
    try:
        session_id, outcome = visitor.door.idm.login.begin(
            form.get("username", ""), read_only=False
        )
    except HermitError as error:
        return _first_page(visitor, alert=error.detail)
    return _step_page(visitor, session_id, outcome, reauth=False)


def _pending(request: Request) -> tuple[str | None, bool]:
    raw = request.cookies.get(cookies.LOGIN)
    if not raw:
        return None, False
    if raw.startswith(REAUTH):
        return raw[len(REAUTH):], True
    return raw, False


async def step(request: Request) -> Response:
    visitor, form = await guard(request)
    method = form.get("method", "")
    value = form.get(method) if method in ("password", "totp", "backup_code") else None
    session_id, reauth = _pending(request)
    try:
        result = await visitor.door.idm.login.step(
            session_id, method, Secret(value) if value is not None else None
        )
    except HermitError as error:
        return _refused(visitor, error.detail, reauth)
    return _outcome(visitor, session_id, result, reauth)


async def passkey_begin(request: Request) -> Response:
    """Open a usernameless auth session and show the page whose script asks for a passkey."""
    visitor, _ = await guard(request)
    try:
        session_id, outcome = visitor.door.idm.login.begin(None, read_only=False)
    except HermitError as error:
        return _first_page(visitor, alert=error.detail)
    # The person pressed "Sign in with a passkey" already: the script asks at once.
    return _step_page(visitor, session_id, outcome, reauth=False, autostart=True)


async def passkey_finish(request: Request) -> Response:
    visitor, form = await guard(request)
    session_id, reauth = _pending(request)
    raw = form.get("passkey", "")
    if not raw:
        return _refused(visitor, NEEDS_SCRIPT, reauth)
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if not isinstance(answer, Mapping):
        return _refused(visitor, "The passkey's answer is not well-formed.", reauth)
    try:
        result = await visitor.door.idm.login.step(
            session_id, "passkey", None, passkey=answer
        )
    except HermitError as error:
        return _refused(visitor, error.detail, reauth)
    return _outcome(visitor, session_id, result, reauth)


def _refused(visitor: Visitor, reason: str, reauth: bool) -> Response:
    if reauth and visitor.caller is not None:
        return page(
            visitor, "reauth.html", alert=reason,
            set_cookies=(cookies.clear_cookie(cookies.LOGIN),), title="Sign in again",
        )
    return _first_page(visitor, alert=reason)


def _outcome(
    visitor: Visitor, session_id: str | None, result: StepResult, reauth: bool
) -> Response:
    outcome = result.outcome
    if isinstance(outcome, Continue) and session_id is not None:
        return _step_page(visitor, session_id, outcome, reauth=reauth)
    if isinstance(outcome, Success) and result.token is not None:
        session = cookies.set_cookie(
            cookies.SESSION, result.token.reveal(), max_age=outcome.policy.session_lifetime
        )
        return redirect(visitor, "/ui/", set_cookies=(session, cookies.clear_cookie(cookies.LOGIN)))
    if isinstance(outcome, Success):
        return redirect(
            visitor, "/ui/credentials", set_cookies=(cookies.clear_cookie(cookies.LOGIN),)
        )
    reason = outcome.reason if isinstance(outcome, Denied) else BEGIN_AGAIN
    return _refused(visitor, reason, reauth)


async def reauth(request: Request) -> Response:
    """Sign in again: the same steps, lengthening this session's privilege window."""
    visitor, _ = await guard(request)
    if visitor.caller is None:
        return _first_page(visitor, alert=BEGIN_AGAIN)
    try:
        session_id, outcome = visitor.door.idm.login.begin_reauth(visitor.caller)
    except HermitError as error:
        return page(visitor, "reauth.html", alert=error.detail,
                    title="Sign in again")
    return _step_page(visitor, session_id, outcome, reauth=True)


async def sign_out(request: Request) -> Response:
    visitor, _ = await guard(request)
    door = visitor.door
    if visitor.caller is not None:
        door.idm.login.logout(visitor.caller)
    update = request.cookies.get(cookies.UPDATE)
    if update:
        try:
            door.idm.credential_updates.cancel(update)
        except HermitError:
            pass
    visitor.caller, visitor.token = None, None
    cleared = tuple(
        cookies.clear_cookie(name) for name in (cookies.SESSION, cookies.LOGIN, cookies.UPDATE)
    )
    return redirect(visitor, "/ui/login", set_cookies=cleared)


async def to_applications(request: Request) -> Response:
    return redirect(visitor_of(request), "/ui/")


async def applications(request: Request) -> Response:
    visitor = visitor_of(request)
    if visitor.caller is None:
        return redirect(visitor, "/ui/login")
    # The OAuth2 clients the person may use come with the next issue (DESIGN.md).
    return page(visitor, "applications.html", title="Applications", applications=[])
