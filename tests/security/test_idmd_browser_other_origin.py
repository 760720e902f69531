"""A passkey assertion made for another origin (issue 11): phishing on the same host.

The intruder runs a site at ``https://localhost:OTHERPORT``: the same RP ID (``localhost``) as
hermit at ``https://localhost:PORT``, so the person's authenticator answers it with hermit's
passkey (fido2's default origin check would take any port). The intruder asks hermit for a
usernameless sign-in, has its page get an assertion over hermit's challenge from the person's
authenticator, and relays the answer to ``/v1/auth/step``. hermit compares the origin exactly
and refuses; no session is made, and the passkey still signs the person in at hermit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from contrib.harness.browser import add_authenticator
from tests.browser.other_site import other_site
from tests.browser.pages import enrol_passkey_with_reset_token, sign_in_with_passkey
from tests.browser.people import People, ok
from tests.browser.web_server import WebServer, free_port

# What the intruder's page does with the options it was handed.
GET_ASSERTION = """async (options) => {
  const got = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey)});
  return got.toJSON();
}"""


def test_idmd_browser_other_origin__an_assertion_made_for_another_port_is_refused(
    page: Page, web: WebServer, people: People, tmp_path: Path
) -> None:
    person = people.person()
    assert person.password is not None
    authenticator = add_authenticator(page)
    enrol_passkey_with_reset_token(page, web.origin, people.reset_token(person), "laptop")
    (before,) = authenticator.credentials()
    with web.server.client() as intruder:
        begun = intruder.post("/v1/auth/begin", json={})
        options = ok(begun)["passkey"]
        session = {"Hermit-Auth-Session": begun.headers["Hermit-Auth-Session"]}
        tls = (web.server.workdir / "tls" / "chain.pem", web.server.workdir / "tls" / "key.pem")
        with other_site(tmp_path, {"/": "<!doctype html><title>Sign in to hermit</title>"},
                        tls=tls, port=free_port()) as site:
            page.goto(f"{site}/")
            answer: dict[str, Any] = page.evaluate(GET_ASSERTION, options)
        # The authenticator did sign it: only hermit's origin check stands in the way.
        (after,) = authenticator.credentials()
        assert after["signCount"] > before["signCount"]
        relayed = intruder.post("/v1/auth/step", json={"method": "passkey", "passkey": answer},
                                headers=session)
    reply = relayed.json()
    assert reply.get("state") == "denied", reply.get("state")
    assert "another site" in str(reply.get("reason")), reply
    assert "token" not in reply
    # No session was made for the person: theirs are only the one listing them.
    with web.server.client(web.server.login(person.name, person.password)) as own:
        assert len(ok(own.get("/v1/auth/sessions"))["sessions"]) == 1
    # hermit still takes the passkey on its own origin.
    sign_in_with_passkey(page, web.origin)
