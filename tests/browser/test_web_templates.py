"""What every page's template owes every person (issue 11): each control reachable and usable
by keyboard alone, a page that still fits at 200 % zoom, and every page but the passkey
ceremonies working with JavaScript off. Driven in Chromium by accessible names only."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, ViewportSize, expect

from contrib.harness.browser import add_authenticator
from tests.browser.pages import (
    applications,
    credentials_heading,
    open_credentials,
    passkey_item,
    password_field,
    redeem_reset_token,
    save_changes,
    set_password,
    sign_in,
    sign_out,
    tab_to,
    username_field,
)
from tests.browser.people import People, new_password
from tests.browser.web_server import WebServer

# 200 % zoom of the 1280 x 800 window: the CSS viewport is half as wide and high.
ZOOMED = ViewportSize(width=640, height=400)


def test_keyboard__sign_in_and_out_with_tab_and_enter_only(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    assert person.password is not None
    page.goto(web.url("/ui/login"))
    tab_to(page, username_field(page))
    page.keyboard.type(person.name)
    page.keyboard.press("Enter")
    tab_to(page, password_field(page))
    page.keyboard.type(person.password)
    page.keyboard.press("Enter")
    expect(applications(page)).to_be_visible()
    tab_to(page, page.get_by_role("link", name="Credentials"))
    page.keyboard.press("Enter")
    expect(credentials_heading(page)).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Sign out"))
    page.keyboard.press("Enter")
    expect(username_field(page)).to_be_visible()


def test_keyboard__a_passkey_added_and_used_with_tab_and_enter_only(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person(password=False)
    add_authenticator(page)
    page.goto(web.url("/ui/reset"))
    tab_to(page, page.get_by_role("textbox", name="Reset token"))
    page.keyboard.type(people.reset_token(person))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("textbox", name="Passkey name"))
    page.keyboard.type("laptop")
    page.keyboard.press("Enter")
    expect(passkey_item(page, "laptop")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Save changes"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_be_visible()
    page.goto(web.url("/ui/login"))
    tab_to(page, page.get_by_role("button", name="Sign in with a passkey"))
    page.keyboard.press("Enter")
    expect(applications(page)).to_be_visible()


def test_keyboard__a_refusal_takes_the_focus_so_a_screen_reader_reads_it(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    page.goto(web.url("/ui/login"))
    tab_to(page, username_field(page))
    page.keyboard.type(person.name)
    page.keyboard.press("Enter")
    tab_to(page, password_field(page))
    page.keyboard.type("wrong password, typed")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_be_focused()


def fits(page: Page, *controls: Locator) -> None:
    """No horizontal scrolling, and every control inside the (zoomed) viewport's width."""
    width = page.evaluate("document.documentElement.clientWidth")
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    assert scrolled <= width, f"{page.url}: {scrolled} px wide in a {width} px viewport"
    for control in controls:
        control.scroll_into_view_if_needed()
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{control} leaves the page"


def test_zoom__every_page_fits_at_200_percent(
    page: Page, web: WebServer, people: People
) -> None:
    page.set_viewport_size(ZOOMED)
    person = people.person()
    page.goto(web.url("/ui/login"))
    fits(page, username_field(page), page.get_by_role("button", name="Continue"),
         page.get_by_role("button", name="Sign in with a passkey"))
    page.goto(web.url("/ui/reset"))
    fits(page, page.get_by_role("textbox", name="Reset token"),
         page.get_by_role("button", name="Continue"))
    sign_in(page, web.origin, person)
    fits(page, page.get_by_role("button", name="Sign out"))
    open_credentials(page, web.origin)
    fits(page, page.get_by_role("textbox", name="Passkey name"),
         page.get_by_role("button", name="Add a passkey"),
         page.get_by_label("New password", exact=True),
         page.get_by_role("button", name="Save changes"),
         page.get_by_role("button", name="Sign out"))


def test_no_javascript__sign_in_change_a_password_and_sign_out(
    nojs_page: Page, web: WebServer, people: People
) -> None:
    page = nojs_page
    person = people.person()
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    person.password = new_password()
    set_password(page, person.password)
    save_changes(page)
    expect(page.get_by_role("status")).to_be_visible()
    sign_out(page)
    sign_in(page, web.origin, person)
    sign_out(page)


def test_no_javascript__a_reset_token_and_a_code(
    nojs_page: Page, web: WebServer, people: People
) -> None:
    page = nojs_page
    person = people.person(password=False)
    redeem_reset_token(page, web.origin, people.reset_token(person))
    person.password = new_password()
    set_password(page, person.password)
    save_changes(page)
    expect(page.get_by_role("status")).to_be_visible()
    people.add_totp(person)
    sign_in(page, web.origin, person)
