"""The web door's per-process state and per-request view of the visitor: who is signed in,
what binds their forms, and how a page is rendered and answered.

It owns the Jinja2 environment (autoescape on, ``StrictUndefined``: a missing value is a bug
that fails loudly, never an empty string on a page), the CSRF guard of the process, and the
rule that every POST is guarded before it reads anything else. What a page shows and does is
``signin.py`` and ``selfservice.py``; rules about credentials are idm's.

Rules:
- The signed-in caller is whoever the ``__Host-hermit-session`` cookie's bearer token is
  (``Login.authenticate``, the API's own check: an ended session, an expired token or an
  account outside its validity is nobody).
- ``guard`` reads the form and checks the CSRF token and ``Origin`` before a POST does
  anything; a refusal is ``Forbidden`` (the 403 page) and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hermit_common.errors import HermitError
from hermit_common.secret import Secret
from idmd.idm import Caller, Idm
from idmd.web import cookies
from idmd.web.csrf import CsrfGuard, new_browser_id
from idmd.web.forms import NotAForm, read_form

STALE_FORM = (
    "This form is out of date or was sent from another site, so nothing was changed. "
    "Reload the page and try again."
)


class Forbidden(Exception):
    """A POST without a valid CSRF token or with a foreign ``Origin``: the 403 page."""


class WebDoor:
    """What the web door holds for the life of the process."""

    def __init__(self, idm: Idm) -> None:
        self.idm = idm
        self.csrf = CsrfGuard(idm.origin)
        self.templates = Environment(
            loader=PackageLoader("idmd.web", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )


def door_of(request: Request) -> WebDoor:
    door: WebDoor = request.app.state.door
    return door


@dataclass
class Visitor:
    """The browser behind one request."""

    door: WebDoor
    caller: Caller | None
    # The bearer token of the signed-in session (the session cookie), or None.
    token: Secret | None
    # The ``__Host-hermit-browser`` value, and whether this answer must set it.
    browser_id: str
    new_browser: bool

    @property
    def binding(self) -> Secret:
        """What this visitor's CSRF tokens are bound to (csrf.py)."""
        if self.token is not None:
            return Secret("session:" + self.token.reveal())
        return Secret("browser:" + self.browser_id)

    @property
    def csrf_token(self) -> str:
        return self.door.csrf.token(self.binding)


def visitor_of(request: Request) -> Visitor:
    door = door_of(request)
    caller: Caller | None = None
    token: Secret | None = None
    raw = request.cookies.get(cookies.SESSION)
    if raw:
        try:
            caller = door.idm.login.authenticate("Bearer " + raw)
            token = Secret(raw)
        except HermitError:
            caller = None
    browser = request.cookies.get(cookies.BROWSER)
    return Visitor(
        door=door,
        caller=caller,
        token=token,
        browser_id=browser or new_browser_id(),
        new_browser=not browser,
    )


async def guard(request: Request) -> tuple[Visitor, dict[str, str]]:
    """The visitor and form of a POST that passed the CSRF and Origin checks.

    Errors: ``Forbidden``; those of ``forms.read_form`` (``BodyTooLarge``, ``InvalidRequest``).
    """
    visitor = visitor_of(request)
    try:
        form = await read_form(request)
    except NotAForm:
        raise Forbidden(STALE_FORM) from None
    binding = None if visitor.new_browser and visitor.token is None else visitor.binding
    if not visitor.door.csrf.allows(binding, form.get("csrf"), request.headers.get("origin")):
        raise Forbidden(STALE_FORM)
    return visitor, form


def page(
    visitor: Visitor,
    template: str,
    *,
    status: int = 200,
    alert: str | None = None,
    notice: str | None = None,
    set_cookies: tuple[str, ...] = (),
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` for ``visitor``: every page gets the CSRF token, whether someone is
    signed in, and the one alert (a refusal) and notice (a success) it shows."""
    html = visitor.door.templates.get_template(template).render(
        csrf=visitor.csrf_token,
        signed_in=visitor.caller is not None,
        alert=alert,
        notice=notice,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    remember(visitor, response, set_cookies)
    return response


def redirect(visitor: Visitor, to: str, *, set_cookies: tuple[str, ...] = ()) -> Response:
    """A 303 to ``to`` (the page after a POST: reloading it never posts again)."""
    # It may set the session cookie: never stored by a cache (headers.py covers HTML only).
    response = RedirectResponse(to, status_code=303, headers={"Cache-Control": "no-store"})
    remember(visitor, response, set_cookies)
    return response


def remember(visitor: Visitor, response: Response, set_cookies: tuple[str, ...]) -> None:
    if visitor.new_browser and visitor.token is None:
        browser = cookies.set_cookie(cookies.BROWSER, visitor.browser_id)
        response.headers.append("set-cookie", browser)
    for value in set_cookies:
        response.headers.append("set-cookie", value)
