"""The headers middleware: every answer of idmd carries HSTS and nosniff, HTML answers the
CSP of issue 11 and the rest, API answers no-store; nothing is doubled."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from idmd.idm import Idm
from idmd.web.headers import CSP, HSTS, SecurityHeadersMiddleware

EXPECTED_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def test_headers__csp_is_the_issues() -> None:
    assert CSP == EXPECTED_CSP
    assert "unsafe-inline" not in CSP


@pytest.mark.parametrize("path", ["/ui/login", "/ui/reset", "/ui/nothing-here"])
async def test_headers__html_pages_carry_all(browser: httpx.AsyncClient, path: str) -> None:
    response = await browser.get(path)
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == EXPECTED_CSP
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["strict-transport-security"] == HSTS


@pytest.mark.parametrize("path", ["/status", "/v1/openapi.json", "/v1/nothing", "/v1/person"])
async def test_headers__api_answers_carry_hsts_only(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.headers["strict-transport-security"] == HSTS
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


async def test_headers__auth_answers_are_no_store(client: httpx.AsyncClient) -> None:
    begin = await client.post("/v1/auth/begin", json={"name": "nobody-here"})
    assert begin.status_code == 200
    assert begin.headers["cache-control"] == "no-store"
    refused = await client.post("/v1/auth/step", json={"method": "password", "password": "x"})
    assert refused.headers["cache-control"] == "no-store"
    assert "cache-control" not in (await client.get("/status")).headers


@pytest.mark.parametrize("path", ["/v1/person", "/v1/nothing", "/v1/auth/whoami"])
async def test_headers__every_api_answer_is_no_store(client: httpx.AsyncClient, path: str) -> None:
    """Refusals included: one rule for the API, so a route that answers a secret once (an API
    token, a reset token, backup codes) cannot forget it."""
    assert (await client.get(path)).headers["cache-control"] == "no-store"


async def test_headers__the_openapi_document_may_be_kept(client: httpx.AsyncClient) -> None:
    assert "cache-control" not in (await client.get("/v1/openapi.json")).headers


async def test_headers__static_files_are_nosniff(browser: httpx.AsyncClient) -> None:
    css = await browser.get("/ui/static/hermit.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"
    script = await browser.get("/ui/static/passkeys.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


async def test_headers__a_header_set_already_is_replaced_not_doubled() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"Cache-Control", b"max-age=60"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"<p>x</p>"})

    transport = httpx.ASGITransport(SecurityHeadersMiddleware(inner))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as c:
        response = await c.get("/anything")
    assert response.headers.get_list("cache-control") == ["no-store"]
    assert response.headers["content-security-policy"] == EXPECTED_CSP


async def test_headers__the_apis_500_answers_carry_them_too(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(caller: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(idm, "whoami", broken)
    response = await client.get("/v1/auth/whoami", headers=admin)
    assert response.status_code == 500
    assert response.headers["strict-transport-security"] == HSTS
    assert response.headers["cache-control"] == "no-store"
