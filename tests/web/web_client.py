"""Driving the web door in the tests like a browser: read a page's CSRF token, post its forms
with the browser's ``Origin``, sign in by username and password (and code), and read alerts.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from hermit_common.clock import FakeClock
from idmd.https.app import build_app
from idmd.idm import Idm
from idmd.idm.credentials.totp import TotpRecord, new_record
from idmd.server.identity import INTERNAL
from idmd.server.mods import Add
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


def add_totp(idm: Idm, uuid: str, label: str = "phone") -> TotpRecord:
    """Give the account a TOTP directly (as a committed credential update would)."""
    record = new_record(label)
    with idm.server.write() as txn:
        txn.modify(INTERNAL, uuid, [Add("totp", record.encode())])
    return record


def code_now(record: TotpRecord, clock: FakeClock) -> str:
    return record.code_at(record.counter_at(clock.now())).reveal()


def session_cookie(client: httpx.AsyncClient) -> str | None:
    return client.cookies.get("__Host-hermit-session")


@contextlib.asynccontextmanager
async def open_browser(idm: Idm) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own (cookie jar) on idmd's app over ``idm``."""
    transport = httpx.ASGITransport(build_app(idm), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


async def reset_token(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> str:
    made = await client.post(f"/v1/person/{name}/credential/reset_token", json={}, headers=admin)
    assert made.status_code == 200, made.text
    return str(made.json()["token"])


async def redeem(browser: httpx.AsyncClient, token: str) -> httpx.Response:
    """Redeem ``token`` on the reset page; the credentials page it leads to."""
    first = await browser.get("/ui/reset")
    redeemed = await post(browser, "/ui/reset", {"token": token}, csrf=csrf_of(first))
    assert redeemed.status_code == 303, alert_of(redeemed)
    assert redeemed.headers["location"] == "/ui/credentials"
    return await browser.get("/ui/credentials")


def secret_on(page: httpx.Response) -> str:
    """The TOTP secret the credentials page shows as text."""
    found = re.search(r'<code class="secret">([A-Z2-7=]+)</code>', page.text)
    assert found is not None, "no TOTP secret on the page"
    return found.group(1)


_PASSKEY_FORM = re.compile(
    r'<form method="post" action="([^"]+)"[^>]*data-passkey="(get|create)"\s+'
    r'data-passkey-options="([^"]+)"([^>]*)>',
    re.S,
)


def passkey_form(page: httpx.Response) -> tuple[str, str, dict[str, Any], bool]:
    """The page's passkey ceremony form: its action, kind ("get" or "create"), the options the
    script hands to the browser, and whether the script starts it at once."""
    found = _PASSKEY_FORM.search(page.text)
    assert found is not None, "the page has no passkey ceremony"
    action, kind, options, rest = found.groups()
    parsed: dict[str, Any] = json.loads(html.unescape(options))
    return action, kind, parsed, "data-passkey-autostart" in rest


async def send_passkey(
    browser: httpx.AsyncClient, page: httpx.Response, answer: dict[str, Any]
) -> httpx.Response:
    """What the script does with the authenticator's answer: put ``toJSON()`` in the form and
    send it."""
    action, _, _, _ = passkey_form(page)
    return await post(browser, action, {"passkey": json.dumps(answer)}, csrf=csrf_of(page))
