"""Clickjacking: a page of another site frames hermit's pages (issue 11, "hermit framed by
another page").

The intruder serves a page from another origin, over HTTPS on the same host (another port:
same site, so the browser even sends the Lax session cookie into the frame) or over plain HTTP,
whose iframe holds hermit's sign-in or credentials page under a decoy. hermit's
``frame-ancestors 'none'`` must make Chromium refuse to render it: the frame holds no hermit
control, and Chromium reports the refusal. hermit keeps serving the person directly.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from contrib.harness.browser import Browser
from tests.browser.other_site import other_site
from tests.browser.pages import applications, credentials_heading, sign_in, username_field
from tests.browser.people import People
from tests.browser.web_server import WebServer, free_port


def decoy(target: str) -> str:
    return ("<!doctype html><title>Win a prize</title><p>Click the button!</p>"
            f'<iframe name="victim" src="{target}" width="800" height="600"></iframe>')


REFUSAL_WAIT_S = 10.0


def refusals(page: Page, chromium: Browser) -> list[str]:
    """Chromium's reports of the frame refused, waited for (the frame loads after the page's
    own load event may have fired); every problem seen is taken, so the page fixture does not
    count the refusal the test provoked."""
    deadline = time.monotonic() + REFUSAL_WAIT_S
    while True:
        found = [p.text for p in chromium.collector.problems if "frame-ancestors" in p.text]
        if found or time.monotonic() > deadline:
            chromium.collector.take()
            return found
        page.wait_for_timeout(50)


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_idmd_browser_framing__another_site_cannot_frame_the_sign_in_page(
    page: Page, chromium: Browser, web: WebServer, tmp_path: Path, scheme: str
) -> None:
    tls = (web.server.workdir / "tls" / "chain.pem", web.server.workdir / "tls" / "key.pem")
    with other_site(tmp_path, {"/": decoy(web.url("/ui/login"))},
                    tls=tls if scheme == "https" else None, port=free_port()) as site:
        page.goto(f"{site}/")
        assert refusals(page, chromium), "Chromium did not report a frame-ancestors refusal"
        frame = page.frame_locator('iframe[name="victim"]')
        expect(frame.get_by_role("textbox", name="Username")).to_have_count(0)
        expect(frame.get_by_role("button", name="Continue")).to_have_count(0)
    page.goto(web.url("/ui/login"))
    expect(username_field(page)).to_be_visible()


def test_idmd_browser_framing__a_signed_in_person_s_credentials_page_is_not_framed(
    page: Page, chromium: Browser, web: WebServer, people: People, tmp_path: Path
) -> None:
    sign_in(page, web.origin, people.person())
    tls = (web.server.workdir / "tls" / "chain.pem", web.server.workdir / "tls" / "key.pem")
    with other_site(tmp_path, {"/": decoy(web.url("/ui/credentials"))}, tls=tls,
                    port=free_port()) as site:
        page.goto(f"{site}/")
        assert refusals(page, chromium), "Chromium did not report a frame-ancestors refusal"
        frame = page.frame_locator('iframe[name="victim"]')
        expect(frame.get_by_role("heading", name="Credentials")).to_have_count(0)
        expect(frame.get_by_role("button")).to_have_count(0)
    # The person's session is untouched and hermit serves it directly.
    page.goto(web.url("/ui/credentials"))
    expect(credentials_heading(page)).to_be_visible()
    page.goto(web.url("/ui/"))
    expect(applications(page)).to_be_visible()
