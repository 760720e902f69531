"""What the web door's cookies let a network party or a sibling site do: nothing. Each is a
``__Host-`` cookie (only idmd's origin over TLS sets it), Secure and HttpOnly (no script reads
it); the session's is Lax (DESIGN.md), the others Strict; a session cookie names an ordinary
session record, so a stolen one dies with the record."""

from __future__ import annotations

import httpx

from idmd.idm import Idm
from tests.idmd.app_client import make_person
from tests.web.web_client import csrf_of, open_browser, post, sign_in

PASSWORD = "correct horse battery staple 9"


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


def _attributes(cookie: str) -> set[str]:
    return {part.strip() for part in cookie.split(";")[1:]}


async def test_idmd_web_cookies__every_cookie_is_a_secure_host_cookie(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    seen: dict[str, str] = {}
    async with open_browser(idm) as browser:
        first = await browser.get("/ui/login")
        seen |= _set_cookies(first)
        step = await post(browser, "/ui/login", {"username": "alice"}, csrf=csrf_of(first))
        seen |= _set_cookies(step)
        done = await post(browser, "/ui/login/step",
                          {"method": "password", "password": PASSWORD}, csrf=csrf_of(step))
        seen |= {k: v for k, v in _set_cookies(done).items() if "Max-Age=0" not in v}
    assert set(seen) == {"__Host-hermit-browser", "__Host-hermit-login", "__Host-hermit-session"}
    for name, cookie in seen.items():
        attributes = _attributes(cookie)
        assert {"Secure", "HttpOnly", "Path=/"} <= attributes, name
        assert not any(a.lower().startswith("domain") for a in attributes), name
        expected = "SameSite=Lax" if name == "__Host-hermit-session" else "SameSite=Strict"
        assert expected in attributes, name


async def test_idmd_web_cookies__a_stolen_cookie_dies_with_its_session(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    async with open_browser(idm) as victim, open_browser(idm) as thief:
        await sign_in(victim, "alice", PASSWORD)
        stolen = victim.cookies.get("__Host-hermit-session")
        assert stolen is not None
        thief.cookies.set("__Host-hermit-session", stolen, domain="idm.example.com")
        assert (await thief.get("/ui/")).status_code == 200
        await post(victim, "/ui/logout", {}, csrf=csrf_of(await victim.get("/ui/")))
        assert (await thief.get("/ui/")).status_code == 303


async def test_idmd_web_cookies__a_forged_cookie_is_nobody(idm: Idm) -> None:
    async with open_browser(idm) as browser:
        forged = "eyJhbGciOiJub25lIn0.e30."
        browser.cookies.set("__Host-hermit-session", forged, domain="idm.example.com")
        response = await browser.get("/ui/")
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/login"
