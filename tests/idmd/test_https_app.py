"""The app's plumbing: status, the error mapping, body limits, malformed bodies, routing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from idmd import limits
from idmd.idm import Idm
from tests.idmd.app_client import assert_error


async def test_app__status_needs_no_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/status")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_app__unknown_route_is_404_json(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/nothing"), 404, "not_found")


async def test_app__wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/group")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


async def test_app__no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/person")
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("value", ["Bearer", "Basic abc", "Bearer not-a-jwt", "token"])
async def test_app__bad_authorization_is_401(client: httpx.AsyncClient, value: str) -> None:
    assert_error(
        await client.get("/v1/group", headers={"Authorization": value}), 401, "unauthenticated"
    )


async def test_app__oversized_content_length_is_413_and_nothing_changes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = b'{"name": "bigbody", "displayname": "' + b"x" * limits.MAX_BODY_BYTES + b'"}'
    response = await client.post("/v1/person", content=body, headers=admin)
    assert_error(response, 413, "body_too_large")
    assert response.headers["connection"] == "close"
    assert_error(await client.get("/v1/person/bigbody", headers=admin), 404, "not_found")
    assert (await client.get("/status")).status_code == 200


async def test_app__oversized_streamed_body_is_413(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "streamed", "displayname": "'
        for _ in range(limits.MAX_BODY_BYTES // 4096 + 1):
            yield b"x" * 4096
        yield b'"}'

    response = await client.post("/v1/person", content=chunks(), headers=admin)
    assert_error(response, 413, "body_too_large")
    assert_error(await client.get("/v1/person/streamed", headers=admin), 404, "not_found")


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": }',
        b"\xff\xfe",
        b'{"name": NaN}',
        b"[" * 100_000,
        b'{"name": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"name": "\\ud800"}',
    ],
)
async def test_app__malformed_json_is_400(
    client: httpx.AsyncClient, admin: dict[str, str], raw: bytes
) -> None:
    response = await client.post("/v1/group", content=raw, headers=admin)
    assert_error(response, 400, "malformed_json")
    assert (await client.get("/v1/group", headers=admin)).status_code == 200


@pytest.mark.parametrize("raw", [b"[]", b'"group"', b"42", b"null", b"true"])
async def test_app__non_object_body_is_400(
    client: httpx.AsyncClient, admin: dict[str, str], raw: bytes
) -> None:
    assert_error(await client.post("/v1/group", content=raw, headers=admin), 400, "invalid_request")


async def test_app__unknown_key_is_invalid_attribute_and_nothing_changes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/group", json={"name": "extras", "gidnumber": 5000}, headers=admin
    )
    assert_error(response, 400, "invalid_attribute")
    assert_error(await client.get("/v1/group/extras", headers=admin), 404, "not_found")


async def test_app__missing_key_is_invalid_request(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post("/v1/person", json={"name": "nodisplay"}, headers=admin)
    assert_error(response, 400, "invalid_request")


async def test_app__unexpected_exception_is_500_without_detail(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(idm, "read", boom)
    response = await client.get("/v1/group", headers=admin)
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "detail": "internal error"}


@pytest.mark.parametrize("raw", [b"", b"  \n"])
async def test_app__route_with_keys_refuses_an_empty_body(
    client: httpx.AsyncClient, admin: dict[str, str], raw: bytes
) -> None:
    assert_error(await client.post("/v1/group", content=raw, headers=admin), 400, "malformed_json")
    response = await client.request("PATCH", "/v1/group/idm_admins", content=raw, headers=admin)
    assert_error(response, 400, "malformed_json")
    # A route that takes no keys still accepts an empty body.
    assert (await client.delete("/v1/group/nosuchgroup", headers=admin)).json() == {
        "changed": False
    }
