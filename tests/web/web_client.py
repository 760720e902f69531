"""Driving the web door in the tests like a browser: read a page's CSRF token, post its forms
with the browser's ``Origin``, sign in by username and password (and code), and read alerts.
"""

from __future__ import annotations

import html
import re

import httpx

from tests.idmd.app_client import BASE_URL

ORIGIN = BASE_URL
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_ALERT = re.compile(r'role="alert"[^>]*>([^<]*)<', re.S)


def csrf_of(page: httpx.Response | str) -> str:
    text = page if isinstance(page, str) else page.text
    found = _CSRF.search(text)
    assert found is not None, "the page has no form"
    return found.group(1)


def alert_of(page: httpx.Response) -> str:
    """The text of the page's role="alert" element ('' when hidden or empty)."""
    found = _ALERT.search(page.text)
    assert found is not None, "the page has no alert element"
    return html.unescape(found.group(1)).strip()


async def post(
    client: httpx.AsyncClient,
    path: str,
    data: dict[str, str],
    *,
    csrf: str | None,
    origin: str | None = ORIGIN,
) -> httpx.Response:
    """POST a form as a browser would (``Origin`` unless None; ``csrf`` unless None)."""
    headers = {"Origin": origin} if origin is not None else {}
    fields = dict(data)
    if csrf is not None:
        fields["csrf"] = csrf
    return await client.post(path, data=fields, headers=headers)


async def sign_in(
    client: httpx.AsyncClient, name: str, password: str, code: str | None = None
) -> httpx.Response:
    """Username, (code,) password, as the pages ask; the last answer (303 to /ui/ on success)."""
    first = await client.get("/ui/login")
    page = await post(client, "/ui/login", {"username": name}, csrf=csrf_of(first))
    if code is not None:
        page = await post(
            client, "/ui/login/step", {"method": "totp", "totp": code}, csrf=csrf_of(page)
        )
    return await post(
        client, "/ui/login/step", {"method": "password", "password": password},
        csrf=csrf_of(page),
    )
