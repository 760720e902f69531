"""What a person does on hermit's pages, found only by accessible names (DESIGN.md "The web
front door and SSO"): if a page renames a control, these helpers and so the tests fail.

Each helper acts like a person with a mouse; the keyboard-only test drives the same pages with
Tab and Enter itself.
"""

from __future__ import annotations

import hashlib
import re
import time

import pyotp
from playwright.sync_api import Locator, Page, expect

from tests.browser.people import Person


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


def fill_and_press(page: Page, label: str, value: str, button: str) -> None:
    """Fill the field named ``label`` and press ``button`` of the same form."""
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.locator("xpath=ancestor::form[1]").get_by_role("button", name=button).click()


def set_password(page: Page, password: str) -> None:
    fill_and_press(page, "New password", password, "Set password")


BASE32_SECRET = re.compile(r"[A-Z2-7]{16,}")


def add_totp(page: Page, label: str) -> pyotp.TOTP:
    """Add a TOTP on the credentials page: its name, then the secret the page shows as text
    (beside the QR code) into an app, then the app's code of the previous step (so the current
    one stays unused for a sign-in). Staged until "Save changes"."""
    fill_and_press(page, "TOTP name", label, "Add a TOTP")
    figure = page.get_by_role("figure")
    qr = figure.get_by_role("img", name=f"QR code of the TOTP {label}")
    expect(qr).to_be_visible()
    # Inline SVG: the CSP's img-src 'self' would refuse a data: URL.
    expect(qr.locator("svg")).to_have_count(1)
    found = BASE32_SECRET.findall(figure.inner_text().replace(" ", ""))
    assert len(found) == 1, f"expected one TOTP secret beside the QR code, found {len(found)}"
    app = pyotp.TOTP(found[0], digest=hashlib.sha256)
    fill_and_press(page, "Code", app.at(time.time() - app.interval), "Confirm")
    return app


def passkeys_region(page: Page) -> Locator:
    return page.get_by_role("region", name="Passkeys")


def passkey_item(page: Page, label: str) -> Locator:
    """The passkey ``label`` in the credentials page's list."""
    return passkeys_region(page).get_by_role("listitem").filter(
        has=page.get_by_text(label, exact=True))


def add_passkey(page: Page, label: str) -> None:
    """Name a new passkey and add it: the page's script asks the tab's authenticator (a
    virtual one here) and posts its answer; the passkey is then listed, staged until "Save
    changes"."""
    fill_and_press(page, "Passkey name", label, "Add a passkey")
    expect(passkey_item(page, label)).to_be_visible()


def remove_passkey(page: Page, label: str) -> None:
    passkey_item(page, label).get_by_role("button", name="Remove").click()
    expect(passkey_item(page, label)).to_have_count(0)


def enrol_passkey_with_reset_token(page: Page, origin: str, token: str, label: str) -> None:
    """Redeem ``token`` at /ui/reset, add a passkey and save: no password is involved."""
    redeem_reset_token(page, origin, token)
    add_passkey(page, label)
    save_changes(page)
    expect(page.get_by_role("status")).to_be_visible()


def start_passkey_sign_in(page: Page, origin: str, name: str | None = None) -> None:
    """"Sign in with a passkey": from the first page (usernameless) or, with ``name``, from
    the page after the username."""
    if name is None:
        page.goto(f"{origin}/ui/login")
    else:
        give_username(page, origin, name)
    page.get_by_role("button", name="Sign in with a passkey").click()


def sign_in_with_passkey(page: Page, origin: str, name: str | None = None) -> None:
    start_passkey_sign_in(page, origin, name)
    expect(applications(page)).to_be_visible()


def is_focused(target: Locator) -> bool:
    return bool(target.evaluate("element => element === document.activeElement"))


def tab_to(page: Page, target: Locator, *, limit: int = 40) -> None:
    """Press Tab until ``target`` has focus (as a keyboard user would); fail after ``limit``."""
    for _ in range(limit):
        if is_focused(target):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{limit} presses of Tab never reached {target}")
