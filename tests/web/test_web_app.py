"""The web door's app: its refusals are pages, the API's routes and answers are untouched, and
everything under /ui goes to the door."""

from __future__ import annotations

import re

import httpx

from idmd.https.app import build_app
from idmd.idm import Idm
from idmd.web.app import STATIC
from tests.idmd.app_client import assert_error, make_person
from tests.web.web_client import alert_of, csrf_of, post, sign_in


async def test_app__unknown_page_is_an_html_404(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/ui/nothing/here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert alert_of(response) == "There is no such page."


async def test_app__wrong_method_is_an_html_405_with_allow(browser: httpx.AsyncClient) -> None:
    response = await browser.put("/ui/login")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"].startswith("text/html")


async def test_app__api_keeps_its_json_answers(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/nothing"), 404, "not_found")
    assert_error(await client.get("/uix"), 404, "not_found")
    assert (await client.get("/status")).json() == {"status": "ok"}


def test_app__the_door_is_not_among_the_apis_routes(idm: Idm) -> None:
    paths = [getattr(route, "path", "") for route in build_app(idm).routes]
    assert not [path for path in paths if path.startswith("/ui")]


async def test_app__a_post_that_is_not_a_form_is_403(browser: httpx.AsyncClient) -> None:
    await browser.get("/ui/login")
    response = await browser.post("/ui/login", json={"username": "alice"})
    assert response.status_code == 403
    assert alert_of(response)


async def test_app__a_malformed_form_is_400(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/ui/login")
    body = f"csrf={csrf_of(page)}&username=%FF".encode()
    response = await browser.post(
        "/ui/login", content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Origin": "https://idm.example.com"},
    )
    assert response.status_code == 400
    assert alert_of(response) == "the form is not well-formed"


async def test_app__the_login_page_of_a_signed_in_browser_leads_on(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient
) -> None:
    await make_person(client, admin, "alice", "correct horse battery staple 9")
    await sign_in(browser, "alice", "correct horse battery staple 9")
    response = await browser.get("/ui/login")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/"


def _unlabelled(page: str) -> list[str]:
    """Inputs a person can reach that have no <label for=...>, and inline script or style."""
    labelled = set(re.findall(r'<label for="([^"]+)">', page))
    problems = []
    for tag in re.findall(r"<input\b[^>]*>", page):
        if 'type="hidden"' in tag:
            continue
        found = re.search(r'\bid="([^"]+)"', tag)
        if found is None or found.group(1) not in labelled:
            problems.append(tag)
    return problems


async def test_app__every_input_of_every_page_has_a_label(
    client: httpx.AsyncClient, admin: dict[str, str], browser: httpx.AsyncClient,
) -> None:
    await make_person(client, admin, "alice")
    pages = [await browser.get("/ui/login"), await browser.get("/ui/reset")]
    step = await post(browser, "/ui/login", {"username": "alice"}, csrf=csrf_of(pages[0]))
    pages.append(step)
    made = await client.post("/v1/person/alice/credential/reset_token", json={}, headers=admin)
    start = await browser.get("/ui/reset")
    await post(browser, "/ui/reset", {"token": made.json()["token"]}, csrf=csrf_of(start))
    credentials = await browser.get("/ui/credentials")
    totp = await post(browser, "/ui/credentials/totp", {"label": "phone"},
                      csrf=csrf_of(credentials))
    pages += [credentials, totp]
    for page in pages:
        assert page.status_code == 200
        assert _unlabelled(page.text) == []
        assert re.search(r"<input\b", page.text)


def test_app__the_script_makes_no_connections() -> None:
    """The CSP allows no fetch: the passkey script only fills and sends forms."""
    script = (STATIC / "passkeys.js").read_text()
    for word in ("fetch(", "XMLHttpRequest", "eval(", "innerHTML", "WebSocket", "sendBeacon"):
        assert word not in script
