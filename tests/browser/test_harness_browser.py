"""The browser harness itself (``contrib/harness/browser.py``), on pages of a loopback site of
its own: its collectors do catch what must fail a browser test, its trust is limited to one
certificate, and its virtual authenticators register, assert and clone."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error, Page

from contrib.harness.browser import CSP_PREFIX, Browser, add_authenticator, launch
from contrib.harness.idmd_process import BIN, write_config
from tests.browser.other_site import other_site
from tests.browser.web_server import WebServer, free_port

STRICT = {"Content-Security-Policy": "default-src 'none'"}
INLINE = "<!doctype html><title>t</title><style>p{color:red}</style><p>x</p>" \
         "<script>document.title='ran'</script>"

REGISTER = """async () => {
  const made = await navigator.credentials.create({publicKey: {
    challenge: new Uint8Array(32), rp: {name: "harness", id: "localhost"},
    user: {id: new Uint8Array([1, 2, 3]), name: "u", displayName: "U"},
    pubKeyCredParams: [{type: "public-key", alg: -7}], attestation: "none",
    authenticatorSelection: {residentKey: "required", userVerification: "required"}}});
  return made.id;
}"""
ASSERT = """async () => {
  const got = await navigator.credentials.get({publicKey: {
    challenge: new Uint8Array(32), rpId: "localhost", userVerification: "required"}});
  const data = new Uint8Array(got.response.authenticatorData);
  return [got.id, new DataView(data.buffer).getUint32(33)];
}"""


def tls_of(web: WebServer) -> tuple[Path, Path]:
    return web.server.workdir / "tls" / "chain.pem", web.server.workdir / "tls" / "key.pem"


def test_collector__catches_a_csp_violation_and_a_console_error(
    page: Page, chromium: Browser, tmp_path: Path
) -> None:
    pages = {"/": INLINE, "/noisy": "<!doctype html><title>n</title>"
                                    "<script>console.error('boom')</script>"}
    with other_site(tmp_path, pages, tls=None, port=free_port(), headers=STRICT) as site:
        page.goto(f"{site}/")
        page.goto(f"{site}/noisy")
    with other_site(tmp_path, pages, tls=None, port=free_port()) as site:
        page.goto(f"{site}/noisy")
        page.wait_for_function("document.readyState === 'complete'")
    kinds = [(problem.kind, problem.text) for problem in chromium.collector.take()]
    directives = {text.split()[3] for kind, text in kinds if text.startswith(CSP_PREFIX)}
    # The inline style and the inline script, each refused by the CSP and reported.
    assert {"style-src-elem", "script-src-elem"} <= directives, kinds
    assert ("console", "boom") in kinds


def test_collector__sees_csp_refusals_with_javascript_off(
    web: WebServer, tmp_path: Path
) -> None:
    with launch(web.spki, javascript=False) as browser, \
            other_site(tmp_path, {"/": INLINE}, tls=None, port=free_port(),
                       headers=STRICT) as site:
        page = browser.new_page()
        page.goto(f"{site}/")
        page.wait_for_load_state("load")
        assert page.title() == "t"  # the script did not run: JavaScript is off
        assert any(problem.kind == "csp" for problem in browser.problems), browser.problems


def test_launch__trusts_the_server_certificate_and_no_other(
    page: Page, web: WebServer, tmp_path: Path
) -> None:
    with other_site(tmp_path, {"/": "<title>same leaf</title>"}, tls=tls_of(web),
                    port=free_port()) as site:
        page.goto(f"{site}/")
        assert page.title() == "same leaf"
    # Another certificate of the same kind (hermit-idmd cert-generate in another directory).
    other = tmp_path / "other"
    other.mkdir()
    config = write_config(other)
    subprocess.run([str(BIN / "hermit-idmd"), "cert-generate", "-c", str(config)], check=True,
                   capture_output=True, timeout=60)
    with other_site(tmp_path, {"/": "<title>other</title>"},
                    tls=(other / "tls" / "chain.pem", other / "tls" / "key.pem"),
                    port=free_port()) as site, pytest.raises(Error, match="ERR_CERT"):
        page.goto(f"{site}/")


def test_authenticator__registers_asserts_and_copies_a_credential_to_a_clone(
    page: Page, chromium: Browser, web: WebServer, tmp_path: Path
) -> None:
    with other_site(tmp_path, {"/": "<title>rp</title>"}, tls=tls_of(web),
                    port=free_port()) as site:
        original = add_authenticator(page)
        page.goto(f"{site}/")
        made_id = page.evaluate(REGISTER)
        first: list[Any] = page.evaluate(ASSERT)
        assert first[0] == made_id
        (stored,) = original.credentials()
        assert stored["isResidentCredential"] is True
        assert stored["signCount"] == first[1] > 0

        second_tab = chromium.new_page()
        clone = add_authenticator(second_tab)
        original.copy_to(clone)
        second_tab.goto(f"{site}/")
        cloned: list[Any] = second_tab.evaluate(ASSERT)
        # The clone answers with the same credential and a counter that goes on from the copy.
        assert cloned == [made_id, first[1] + 1]
        assert page.evaluate(ASSERT) == [made_id, first[1] + 1]
