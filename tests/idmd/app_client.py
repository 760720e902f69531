"""Driving idmd's REST app in the tests: ``login`` (the stepped flow, password or anonymous),
``bearer`` headers, ``make_person`` through the API, and ``assert_error`` for the JSON error
body. The app itself is the ``client`` fixture of tests/idmd/conftest.py.
"""

from __future__ import annotations

from typing import Any

import httpx

BASE_URL = "https://idm.example.com"


async def login(
    client: httpx.AsyncClient, name: str, password: str | None, *, read_only: bool = False
) -> str:
    """A bearer token for ``name`` (``password`` None: the anonymous method)."""
    begin = await client.post("/v1/auth/begin", json={"name": name, "read_only": read_only})
    assert begin.status_code == 200, begin.text
    session = {"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]}
    body: dict[str, Any] = (
        {"method": "anonymous"}
        if password is None
        else {"method": "password", "password": password}
    )
    step = await client.post("/v1/auth/step", json=body, headers=session)
    assert step.json()["state"] == "success", step.json()
    return str(step.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_person(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, password: str | None = None
) -> dict[str, Any]:
    created = await client.post(
        "/v1/person", json={"name": name, "displayname": name.title()}, headers=admin
    )
    assert created.status_code == 200, created.text
    if password is not None:
        response = await client.put(
            f"/v1/person/{name}/password", json={"password": password}, headers=admin
        )
        assert response.status_code == 200, response.text
    entry: dict[str, Any] = created.json()["entry"]
    return entry


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == code
    assert body["detail"]

