"""A page on another origin, or a form without its token, makes a signed-in (or signing-in)
browser post to idmd: every such POST is refused with 403 and changes nothing; the browser and
everyone else are served on.

The intruder: a page on another origin (it can make the victim's browser send a form, with the
victim's cookies, but cannot read idmd's pages) or a second browser (its own session's tokens).
"""

from __future__ import annotations

import httpx
import pytest

from idmd.idm import Idm
from tests.idmd.app_client import bearer, make_person
from tests.web.web_client import ORIGIN, csrf_of, open_browser, post, session_cookie, sign_in

PASSWORD = "correct horse battery staple 9"
NEW_PASSWORD = "an entirely different long passphrase 7"

# The ways a forged POST differs from the page's own form.
FORGERIES = {
    "no token": {"csrf": None, "origin": ORIGIN},
    "foreign origin": {"csrf": "PAGE", "origin": "https://evil.example"},
    "other port": {"csrf": "PAGE", "origin": "https://idm.example.com:8443"},
    "no origin": {"csrf": "PAGE", "origin": None},
    "null origin": {"csrf": "PAGE", "origin": "null"},
    "wrong token": {"csrf": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "origin": ORIGIN},
}


async def _forge(
    browser: httpx.AsyncClient, path: str, data: dict[str, str], forgery: str
) -> httpx.Response:
    page = await browser.get("/ui/")
    how = FORGERIES[forgery]
    token = csrf_of(page) if how["csrf"] == "PAGE" else how["csrf"]
    return await post(browser, path, data, csrf=token, origin=how["origin"])


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_idmd_web_csrf__forged_sign_out_is_403_and_the_session_lives(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, forgery: str
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    async with open_browser(idm) as victim:
        await sign_in(victim, "alice", PASSWORD)
        token = session_cookie(victim)
        assert token is not None
        refused = await _forge(victim, "/ui/logout", {}, forgery)
        assert refused.status_code == 403
        assert "role=\"alert\"" in refused.text
        assert session_cookie(victim) == token
        assert (await client.get("/v1/auth/whoami", headers=bearer(token))).status_code == 200
        assert (await victim.get("/ui/")).status_code == 200


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_idmd_web_csrf__forged_password_change_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, forgery: str
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    async with open_browser(idm) as victim:
        await sign_in(victim, "alice", PASSWORD)
        before = len(idm.credential_updates.sessions)
        for path, data in [
            ("/ui/credentials/password", {"password": NEW_PASSWORD}),
            ("/ui/credentials/save", {}),
        ]:
            refused = await _forge(victim, path, data, forgery)
            assert refused.status_code == 403
        assert len(idm.credential_updates.sessions) == before
        assert victim.cookies.get("__Host-hermit-update") is None
    # The old password still signs in; the new one does not.
    async with open_browser(idm) as later:
        assert (await sign_in(later, "alice", PASSWORD)).status_code == 303
    async with open_browser(idm) as later:
        assert (await sign_in(later, "alice", NEW_PASSWORD)).status_code == 200
        assert later.cookies.get("__Host-hermit-session") is None


async def test_idmd_web_csrf__another_sessions_token_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await make_person(client, admin, "mallory", "a quiet violet tractor sings 77")
    async with open_browser(idm) as victim, open_browser(idm) as intruder:
        await sign_in(victim, "alice", PASSWORD)
        await sign_in(intruder, "mallory", "a quiet violet tractor sings 77")
        # Alice's second session in the same account is another session too.
        async with open_browser(idm) as second:
            await sign_in(second, "alice", PASSWORD)
            for page in (await intruder.get("/ui/"), await second.get("/ui/")):
                refused = await post(victim, "/ui/logout", {}, csrf=csrf_of(page))
                assert refused.status_code == 403
        assert (await victim.get("/ui/")).status_code == 200


@pytest.mark.parametrize("forgery", ["no token", "foreign origin", "no origin"])
async def test_idmd_web_csrf__forged_sign_in_begins_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, forgery: str
) -> None:
    """Login CSRF: a page that signs the victim in as the intruder is refused before the
    engine is asked."""
    await make_person(client, admin, "mallory", "a quiet violet tractor sings 77")
    async with open_browser(idm) as victim:
        first = await victim.get("/ui/login")
        how = FORGERIES[forgery]
        token = csrf_of(first) if how["csrf"] == "PAGE" else how["csrf"]
        pending = len(idm.login.sessions)
        refused = await post(victim, "/ui/login", {"username": "mallory"}, csrf=token,
                             origin=how["origin"])
        assert refused.status_code == 403
        assert len(idm.login.sessions) == pending
        assert victim.cookies.get("__Host-hermit-login") is None
        # The real form goes on working.
        again = await victim.get("/ui/login")
        step = await post(victim, "/ui/login", {"username": "mallory"}, csrf=csrf_of(again))
        assert step.status_code == 200


async def test_idmd_web_csrf__a_browser_without_its_cookie_is_refused(idm: Idm) -> None:
    """A token copied from another browser's page is bound to that browser's cookie."""
    async with open_browser(idm) as one, open_browser(idm) as other:
        token = csrf_of(await one.get("/ui/reset"))
        await other.get("/ui/reset")
        refused = await post(other, "/ui/reset", {"token": "x"}, csrf=token)
        assert refused.status_code == 403
        fresh = await open_browser(idm).__aenter__()
        try:
            assert (await post(fresh, "/ui/reset", {"token": "x"}, csrf=token)).status_code == 403
        finally:
            await fresh.aclose()
