"""The credentials page, the reset page and the person's own sessions, over the one credential
update engine: staged changes, Save changes, the policy's feedback, TOTP with its QR code,
backup codes, the privilege window and reauth."""

from __future__ import annotations

import re

import httpx
import pyotp

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.idm import Idm
from idmd.web.selfservice import SIGN_IN_AGAIN
from tests.idmd.app_client import make_person
from tests.web.web_client import (
    alert_of,
    csrf_of,
    open_browser,
    post,
    redeem,
    reset_token,
    secret_on,
    session_cookie,
    sign_in,
)

PASSWORD = "correct horse battery staple 9"
NEW_PASSWORD = "an entirely different long passphrase 7"


def _buttons(page: httpx.Response) -> list[str]:
    return re.findall(r"<button type=\"submit\">([^<]+)</button>", page.text)


def _labels(page: httpx.Response) -> list[str]:
    return re.findall(r"<label for=\"[^\"]+\">([^<]+)</label>", page.text)


async def _change(
    browser: httpx.AsyncClient, page: httpx.Response, what: str, data: dict[str, str]
) -> httpx.Response:
    return await post(browser, f"/ui/credentials/{what}", data, csrf=csrf_of(page))


# -- reset tokens -----------------------------------------------------------------------------


async def test_selfservice__reset_page_has_designs_names(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/ui/reset")
    assert _labels(page) == ["Reset token"]
    assert _buttons(page) == ["Continue"]


async def test_selfservice__reset_token_sets_a_password_without_login(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient, idm: Idm
) -> None:
    await make_person(client, admin, "alice")
    page = await redeem(browser, await reset_token(client, admin, "alice"))
    assert page.status_code == 200
    assert "<h1>Credentials</h1>" in page.text
    assert "alice@example.com" in page.text
    assert "Sign out" not in _buttons(page)
    assert {"Passkey name", "TOTP name", "New password"} <= set(_labels(page))
    assert {"Add a passkey", "Add a TOTP", "New backup codes", "Set password", "Save changes",
            "Discard changes"} <= set(_buttons(page))
    staged = await _change(browser, page, "password", {"password": NEW_PASSWORD})
    assert staged.status_code == 200, alert_of(staged)
    assert "A new password is staged." in staged.text
    saved = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(staged))
    assert saved.status_code == 200
    assert "Your changes are saved." in saved.text
    assert browser.cookies.get("__Host-hermit-update") is None
    async with open_browser(idm) as later:
        assert (await sign_in(later, "alice", NEW_PASSWORD)).status_code == 303


