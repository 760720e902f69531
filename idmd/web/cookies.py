"""The web door's cookies: their names, attributes and the ``Set-Cookie`` values that set and
clear them. Reading them is ``starlette``'s (``request.cookies``).

Cookies (docs/web.md "Cookies"); every one ``__Host-`` (so only this origin over TLS may set
it: never a sibling subdomain, never plain HTTP), ``Secure; HttpOnly; Path=/``:
- ``__Host-hermit-session`` (DESIGN.md): the bearer token of the browser's session, an ordinary
  session record; ``SameSite=Lax`` so an application's redirect to idmd (the next issue's
  ``/oauth2/authorize``) carries it; every POST is guarded by the CSRF token and the Origin
  check instead (``csrf.py``).
- ``__Host-hermit-browser``: a random value naming this browser before it signs in; the CSRF
  tokens of the sign-in and reset pages are bound to it. ``SameSite=Strict``.
- ``__Host-hermit-login``: the id of the auth session in progress (sign-in or reauth), like the
  API's ``hermit-auth`` cookie; ``SameSite=Strict``; cleared when the flow ends.
- ``__Host-hermit-update``: the id of the credential update session the credentials page
  stages into (the capability itself, as in the API's bodies); ``SameSite=Strict``; cleared
  by Save changes, Discard changes and Sign out.
"""

from __future__ import annotations

from idmd import limits

SESSION = "__Host-hermit-session"
BROWSER = "__Host-hermit-browser"
LOGIN = "__Host-hermit-login"
UPDATE = "__Host-hermit-update"

_BASE = "Secure; HttpOnly; Path=/"
_SAME_SITE = {SESSION: "Lax", BROWSER: "Strict", LOGIN: "Strict", UPDATE: "Strict"}
_MAX_AGE = {LOGIN: limits.AUTH_SESSION_TTL_SECONDS}


def set_cookie(name: str, value: str, *, max_age: int | None = None) -> str:
    """The ``Set-Cookie`` value that stores ``value`` under ``name`` (one of the above)."""
    age = max_age if max_age is not None else _MAX_AGE.get(name)
    suffix = f"; Max-Age={age}" if age is not None else ""
    return f"{name}={value}; {_BASE}; SameSite={_SAME_SITE[name]}{suffix}"


def clear_cookie(name: str) -> str:
    return f"{name}=; {_BASE}; SameSite={_SAME_SITE[name]}; Max-Age=0"
