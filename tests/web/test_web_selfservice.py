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
from idmd.web.selfservice import SIGN_IN_AGAIN, SIGNED_IN_RESET, STAGED_GONE, STAGED_KEPT
from tests.idmd.app_client import make_person
from tests.idmd.soft_authenticator import SoftAuthenticator
from tests.web.web_client import (
    ORIGIN,
    alert_of,
    csrf_of,
    open_browser,
    passkey_form,
    post,
    redeem,
    reset_token,
    secret_on,
    send_passkey,
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


# -- passkeys (the script's part played by tests/idmd/soft_authenticator.py) ----------------------


async def _add_passkey(
    browser: httpx.AsyncClient, page: httpx.Response, authenticator: SoftAuthenticator,
    label: str,
) -> httpx.Response:
    ceremony = await _change(browser, page, "passkey/begin", {"label": label})
    action, kind, options, autostart = passkey_form(ceremony)
    assert (action, kind, autostart) == ("/ui/credentials/passkey", "create", True)
    staged = await send_passkey(browser, ceremony, authenticator.create(options))
    assert "The passkey is staged" in staged.text, alert_of(staged)
    return staged


async def test_selfservice__a_reset_token_enrols_a_passkey_with_no_password(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient, idm: Idm
) -> None:
    await make_person(client, admin, "alice")
    authenticator = SoftAuthenticator(origin=ORIGIN)
    page = await redeem(browser, await reset_token(client, admin, "alice"))
    staged = await _add_passkey(browser, page, authenticator, "laptop")
    assert "<strong>laptop</strong>" in staged.text
    saved = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(staged))
    assert "Your changes are saved." in saved.text, alert_of(saved)
    # The passkey alone signs in (usernameless), with no password ever set.
    async with open_browser(idm) as later:
        first = await later.get("/ui/login")
        ceremony = await post(later, "/ui/login/passkey/begin", {}, csrf=csrf_of(first))
        _, _, options, _ = passkey_form(ceremony)
        done = await send_passkey(later, ceremony, authenticator.get(options))
        assert done.status_code == 303, alert_of(done)


async def test_selfservice__rename_and_remove_passkeys(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await sign_in(browser, "alice", PASSWORD)
    page = await browser.get("/ui/credentials")
    staged = await _add_passkey(browser, page, SoftAuthenticator(origin=ORIGIN), "laptop")
    staged = await _add_passkey(browser, staged, SoftAuthenticator(origin=ORIGIN), "phone")
    saved = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(staged))
    assert "Your changes are saved." in saved.text, alert_of(saved)
    assert "Rename" in _buttons(saved) and "Remove" in _buttons(saved)
    renamed = await _change(browser, saved, "passkey/rename",
                            {"label": "laptop", "new_label": "work-laptop"})
    assert "<strong>work-laptop</strong>" in renamed.text, alert_of(renamed)
    removed = await _change(browser, renamed, "passkey/remove", {"label": "phone"})
    assert "<strong>phone</strong>" not in removed.text, alert_of(removed)
    saved = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(removed))
    page = await browser.get("/ui/credentials")
    assert "<strong>work-laptop</strong>" in page.text
    assert "<strong>phone</strong>" not in page.text
    assert "<strong>laptop</strong>" not in page.text


async def test_selfservice__a_passkey_answer_without_script_or_malformed_stages_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice")
    page = await redeem(browser, await reset_token(client, admin, "alice"))
    ceremony = await _change(browser, page, "passkey/begin", {"label": "laptop"})
    for raw in ("", "not json", "[]"):
        refused = await _change(browser, ceremony, "passkey", {"passkey": raw})
        assert alert_of(refused)
        assert "No passkeys." in refused.text


async def test_selfservice__reauth_with_a_passkey(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await sign_in(browser, "alice", PASSWORD)
    authenticator = SoftAuthenticator(origin=ORIGIN)
    page = await browser.get("/ui/credentials")
    staged = await _add_passkey(browser, page, authenticator, "laptop")
    await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(staged))
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS + 1)
    page = await browser.get("/ui/credentials")
    step = await post(browser, "/ui/reauth", {}, csrf=csrf_of(page))
    _, kind, options, _ = passkey_form(step)
    assert kind == "get"
    back = await send_passkey(browser, step, authenticator.get(options))
    assert back.status_code == 303, alert_of(back)
    assert back.headers["location"] == "/ui/credentials"
    page = await browser.get("/ui/credentials")
    allowed = await _change(browser, page, "password", {"password": NEW_PASSWORD})
    assert "A new password is staged." in allowed.text, alert_of(allowed)


async def test_selfservice__a_signed_in_browser_is_not_offered_the_reset_page(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient, idm: Idm
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await make_person(client, admin, "bob")
    token = await reset_token(client, admin, "bob")
    await sign_in(browser, "alice", PASSWORD)
    page = await browser.get("/ui/reset")
    assert alert_of(page) == SIGNED_IN_RESET
    refused = await post(browser, "/ui/reset", {"token": token}, csrf=csrf_of(page))
    assert alert_of(refused) == SIGNED_IN_RESET
    # The token was not used up.
    async with open_browser(idm) as other:
        assert "<h1>Credentials</h1>" in (await redeem(other, token)).text


async def test_selfservice__staged_changes_wait_for_sign_in_again(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient,
    clock: FakeClock, idm: Idm,
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await sign_in(browser, "alice", PASSWORD)
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS - 30)
    page = await browser.get("/ui/credentials")
    staged = await _change(browser, page, "password", {"password": NEW_PASSWORD})
    assert "A new password is staged." in staged.text, alert_of(staged)
    clock.advance(31)
    refused = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(staged))
    assert alert_of(refused) == SIGN_IN_AGAIN + STAGED_KEPT
    step = await post(browser, "/ui/reauth", {}, csrf=csrf_of(refused))
    await post(browser, "/ui/login/step", {"method": "password", "password": PASSWORD},
               csrf=csrf_of(step))
    page = await browser.get("/ui/credentials")
    assert "A new password is staged." in page.text
    saved = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(page))
    assert "Your changes are saved." in saved.text, alert_of(saved)
    async with open_browser(idm) as later:
        assert (await sign_in(later, "alice", NEW_PASSWORD)).status_code == 303


async def test_selfservice__staged_changes_left_too_long_are_gone_and_say_so(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    await make_person(client, admin, "alice")
    page = await redeem(browser, await reset_token(client, admin, "alice"))
    staged = await _change(browser, page, "password", {"password": NEW_PASSWORD})
    clock.advance(limits.CREDENTIAL_UPDATE_IDLE_SECONDS + 1)
    gone = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(staged))
    assert alert_of(gone) == STAGED_GONE
    assert browser.cookies.get("__Host-hermit-update") is None