async def test_selfservice__reset_token_works_once(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice")
    token = await reset_token(client, admin, "alice")
    await redeem(browser, token)
    first = await browser.get("/ui/reset")
    again = await post(browser, "/ui/reset", {"token": token}, csrf=csrf_of(first))
    assert again.status_code == 200
    assert alert_of(again)
    assert "<h1>Reset token</h1>" in again.text


async def test_selfservice__the_policys_feedback_is_shown_and_nothing_staged(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice")
    page = await redeem(browser, await reset_token(client, admin, "alice"))
    refused = await _change(browser, page, "password", {"password": "password1234567"})
    assert refused.status_code == 200
    assert re.search(r'role="alert" tabindex="-1" autofocus>[^<]+<', refused.text)
    assert "A new password is staged." not in refused.text
    assert "No password." in refused.text


async def test_selfservice__totp_with_qr_code_then_backup_codes(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient,
    clock: FakeClock, idm: Idm,
) -> None:
    await make_person(client, admin, "alice")
    page = await redeem(browser, await reset_token(client, admin, "alice"))
    shown = await _change(browser, page, "totp", {"label": "phone"})
    assert shown.status_code == 200, alert_of(shown)
    svg = re.search(r"<svg[^>]*class=\"qr\".*?</svg>", shown.text, re.S)
    assert svg is not None
    assert "style" not in svg.group(0) and "<script" not in svg.group(0)
    secret = secret_on(shown)
    assert "Code" in _labels(shown)
    code = pyotp.TOTP(secret).at(clock.now())
    confirmed = await _change(browser, shown, "totp/confirm", {"code": code})
    assert confirmed.status_code == 200, alert_of(confirmed)
    assert secret not in confirmed.text
    assert "<strong>phone</strong>" in confirmed.text
    codes = await _change(browser, confirmed, "backup-codes", {})
    assert codes.status_code == 200, alert_of(codes)
    listed = re.findall(r"<li><code>([^<]+)</code></li>", codes.text)
    assert len(listed) == limits.BACKUP_CODE_COUNT
    password = await _change(browser, codes, "password", {"password": NEW_PASSWORD})
    saved = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(password))
    assert "Your changes are saved." in saved.text
    # The account now signs in with the code, then the password.
    async with open_browser(idm) as later:
        clock.advance(30)
        done = await sign_in(later, "alice", NEW_PASSWORD, pyotp.TOTP(secret).at(clock.now()))
        assert done.status_code == 303


async def test_selfservice__a_wrong_totp_code_keeps_it_pending(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice")
    page = await redeem(browser, await reset_token(client, admin, "alice"))
    shown = await _change(browser, page, "totp", {"label": "phone"})
    refused = await _change(browser, shown, "totp/confirm", {"code": "000000"})
    assert alert_of(refused)
    assert "Code" in _labels(refused)


async def test_selfservice__discard_ends_the_reset_session(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice")
    page = await redeem(browser, await reset_token(client, admin, "alice"))
    staged = await _change(browser, page, "password", {"password": NEW_PASSWORD})
    gone = await post(browser, "/ui/credentials/discard", {}, csrf=csrf_of(staged))
    assert gone.status_code == 303
    assert (await browser.get("/ui/credentials")).headers["location"] == "/ui/login"


# -- signed in ---------------------------------------------------------------------------------


async def test_selfservice__signed_in_page_shows_the_account_and_sessions(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await sign_in(browser, "alice", PASSWORD)
    page = await browser.get("/ui/credentials")
    assert page.status_code == 200, page.text
    assert "<h1>Credentials</h1>" in page.text
    assert "A password is set." in page.text
    assert "(this browser)" in page.text
    assert {"Sign out", "End session", "Save changes"} <= set(_buttons(page))
    # A GET begins nothing.
    assert browser.cookies.get("__Host-hermit-update") is None


async def test_selfservice__change_and_save_keeps_this_session_ends_the_others(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient, idm: Idm
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    async with open_browser(idm) as other:
        await sign_in(other, "alice", PASSWORD)
        await sign_in(browser, "alice", PASSWORD)
        page = await browser.get("/ui/credentials")
        staged = await _change(browser, page, "password", {"password": NEW_PASSWORD})
        assert staged.status_code == 200, alert_of(staged)
        saved = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(staged))
        assert "Your changes are saved. 1 other session of yours ended." in saved.text
        assert (await browser.get("/ui/")).status_code == 200
        assert (await other.get("/ui/")).status_code == 303


async def test_selfservice__outside_the_privilege_window_asks_to_sign_in_again(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await sign_in(browser, "alice", PASSWORD)
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS + 1)
    page = await browser.get("/ui/credentials")
    refused = await _change(browser, page, "password", {"password": NEW_PASSWORD})
    assert refused.status_code == 200
    assert alert_of(refused) == SIGN_IN_AGAIN
    assert "Sign in again" in _buttons(refused)
    # Sign in again: the same engine's steps; then the change goes through.
    step = await post(browser, "/ui/reauth", {}, csrf=csrf_of(refused))
    assert step.status_code == 200
    assert "<h1>Sign in again</h1>" in step.text
    back = await post(browser, "/ui/login/step", {"method": "password", "password": PASSWORD},
                      csrf=csrf_of(step))
    assert back.status_code == 303
    assert back.headers["location"] == "/ui/credentials"
    page = await browser.get("/ui/credentials")
    staged = await _change(browser, page, "password", {"password": NEW_PASSWORD})
    assert staged.status_code == 200, alert_of(staged)


async def test_selfservice__a_wrong_reauth_password_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await sign_in(browser, "alice", PASSWORD)
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS + 1)
    page = await browser.get("/ui/credentials")
    step = await post(browser, "/ui/reauth", {}, csrf=csrf_of(page))
    refused = await post(browser, "/ui/login/step",
                         {"method": "password", "password": "wrong guess 1234"},
                         csrf=csrf_of(step))
    assert alert_of(refused) == "wrong password"
    assert "Sign in again" in _buttons(refused)


async def test_selfservice__end_another_session(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient, idm: Idm
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    async with open_browser(idm) as other:
        await sign_in(other, "alice", PASSWORD)
        await sign_in(browser, "alice", PASSWORD)
        page = await browser.get("/ui/credentials")
        ids = re.findall(r'name="session" value="([^"]+)"', page.text)
        assert len(ids) == 2
        mine = browser.cookies.get("__Host-hermit-session")
        assert mine is not None
        listed = await client.get("/v1/auth/sessions", headers={"Authorization": f"Bearer {mine}"})
        current = next(s["id"] for s in listed.json()["sessions"] if s["current"])
        target = next(i for i in ids if i != current)
        ended = await post(browser, "/ui/sessions/end", {"session": target}, csrf=csrf_of(page))
        assert ended.status_code == 200
        assert "The session has ended." in ended.text
        assert (await other.get("/ui/")).status_code == 303
        assert session_cookie(browser) is not None
        # Ending one's own is signing out.
        out = await post(browser, "/ui/sessions/end", {"session": current}, csrf=csrf_of(ended))
        assert out.headers["location"] == "/ui/login"
        assert session_cookie(browser) is None
