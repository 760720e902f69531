"""The sign-in pages over the one login engine: username then the account's steps, the
session cookie (an ordinary session record), sign out, unknown names alike, refusals shown in
the alert."""

from __future__ import annotations

import json
import re

import httpx

from hermit_common.clock import FakeClock
from idmd.idm import Idm
from idmd.web.signin import NEEDS_SCRIPT, NO_ANONYMOUS
from tests.idmd.app_client import bearer, make_person
from tests.idmd.soft_authenticator import SoftAuthenticator
from tests.web.web_client import (
    ORIGIN,
    add_totp,
    alert_of,
    code_now,
    csrf_of,
    open_browser,
    passkey_form,
    post,
    redeem,
    reset_token,
    send_passkey,
    session_cookie,
    sign_in,
)

PASSWORD = "correct horse battery staple 9"


def _labels(page: httpx.Response) -> list[str]:
    return re.findall(r"<label for=\"[^\"]+\">([^<]+)</label>", page.text)


def _buttons(page: httpx.Response) -> list[str]:
    return re.findall(r"<button type=\"submit\">([^<]+)</button>", page.text)


async def test_signin__first_page_has_designs_names(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/ui/login")
    assert page.status_code == 200
    assert _labels(page) == ["Username"]
    assert _buttons(page) == ["Continue", "Sign in with a passkey"]
    assert alert_of(page) == ""
    # Every input has a label; no inline script or style.
    assert "<script>" not in page.text and "style=" not in page.text and "<style" not in page.text


async def test_signin__password_sets_the_session_cookie(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    done = await sign_in(browser, "alice", PASSWORD)
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/"
    cookie = next(
        c for c in done.headers.get_list("set-cookie") if c.startswith("__Host-hermit-session=")
    )
    assert cookie.endswith("; Secure; HttpOnly; Path=/; SameSite=Lax; Max-Age=28800")
    assert done.headers["cache-control"] == "no-store"
    apps = await browser.get("/ui/")
    assert apps.status_code == 200
    assert "<h1>Applications</h1>" in apps.text
    assert "Sign out" in _buttons(apps)


async def test_signin__the_cookie_is_an_ordinary_session_record(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await sign_in(browser, "alice", PASSWORD)
    token = session_cookie(browser)
    assert token is not None
    listed = await client.get("/v1/auth/sessions", headers=bearer(token))
    (record,) = listed.json()["sessions"]
    assert record["current"] is True
    # Ending it through the API (hermit session destroy) ends the browser's at once.
    ended = await client.delete(f"/v1/auth/sessions/{record['id']}", headers=bearer(token))
    assert ended.json() == {"changed": True}
    after = await browser.get("/ui/")
    assert after.status_code == 303
    assert after.headers["location"] == "/ui/login"


async def test_signin__totp_account_is_asked_the_code_then_the_password(
    idm: Idm, clock: FakeClock, client: httpx.AsyncClient, admin: dict[str, str],
    browser: httpx.AsyncClient,
) -> None:
    entry = await make_person(client, admin, "alice", PASSWORD)
    record = add_totp(idm, entry["uuid"][0] if isinstance(entry["uuid"], list) else entry["uuid"])
    first = await browser.get("/ui/login")
    step = await post(browser, "/ui/login", {"username": "alice"}, csrf=csrf_of(first))
    assert "Code" in _labels(step) and "Backup code" in _labels(step)
    assert "Password" not in _labels(step)
    second = await post(
        browser, "/ui/login/step", {"method": "totp", "totp": code_now(record, clock)},
        csrf=csrf_of(step),
    )
    assert _labels(second) == ["Password"]
    done = await post(
        browser, "/ui/login/step", {"method": "password", "password": PASSWORD},
        csrf=csrf_of(second),
    )
    assert done.status_code == 303


async def test_signin__wrong_password_and_unknown_name_look_alike(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient, idm: Idm
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    answers = []
    for name in ("alice", "nosuchperson"):
        first = await browser.get("/ui/login")
        step = await post(browser, "/ui/login", {"username": name}, csrf=csrf_of(first))
        refused = await post(
            browser, "/ui/login/step", {"method": "password", "password": "wrong guess 123"},
            csrf=csrf_of(step),
        )
        answers.append(
            (step.status_code, _labels(step), _buttons(step), refused.status_code,
             alert_of(refused))
        )
    assert answers[0] == answers[1]
    # A refusal is a page the person acts on: 200 (Chromium logs every 4xx page as an
    # error), with the engine's reason in the alert.
    assert answers[0][3] == 200
    assert answers[0][4] == "wrong password"
    assert session_cookie(browser) is None


async def test_signin__the_refusal_alert_gets_focus_without_script(
    browser: httpx.AsyncClient,
) -> None:
    first = await browser.get("/ui/login")
    refused = await post(browser, "/ui/login", {"username": "a" * 300}, csrf=csrf_of(first))
    assert refused.status_code == 200
    assert re.search(r'role="alert" tabindex="-1" autofocus>[^<]+<', refused.text)
    # Only the alert has autofocus then.
    assert refused.text.count("autofocus") == 1


async def test_signin__a_finished_flow_cannot_be_stepped_again(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    first = await browser.get("/ui/login")
    step = await post(browser, "/ui/login", {"username": "alice"}, csrf=csrf_of(first))
    login_cookie = browser.cookies.get("__Host-hermit-login")
    await post(browser, "/ui/login/step", {"method": "password", "password": "wrong one 123"},
               csrf=csrf_of(step))
    assert browser.cookies.get("__Host-hermit-login") is None
    browser.cookies.set("__Host-hermit-login", login_cookie or "", domain="idm.example.com")
    again = await post(browser, "/ui/login/step", {"method": "password", "password": PASSWORD},
                       csrf=csrf_of(step))
    assert again.status_code == 200
    assert alert_of(again)
    assert session_cookie(browser) is None


async def test_signin__sign_out_ends_the_session_record(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await sign_in(browser, "alice", PASSWORD)
    token = session_cookie(browser)
    assert token is not None
    apps = await browser.get("/ui/")
    out = await post(browser, "/ui/logout", {}, csrf=csrf_of(apps))
    assert out.status_code == 303
    assert out.headers["location"] == "/ui/login"
    assert session_cookie(browser) is None
    gone = await client.get("/v1/auth/whoami", headers=bearer(token))
    assert gone.status_code == 401


async def test_signin__signed_in_pages_need_a_session(browser: httpx.AsyncClient) -> None:
    for path in ("/ui/", "/ui/credentials"):
        response = await browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/login"
    assert (await browser.get("/ui")).headers["location"] == "/ui/"


async def test_signin__the_anonymous_account_cannot_sign_in_here(
    browser: httpx.AsyncClient,
) -> None:
    first = await browser.get("/ui/login")
    refused = await post(browser, "/ui/login", {"username": "anonymous"}, csrf=csrf_of(first))
    assert alert_of(refused) == NO_ANONYMOUS


async def test_signin__a_passkey_form_sent_without_script_says_so(
    browser: httpx.AsyncClient,
) -> None:
    first = await browser.get("/ui/login")
    refused = await post(browser, "/ui/login/passkey", {"passkey": ""}, csrf=csrf_of(first))
    assert alert_of(refused) == NEEDS_SCRIPT


# -- passkeys (the script's part played by tests/idmd/soft_authenticator.py) ----------------------


async def _enrol(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, name: str
) -> SoftAuthenticator:
    """A person ``name`` with one passkey "laptop", enrolled through the reset page."""
    await make_person(client, admin, name)
    authenticator = SoftAuthenticator(origin=ORIGIN)
    async with open_browser(idm) as browser:
        page = await redeem(browser, await reset_token(client, admin, name))
        ceremony = await post(browser, "/ui/credentials/passkey/begin", {"label": "laptop"},
                              csrf=csrf_of(page))
        _, _, options, _ = passkey_form(ceremony)
        staged = await send_passkey(browser, ceremony, authenticator.create(options))
        assert "The passkey is staged" in staged.text, alert_of(staged)
        saved = await post(browser, "/ui/credentials/save", {}, csrf=csrf_of(staged))
        assert "Your changes are saved." in saved.text, alert_of(saved)
    return authenticator


async def test_signin__usernameless_passkey_from_the_first_page(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, browser: httpx.AsyncClient
) -> None:
    authenticator = await _enrol(client, admin, idm, "alice")
    first = await browser.get("/ui/login")
    ceremony = await post(browser, "/ui/login/passkey/begin", {}, csrf=csrf_of(first))
    action, kind, options, autostart = passkey_form(ceremony)
    assert (action, kind, autostart) == ("/ui/login/passkey", "get", True)
    assert not options["publicKey"].get("allowCredentials")
    done = await send_passkey(browser, ceremony, authenticator.get(options))
    assert done.status_code == 303, alert_of(done)
    assert done.headers["location"] == "/ui/"
    assert (await browser.get("/ui/")).status_code == 200


async def test_signin__passkey_after_the_username(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, browser: httpx.AsyncClient
) -> None:
    authenticator = await _enrol(client, admin, idm, "alice")
    first = await browser.get("/ui/login")
    step = await post(browser, "/ui/login", {"username": "alice"}, csrf=csrf_of(first))
    assert "Sign in with a passkey" in _buttons(step)
    _, kind, options, autostart = passkey_form(step)
    assert (kind, autostart) == ("get", False)
    done = await send_passkey(browser, step, authenticator.get(options))
    assert done.status_code == 303, alert_of(done)


async def test_signin__unknown_names_are_offered_a_passkey_alike(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, browser: httpx.AsyncClient
) -> None:
    await _enrol(client, admin, idm, "alice")
    shapes = []
    for name in ("alice", "nosuchperson"):
        first = await browser.get("/ui/login")
        step = await post(browser, "/ui/login", {"username": name}, csrf=csrf_of(first))
        _, kind, options, _ = passkey_form(step)
        shapes.append((kind, sorted(options["publicKey"]), _labels(step), _buttons(step)))
    assert shapes[0] == shapes[1]


async def test_signin__a_replayed_passkey_answer_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, browser: httpx.AsyncClient
) -> None:
    authenticator = await _enrol(client, admin, idm, "alice")
    first = await browser.get("/ui/login")
    ceremony = await post(browser, "/ui/login/passkey/begin", {}, csrf=csrf_of(first))
    _, _, options, _ = passkey_form(ceremony)
    answer = authenticator.get(options)
    assert (await send_passkey(browser, ceremony, answer)).status_code == 303
    async with open_browser(idm) as thief:
        page = await thief.get("/ui/login")
        await post(thief, "/ui/login/passkey/begin", {}, csrf=csrf_of(page))
        replayed = await post(thief, "/ui/login/passkey", {"passkey": json.dumps(answer)},
                              csrf=csrf_of(page))
        assert replayed.status_code == 200
        assert alert_of(replayed)
        assert session_cookie(thief) is None


async def test_signin__a_malformed_passkey_answer_is_refused(browser: httpx.AsyncClient) -> None:
    first = await browser.get("/ui/login")
    ceremony = await post(browser, "/ui/login/passkey/begin", {}, csrf=csrf_of(first))
    for raw in ("not json", "[1, 2]", '{"id": 5}'):
        refused = await post(browser, "/ui/login/passkey", {"passkey": raw},
                             csrf=csrf_of(ceremony))
        assert alert_of(refused)
        assert session_cookie(browser) is None
