"""Signing in and out in Chromium (``/ui/login``, ``/ui/``, "Sign out"): a password, a password
and a code, refusals in an alert that gets focus, unknown names through the same pages, the
session cookie, and the browser's session as an ordinary session record."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.pages import (
    alert,
    applications,
    give_code,
    give_password,
    give_username,
    password_field,
    session_cookie,
    sign_in,
    sign_out,
    username_field,
)
from tests.browser.people import People
from tests.browser.web_server import WebServer
from tests.cli.hermit_process import HermitProcess


def test_sign_in__with_a_password_reaches_the_applications_page(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    sign_in(page, web.origin, person)
    assert page.url == web.url("/ui/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_sign_in__with_a_code_then_a_password(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    people.add_totp(person)
    give_username(page, web.origin, person.name)
    # The account's methods decide the page: the code comes first, then the password.
    expect(password_field(page)).to_have_count(0)
    give_code(page, person.code())
    assert person.password is not None
    give_password(page, person.password)
    expect(applications(page)).to_be_visible()


def test_sign_in__a_wrong_code_is_refused_before_any_password(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    app = people.add_totp(person)
    give_username(page, web.origin, person.name)
    wrong = f"{(int(app.now()) + 1) % 1_000_000:06d}"
    give_code(page, wrong)
    expect(alert(page)).to_be_visible()
    expect(alert(page)).to_be_focused()
    expect(password_field(page)).to_have_count(0)
    expect(applications(page)).to_have_count(0)


def test_sign_in__a_wrong_password_is_an_alert_with_focus(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    give_username(page, web.origin, person.name)
    give_password(page, "not the password at all 123")
    expect(alert(page)).to_be_visible()
    expect(alert(page)).to_be_focused()
    expect(applications(page)).to_have_count(0)
    page.goto(web.url("/ui/"))
    expect(applications(page)).to_have_count(0)


def test_sign_in__an_unknown_name_goes_through_the_same_pages(
    page: Page, web: WebServer, people: People
) -> None:
    real = people.person()
    give_username(page, web.origin, real.name)
    expect(password_field(page)).to_be_visible()
    give_password(page, "a wrong password for the real name")
    refusal_for_real = alert(page).inner_text()

    give_username(page, web.origin, "nobody-" + real.name)
    expect(password_field(page)).to_be_visible()
    give_password(page, "a wrong password for the real name")
    expect(alert(page)).to_have_text(refusal_for_real)


def test_sign_in__the_session_cookie_is_host_only_secure_httponly_and_lax(
    page: Page, web: WebServer, people: People
) -> None:
    sign_in(page, web.origin, people.person())
    cookie = session_cookie(page)
    assert cookie is not None
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
        True, True, "Lax", "/")
    # __Host-: no Domain attribute, so the cookie belongs to this host only.
    assert cookie["domain"] == "localhost"


def test_sign_out__ends_the_session_and_its_cookie_no_longer_opens_a_page(
    page: Page, web: WebServer, people: People
) -> None:
    sign_in(page, web.origin, people.person())
    cookie = session_cookie(page)
    assert cookie is not None
    sign_out(page)
    # Even a browser that kept the old cookie is not let in again.
    page.context.add_cookies([{"name": str(cookie["name"]), "value": str(cookie["value"]),
                               "url": web.origin, "secure": True, "httpOnly": True,
                               "sameSite": "Lax"}])
    page.goto(web.url("/ui/"))
    expect(applications(page)).to_have_count(0)
    expect(username_field(page)).to_be_visible()


def test_sign_in__hermit_session_list_shows_the_browser_and_destroy_ends_it(
    page: Page, web: WebServer, people: People, tmp_path: Path
) -> None:
    person = people.person()
    sign_in(page, web.origin, person)
    assert person.password is not None
    hermit = HermitProcess(tmp_path, {
        "HERMIT_URL": web.server.url, "HERMIT_CA": str(web.server.ca),
        "HERMIT_NAME": person.name, "HERMIT_PASSWORD": person.password,
    })
    hermit.ok("login")
    sessions = hermit.ok("session", "list", "--json").json()["sessions"]
    browsers = [s for s in sessions if not s["current"]]
    assert len(browsers) == 1, "the browser's session is not listed"
    hermit.ok("session", "destroy", browsers[0]["id"])
    # Ended at once: the next page load is the sign-in page.
    page.goto(web.url("/ui/"))
    expect(applications(page)).to_have_count(0)
    expect(username_field(page)).to_be_visible()
