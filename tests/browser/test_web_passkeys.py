"""The passkey ceremonies in Chromium (``idmd/web/static/passkeys.js`` and the pages that carry
its options), with a CDP virtual platform authenticator: enrolment through a reset token with
no password, sign-in usernameless and username first, rename and removal, an account whose
policy asks for a passkey, and the authenticators hermit must refuse."""

from __future__ import annotations

import base64
import uuid

from playwright.sync_api import Page, expect

from contrib.harness.browser import add_authenticator
from tests.browser.pages import (
    add_passkey,
    alert,
    applications,
    enrol_passkey_with_reset_token,
    fill_and_press,
    give_password,
    give_username,
    open_credentials,
    passkey_item,
    remove_passkey,
    save_changes,
    sign_in,
    sign_in_with_passkey,
    sign_out,
    start_passkey_sign_in,
)
from tests.browser.people import People, ok
from tests.browser.web_server import WebServer


def test_passkeys__enrolled_with_a_reset_token_and_no_password_sign_in_without_a_username(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person(password=False)
    authenticator = add_authenticator(page)
    enrol_passkey_with_reset_token(page, web.origin, people.reset_token(person), "laptop")
    (credential,) = authenticator.credentials()
    # A discoverable credential for RP ID localhost whose user handle is the account's uuid.
    account = ok(people.client.get(f"/v1/person/{person.name}"))
    assert credential["isResidentCredential"] is True
    assert credential["rpId"] == "localhost"
    assert base64.b64decode(credential["userHandle"]) == uuid.UUID(str(account["uuid"])).bytes
    sign_in_with_passkey(page, web.origin)
    open_credentials(page, web.origin)
    expect(page.get_by_text("No password.")).to_be_visible()
    expect(passkey_item(page, "laptop")).to_contain_text("last used")


def test_passkeys__sign_in_with_the_username_first(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person(password=False)
    add_authenticator(page)
    enrol_passkey_with_reset_token(page, web.origin, people.reset_token(person), "laptop")
    sign_in_with_passkey(page, web.origin, person.name)
    sign_out(page)
    # The passkey serves again: its counter went up, as it should.
    sign_in_with_passkey(page, web.origin)


def test_passkeys__a_renamed_then_removed_passkey_no_longer_signs_in(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    add_authenticator(page)
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    add_passkey(page, "laptop")
    save_changes(page)
    fill_and_press(page, "New name", "old-laptop", "Rename")
    expect(passkey_item(page, "old-laptop")).to_be_visible()
    save_changes(page)
    remove_passkey(page, "old-laptop")
    save_changes(page)
    expect(page.get_by_text("No passkeys.")).to_be_visible()
    sign_out(page)
    # The authenticator still holds the credential; hermit no longer knows it.
    start_passkey_sign_in(page, web.origin)
    expect(alert(page)).to_be_visible()
    expect(alert(page)).to_be_focused()
    expect(applications(page)).to_have_count(0)
    sign_in(page, web.origin, person)


def test_passkeys__an_account_whose_policy_asks_for_a_passkey_signs_in_with_one_only(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    assert person.password is not None
    people.policy_group(person, min_credential="passkey")
    add_authenticator(page)
    enrol_passkey_with_reset_token(page, web.origin, people.reset_token(person), "laptop")
    give_username(page, web.origin, person.name)
    give_password(page, person.password)
    expect(alert(page)).to_contain_text("passkey")
    expect(applications(page)).to_have_count(0)
    sign_in_with_passkey(page, web.origin, person.name)


def test_passkeys__an_authenticator_without_user_verification_cannot_enrol(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    authenticator = add_authenticator(page, user_verified=False)
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    fill_and_press(page, "Passkey name", "no-face", "Add a passkey")
    expect(alert(page)).to_be_visible()
    expect(alert(page)).to_be_focused()
    open_credentials(page, web.origin)
    expect(page.get_by_text("No passkeys.")).to_be_visible()
    assert authenticator.credentials() == []


def test_passkeys__the_same_authenticator_is_not_enrolled_twice(
    page: Page, web: WebServer, people: People
) -> None:
    person = people.person()
    authenticator = add_authenticator(page)
    sign_in(page, web.origin, person)
    open_credentials(page, web.origin)
    add_passkey(page, "laptop")
    save_changes(page)
    fill_and_press(page, "Passkey name", "laptop-again", "Add a passkey")
    expect(alert(page)).to_be_focused()
    open_credentials(page, web.origin)
    expect(passkey_item(page, "laptop-again")).to_have_count(0)
    assert len(authenticator.credentials()) == 1
