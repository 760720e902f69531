"""The credentials page (``/ui/credentials``), the reset token page (``/ui/reset``) and the
person's own sessions: a second door over the credential update session of
``idmd.idm.credentials.updates`` (``Idm.credential_updates``) and ``Login``'s own-session calls.

This module turns forms into those calls and their answers (or refusals, shown with the
engine's own words) into the page; it decides nothing about credentials: who may change them,
the privilege window, the password policy, TOTP and passkey rules and commit's checks are all
the engine's, exactly as ``hermit person credential update`` meets them.

Rules:
- Changes are staged in one credential update session whose id travels in
  ``__Host-hermit-update``; the first change begins it (``CredentialUpdates.begin`` as the
  signed-in person, or ``begin_with_reset_token`` on the reset page); "Save changes" commits
  it in one write, "Discard changes" cancels it. A GET never begins or changes anything.
- A session found in the cookie is used only for the account it belongs to: the signed-in
  person's, or (with nobody signed in) the one the reset token named.
- Outside the privilege window (``ReadOnlySession``) the page keeps what is staged and asks to
  sign in again first (``signin.reauth``).
- One-time secrets (a new TOTP's secret and QR code, new backup codes) are shown only in the
  answer that made them (``Cache-Control: no-store``, headers.py) and never logged.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import segno
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from hermit_common.errors import HermitError
from hermit_common.secret import Secret
from idmd.errors import InvalidCredentialUpdate, ReadOnlySession
from idmd.idm.credentials.updates import CredentialUpdates
from idmd.idm.directory.views import JSON
from idmd.web import cookies
from idmd.web.door import Visitor, guard, page, redirect, visitor_of

SIGN_IN_AGAIN = "Your changes need a recent sign-in: sign in again first, then go on."
STAGED_KEPT = " What you staged is kept for after that."
STAGED_GONE = (
    "Nothing was saved: the changes you staged were left too long (or changed from another "
    "place) and are gone. Make them again, then Save changes."
)
SAVED = "Your changes are saved."
NOTHING_SAVED = "There was nothing to save."
DISCARDED = "Your changes are discarded."
RESET_SAVED = "Your changes are saved. You can sign in now."
SIGNED_IN_RESET = (
    "This browser is signed in: your own credentials are under Credentials. To use a reset "
    "token, sign out first."
)


@dataclass
class Shown:
    """What one answer of the credentials page shows besides the account's state."""

    alert: str | None = None
    notice: str | None = None
    reauth: bool = False
    # One-time values, shown once: a TOTP being added, fresh backup codes, a passkey's
    # creation options for the script.
    totp: dict[str, Any] | None = None
    backup_codes: list[str] | None = None
    passkey_options: str | None = None
    passkey_label: str | None = None
    cookies: list[str] = field(default_factory=list)


def _updates(visitor: Visitor) -> CredentialUpdates:
    return visitor.door.idm.credential_updates


def _overview(visitor: Visitor) -> JSON:
    assert visitor.caller is not None
    return _updates(visitor).overview(visitor.caller)


def _open_session(visitor: Visitor, request: Request) -> tuple[str | None, JSON | None, bool]:
    """The update session of the cookie, its status, and whether it waits for a reauth."""
    raw = request.cookies.get(cookies.UPDATE)
    if not raw:
        return None, None, False
    try:
        status = _updates(visitor).status(raw)
    except ReadOnlySession:
        return (raw, None, True) if visitor.caller is not None else (None, None, False)
    except HermitError:
        return None, None, False
    caller = visitor.caller
    if caller is not None and status["account"]["uuid"] != caller.claims.account_uuid:
        return None, None, False
    return raw, status, False


