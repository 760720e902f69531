"""The web door's app: its refusals are pages, the API's routes and answers are untouched, and
everything under /ui goes to the door."""

from __future__ import annotations

import httpx

from idmd.https.app import build_app
from idmd.idm import Idm
from tests.idmd.app_client import assert_error, make_person
from tests.web.web_client import alert_of, csrf_of, sign_in


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
