"""A cloned authenticator (issue 11): a passkey's private key copied to a second device.

The intruder holds a copy of the person's authenticator taken at some point (here: CDP copies
the credential, key and counter, from the person's virtual authenticator to one in another
tab). The person goes on signing in, so hermit's stored counter moves past the copy's. When
the copy is used, its counter is not greater than the stored one: hermit refuses the sign-in
as a possible clone and logs it, and the person's own authenticator keeps working.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from contrib.harness.browser import Browser, add_authenticator
from tests.browser.pages import (
    alert,
    applications,
    enrol_passkey_with_reset_token,
    sign_in_with_passkey,
    sign_out,
    start_passkey_sign_in,
)
from tests.browser.people import People
from tests.browser.web_server import WebServer


def test_idmd_browser_cloned_authenticator__a_copy_with_a_stale_counter_is_refused(
    page: Page, chromium: Browser, web: WebServer, people: People
) -> None:
    person = people.person(password=False)
    original = add_authenticator(page)
    enrol_passkey_with_reset_token(page, web.origin, people.reset_token(person), "laptop")
    sign_in_with_passkey(page, web.origin)
    sign_out(page)

    intruder_tab = chromium.new_page()
    clone = add_authenticator(intruder_tab)
    copied = original.copy_to(clone)
    assert copied["signCount"] > 0

    # The person signs in again: hermit stores a counter past the copy's.
    sign_in_with_passkey(page, web.origin)
    sign_out(page)
    logged_before = len(web.server.log_lines)

    start_passkey_sign_in(intruder_tab, web.origin)
    expect(alert(intruder_tab)).to_contain_text("cloned authenticator")
    expect(alert(intruder_tab)).to_be_focused()
    expect(applications(intruder_tab)).to_have_count(0)
    assert clone.credentials()[0]["signCount"] == original.credentials()[0]["signCount"]
    logged = web.server.log_lines[logged_before:]
    assert any("possibly a cloned authenticator" in line for line in logged), logged
    # Never a secret in that log line: not the private key, not the credential's id.
    assert not any(copied["privateKey"] in line or copied["credentialId"] in line
                   for line in logged)

    # The person's own authenticator still signs in.
    sign_in_with_passkey(page, web.origin)