def _qr_code(uri: str) -> Markup:
    """The TOTP's provisioning URI as an inline SVG QR code (segno; no script, no style)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, svgclass="qr", lineclass=None)
    # segno writes only elements and attributes of its own; the URI is encoded, not echoed.
    return Markup(svg)  # noqa: S704


def _render(
    visitor: Visitor, request: Request, session_id: str | None, status: JSON | None, shown: Shown
) -> Response:
    set_cookies = list(shown.cookies)
    if status is None and session_id is not None and not shown.reauth:
        try:
            status = _updates(visitor).status(session_id)
        except ReadOnlySession:
            shown.reauth = True
        except HermitError:
            session_id = None
            set_cookies.append(cookies.clear_cookie(cookies.UPDATE))
    if status is None and visitor.caller is not None:
        try:
            status = _overview(visitor)
        except HermitError as error:
            return page(
                visitor, "message.html", alert=error.detail,
                set_cookies=tuple(set_cookies), title="Credentials",
            )
    if status is None and shown.alert is not None:
        # Nobody signed in and the reset token's session is over: say why, then sign in.
        return page(
            visitor, "saved.html", alert=shown.alert, set_cookies=tuple(set_cookies),
            title="Credentials",
        )
    if status is None:
        return redirect(visitor, "/ui/login", set_cookies=tuple(set_cookies))
    if session_id is not None:
        set_cookies.append(cookies.set_cookie(cookies.UPDATE, session_id))
    sessions = (
        visitor.door.idm.login.list_sessions(visitor.caller) if visitor.caller else None
    )
    if shown.reauth and shown.alert is None:
        # Outside the window the engine shows nothing of the session; it keeps it.
        shown.alert = SIGN_IN_AGAIN + (STAGED_KEPT if session_id is not None else "")
    return page(
        visitor,
        "credentials.html",
        alert=shown.alert,
        notice=shown.notice,
        set_cookies=tuple(set_cookies),
        title="Credentials",
        account=status["account"],
        state=status,
        staged=bool(status.get("changed")),
        passkeys=status.get("passkeys", []),
        reauth=shown.reauth,
        totp=shown.totp,
        backup_codes=shown.backup_codes,
        passkey_options=shown.passkey_options,
        passkey_label=shown.passkey_label,
        sessions=sessions,
    )


async def credentials_page(request: Request) -> Response:
    visitor = visitor_of(request)
    session_id, status, reauth = _open_session(visitor, request)
    if session_id is None and request.cookies.get(cookies.UPDATE):
        shown = Shown(cookies=[cookies.clear_cookie(cookies.UPDATE)])
    else:
        shown = Shown(reauth=reauth)
    return _render(visitor, request, session_id, status, shown)


# -- changes ------------------------------------------------------------------------------

Action = Callable[[CredentialUpdates, str, Mapping[str, str], Shown], Awaitable[None]]


async def _password(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    await updates.set_password(sid, "password", Secret(form.get("password", "")))
    shown.notice = "The new password is staged: Save changes to keep it."


async def _totp_begin(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    enrolment = updates.begin_totp(sid, form.get("label", ""), unix=False)
    shown.totp = {
        "label": enrolment.label,
        "secret": enrolment.secret.reveal(),
        "qr": _qr_code(enrolment.uri.reveal()),
        "digits": enrolment.digits,
    }


async def _totp_confirm(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    updates.confirm_totp(sid, form.get("code", ""))
    shown.notice = "The TOTP is staged: Save changes to keep it."


async def _totp_remove(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    removed, _ = updates.remove_totp(sid, form.get("label", ""), unix=False)
    shown.notice = "The TOTP's removal is staged." if removed else "There is no such TOTP."


async def _backup_codes(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    codes, _ = updates.generate_backup_codes(sid)
    shown.backup_codes = [code.reveal() for code in codes]


async def _passkey_begin(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    label = form.get("label", "")
    options = updates.begin_passkey(sid, label)
    shown.passkey_options = json.dumps(options)
    shown.passkey_label = label


async def _passkey_finish(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    raw = form.get("passkey", "")
    if not raw:
        shown.alert = "Adding a passkey needs JavaScript in this browser."
        return
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        shown.alert = "The passkey's answer is not well-formed."
        return
    updates.finish_passkey(sid, answer)
    shown.notice = "The passkey is staged: Save changes to keep it."


async def _passkey_rename(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    updates.rename_passkey(
        sid, form.get("label", ""), form.get("new_label", "")
    )
    shown.notice = "The new name is staged: Save changes to keep it."


async def _passkey_remove(
    updates: CredentialUpdates, sid: str, form: Mapping[str, str], shown: Shown
) -> None:
    removed, _ = updates.remove_passkey(sid, form.get("label", ""))
    shown.notice = "The passkey's removal is staged." if removed else "There is no such passkey."


ACTIONS: dict[str, Action] = {
    "password": _password,
    "totp": _totp_begin,
    "totp/confirm": _totp_confirm,
    "totp/remove": _totp_remove,
    "backup-codes": _backup_codes,
    "passkey/begin": _passkey_begin,
    "passkey": _passkey_finish,
    "passkey/rename": _passkey_rename,
    "passkey/remove": _passkey_remove,
}


def _change_route(action: Action) -> Callable[[Request], Awaitable[Response]]:
    async def change(request: Request) -> Response:
        visitor, form = await guard(request)
        updates = _updates(visitor)
        session_id, _, reauth = _open_session(visitor, request)
        if reauth:
            return _render(visitor, request, session_id, None, Shown(reauth=True))
        if session_id is None:
            caller = visitor.caller
            if caller is None:
                return redirect(visitor, "/ui/login")
            try:
                session_id = updates.begin(caller, caller.name)
            except ReadOnlySession:
                return _render(visitor, request, None, None, Shown(reauth=True))
            except HermitError as error:
                shown = Shown(alert=error.detail)
                return _render(visitor, request, None, None, shown)
        shown = Shown()
        try:
            await action(updates, session_id, form, shown)
        except ReadOnlySession:
            shown = Shown(reauth=True)
        except InvalidCredentialUpdate as error:
            shown = Shown(alert=error.detail)
            shown.cookies.append(cookies.clear_cookie(cookies.UPDATE))
            return _render(visitor, request, None, None, shown)
        except HermitError as error:
            shown = Shown(alert=error.detail)
        return _render(visitor, request, session_id, None, shown)

    return change


async def save(request: Request) -> Response:
    visitor, _ = await guard(request)
    updates = _updates(visitor)
    session_id, _, reauth = _open_session(visitor, request)
    if reauth:
        return _render(visitor, request, session_id, None, Shown(reauth=True))
    if session_id is None and request.cookies.get(cookies.UPDATE):
        # Staged changes whose session ended (idle too long, or begun again elsewhere).
        shown = Shown(alert=STAGED_GONE, cookies=[cookies.clear_cookie(cookies.UPDATE)])
        return _render(visitor, request, None, None, shown)
    if session_id is None:
        return _render(visitor, request, None, None, Shown(notice=NOTHING_SAVED))
    try:
        changed, ended = updates.commit(session_id)
    except ReadOnlySession:
        return _render(visitor, request, session_id, None, Shown(reauth=True))
    except HermitError as error:
        shown = Shown(alert=error.detail)
        return _render(visitor, request, session_id, None, shown)
    clear = cookies.clear_cookie(cookies.UPDATE)
    if visitor.caller is None:
        return page(
            visitor, "saved.html", notice=RESET_SAVED, set_cookies=(clear,), title="Credentials"
        )
    notice = SAVED if changed else NOTHING_SAVED
    if ended:
        notice += f" {ended} other session{'s' if ended != 1 else ''} of yours ended."
    return _render(visitor, request, None, None, Shown(notice=notice, cookies=[clear]))


async def discard(request: Request) -> Response:
    visitor, _ = await guard(request)
    session_id, _, _ = _open_session(visitor, request)
    if session_id is not None:
        try:
            _updates(visitor).cancel(session_id)
        except HermitError:
            pass
    clear = cookies.clear_cookie(cookies.UPDATE)
    if visitor.caller is None:
        return redirect(visitor, "/ui/login", set_cookies=(clear,))
    return _render(visitor, request, None, None, Shown(notice=DISCARDED, cookies=[clear]))


# -- own sessions ---------------------------------------------------------------------------

async def end_session(request: Request) -> Response:
    visitor, form = await guard(request)
    caller = visitor.caller
    if caller is None:
        return redirect(visitor, "/ui/login")
    target = form.get("session", "")
    login = visitor.door.idm.login
    try:
        changed = login.destroy_session(caller, target)
    except ReadOnlySession:
        return _render(visitor, request, None, None, Shown(reauth=True))
    except HermitError as error:
        return _render(visitor, request, None, None, Shown(alert=error.detail))
    if target == caller.claims.session_id:
        visitor.caller, visitor.token = None, None
        cleared = tuple(
            cookies.clear_cookie(n) for n in (cookies.SESSION, cookies.LOGIN, cookies.UPDATE)
        )
        return redirect(visitor, "/ui/login", set_cookies=cleared)
    notice = "The session has ended." if changed else "That session had ended already."
    return _render(visitor, request, None, None, Shown(notice=notice))


# -- reset tokens ----------------------------------------------------------------------------

async def reset_page(request: Request) -> Response:
    visitor = visitor_of(request)
    if visitor.caller is not None:
        return page(visitor, "message.html", alert=SIGNED_IN_RESET, title="Reset token")
    return page(visitor, "reset.html", title="Reset token")


async def redeem(request: Request) -> Response:
    visitor, form = await guard(request)
    if visitor.caller is not None:
        # The token would be used up for a page this browser's session then hides.
        return page(visitor, "message.html", alert=SIGNED_IN_RESET, title="Reset token")
    try:
        session_id = _updates(visitor).begin_with_reset_token(form.get("token", "").strip())
    except HermitError as error:
        return page(
            visitor, "reset.html", alert=error.detail, title="Reset token"
        )
    return redirect(
        visitor, "/ui/credentials", set_cookies=(cookies.set_cookie(cookies.UPDATE, session_id),)
    )


CHANGES = {name: _change_route(action) for name, action in ACTIONS.items()}
