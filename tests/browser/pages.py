"""What a person does on hermit's pages, found only by accessible names (DESIGN.md "The web
front door and SSO"): if a page renames a control, these helpers and so the tests fail.

Each helper acts like a person with a mouse; the keyboard-only test drives the same pages with
Tab and Enter itself.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.people import Person

TEN_SECONDS_MS = 10_000


def continue_from(field: Locator) -> None:
    """Click the "Continue" of the form holding ``field`` (a page may show several forms)."""
    field.locator("xpath=ancestor::form[1]").get_by_role("button", name="Continue").click()


def username_field(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Username", exact=True)


def password_field(page: Page) -> Locator:
    return page.get_by_label("Password", exact=True)


def code_field(page: Page) -> Locator:
    return page.get_by_label("Code", exact=True)


def alert(page: Page) -> Locator:
    return page.get_by_role("alert")


def applications(page: Page) -> Locator:
    return page.get_by_role("heading", name="Applications")


def credentials_heading(page: Page) -> Locator:
    return page.get_by_role("heading", name="Credentials")


def give_username(page: Page, origin: str, name: str) -> None:
    page.goto(f"{origin}/ui/login")
    field = username_field(page)
    field.fill(name)
    continue_from(field)


def give_password(page: Page, password: str) -> None:
    field = password_field(page)
    field.fill(password)
    continue_from(field)


def give_code(page: Page, code: str) -> None:
    field = code_field(page)
    field.fill(code)
    continue_from(field)


def sign_in(page: Page, origin: str, person: Person) -> None:
    """Username, then (a TOTP account) the code, then the password; ends on Applications."""
    assert person.password is not None
    give_username(page, origin, person.name)
    if person.totp is not None:
        give_code(page, person.code())
    give_password(page, person.password)
    expect(applications(page)).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(username_field(page)).to_be_visible()


def session_cookie(page: Page) -> dict[str, object] | None:
    for cookie in page.context.cookies():
        if cookie.get("name") == "__Host-hermit-session":
            return dict(cookie)
    return None


def open_credentials(page: Page, origin: str) -> None:
    page.goto(f"{origin}/ui/credentials")
    expect(credentials_heading(page)).to_be_visible()


def redeem_reset_token(page: Page, origin: str, token: str) -> None:
    page.goto(f"{origin}/ui/reset")
    field = page.get_by_role("textbox", name="Reset token", exact=True)
    field.fill(token)
    continue_from(field)
    expect(credentials_heading(page)).to_be_visible()


def save_changes(page: Page) -> None:
    page.get_by_role("button", name="Save changes").click()


BASE32_SECRET = re.compile(r"\b[A-Z2-7]{16,}=*\b")


def shown_totp_secret(page: Page) -> str:
    """The TOTP secret the credentials page shows as text (beside its QR code)."""
    found = BASE32_SECRET.findall(page.locator("body").inner_text().replace(" ", ""))
    assert len(found) == 1, f"expected one TOTP secret on the page, found {len(found)}"
    return str(found[0])
