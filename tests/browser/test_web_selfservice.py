"""The credentials page (``/ui/credentials``) and the reset token page (``/ui/reset``) in
Chromium: a TOTP added from the secret the page shows, backup codes, a password changed with the
policy's feedback, one's own sessions ended, and a reset token redeemed without signing in."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.clocked_server import ClockedServer
from tests.browser.pages import (
    add_totp,
    alert,
    applications,
    continue_from,
    credentials_heading,
    give_password,
    give_username,
    open_credentials,
    redeem_reset_token,
    save_changes,
    set_password,
    sign_in,
    sign_out,
)
from tests.browser.people import People, new_password
from tests.browser.web_server import WebServer


def signs_in_over_rest(web: WebServer, name: str, password: str) -> bool:
    try:
        web.server.login(name, password)
    except RuntimeError:
        return False
    return True


def test_credentials__a_totp_added_from_the_shown_secret_asks_for_its_code_at_sign_in(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    app = add_totp(page, "phone")
    save_changes(page)
    expect(page.get_by_role("status")).to_be_visible()
    sign_out(page)
    person.totp = app
    sign_in(page, web.origin, person)


def test_credentials__new_backup_codes_each_sign_in_once_instead_of_a_code(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    people.add_totp(person)
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    page.get_by_role("button", name="New backup codes").click()
    codes = page.get_by_role("list").filter(has=page.locator("code")).locator("code")
    expect(codes).to_have_count(10)
    first = codes.first.inner_text()
    save_changes(page)
    sign_out(page)
    assert person.password is not None
    for attempt in range(2):
        give_username(page, web.origin, person.name)
        field = page.get_by_label("Backup code", exact=True)
        field.fill(first)
        continue_from(field)
        if attempt == 0:
            give_password(page, person.password)
            expect(applications(page)).to_be_visible()
            sign_out(page)
        else:
            expect(alert(page)).to_be_visible()
            expect(alert(page)).to_be_focused()


def test_credentials__a_weak_password_is_refused_with_the_policy_s_feedback(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    set_password(page, "aaaaaaaaaaaaaaaa")
    expect(alert(page)).to_be_focused()
    # zxcvbn's warning and suggestion, as the policy words them.
    expect(alert(page)).to_contain_text('Repeats like "aaa" are easy to guess')
    expect(alert(page)).to_contain_text("Avoid repeated words and characters")
    expect(page.get_by_text("A password is set.")).to_be_visible()


def test_credentials__a_new_password_is_written_by_save_changes_only(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    assert person.password is not None
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    fresh = new_password()
    set_password(page, fresh)
    expect(page.get_by_text("A new password is staged.")).to_be_visible()
    assert signs_in_over_rest(web, person.name, person.password)
    save_changes(page)
    expect(page.get_by_role("status")).to_be_visible()
    assert signs_in_over_rest(web, person.name, fresh)
    # Last: a failure holds the password back a while (softlock).
    assert not signs_in_over_rest(web, person.name, person.password)


def test_credentials__ending_another_of_one_s_sessions_revokes_it_at_once(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    assert person.password is not None
    token = web.server.login(person.name, person.password)
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    sessions = page.get_by_role("region", name="Sessions").get_by_role("listitem")
    expect(sessions).to_have_count(2)
    other = sessions.filter(has_not_text="(this browser)")
    other.get_by_role("button", name="End session").click()
    expect(page.get_by_role("region", name="Sessions").get_by_role("listitem")).to_have_count(1)
    with web.server.client(token) as client:
        assert client.get("/v1/auth/whoami").status_code == 401
    # This browser's own session goes on.
    open_credentials(page, web.origin)


def test_reset__a_token_sets_a_password_without_signing_in_and_works_once(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person(password=False)
    token = people.reset_token(person)
    redeem_reset_token(page, web.origin, token)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    person.password = new_password()
    set_password(page, person.password)
    save_changes(page)
    expect(page.get_by_role("status")).to_be_visible()
    sign_in(page, web.origin, person)
    sign_out(page)
    # The token is used up.
    page.goto(web.url("/ui/reset"))
    field = page.get_by_role("textbox", name="Reset token", exact=True)
    field.fill(token)
    continue_from(field)
    expect(alert(page)).to_be_focused()
    expect(credentials_heading(page)).to_have_count(0)


def test_reset__an_unknown_token_is_an_alert_and_the_page_keeps_serving(
    page: Page, web: WebServer, people: People
) -> None:
    page.goto(web.url("/ui/reset"))
    field = page.get_by_role("textbox", name="Reset token", exact=True)
    field.fill("abcd-efgh-jkmn-pqrs")
    continue_from(field)
    expect(alert(page)).to_be_visible()
    expect(alert(page)).to_be_focused()
    person = people.person()
    redeem_reset_token(page, web.origin, people.reset_token(person))



def test_credentials__outside_the_privilege_window_a_change_asks_to_sign_in_again(
    page: Page, clocked: ClockedServer, clocked_people: People
) -> None:
    person = clocked_people.person()
    assert person.password is not None
    clocked_people.policy_group(person, privilege_lifetime=60)
    sign_in(page, clocked.origin, person)
    open_credentials(page, clocked.origin)
    fresh = new_password()
    set_password(page, fresh)
    expect(page.get_by_text("A new password is staged.")).to_be_visible()
    clocked.clock.advance(61)
    save_changes(page)
    # Refused with the reason, what was staged kept, nothing written.
    expect(alert(page)).to_be_focused()
    expect(alert(page)).to_contain_text("What you staged is kept")
    assert clocked.login(person.name, person.password)
    page.get_by_role("button", name="Sign in again").click()
    expect(page.get_by_role("heading", name="Sign in again")).to_be_visible()
    give_password(page, person.password)
    expect(credentials_heading(page)).to_be_visible()
    save_changes(page)
    expect(page.get_by_role("status")).to_contain_text("saved")
    assert clocked.login(person.name, fresh)
