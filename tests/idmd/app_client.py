"""Driving idmd's REST app in the tests: ``login`` (the stepped flow, password or anonymous),
``bearer`` headers, ``make_person`` through the API, ``assert_error`` for the JSON error
body, and passkeys: ``enrol_passkey`` (a credential update session over REST) and
``passkey_login`` (begin, by name or usernameless, and the passkey step). The app itself is
the ``client`` fixture of tests/idmd/conftest.py; the authenticator is
tests/idmd/soft_authenticator.py.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.idmd.soft_authenticator import SoftAuthenticator

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



async def enrol_passkey(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    person: str,
    label: str,
    authenticator: SoftAuthenticator,
) -> dict[str, Any]:
    """Enrol a passkey of ``authenticator`` for ``person`` with the bearer ``headers``
    (begin, passkey/begin, passkey/finish, commit); the commit's answer."""
    begun = await client.post(f"/v1/person/{person}/credential/update", headers=headers)
    assert begun.status_code == 200, begun.text
    session = begun.json()["session"]
    base = "/v1/credential/update"
    options = await client.post(f"{base}/passkey/begin", json={"session": session, "label": label})
    assert options.status_code == 200, options.text
    answer = authenticator.create(options.json())
    finished = await client.post(
        f"{base}/passkey/finish", json={"session": session, "passkey": answer}
    )
    assert finished.status_code == 200, finished.text
    committed = await client.post(f"{base}/commit", json={"session": session})
    assert committed.status_code == 200, committed.text
    result: dict[str, Any] = committed.json()
    return result


async def passkey_login(
    client: httpx.AsyncClient, name: str | None, authenticator: SoftAuthenticator
) -> dict[str, Any]:
    """Begin (by ``name``, or usernameless for None) and answer with the passkey; the
    step's answer (``success`` with a token, or ``denied`` with the reason)."""
    body = {} if name is None else {"name": name}
    begin = await client.post("/v1/auth/begin", json=body)
    assert begin.status_code == 200, begin.text
    answer = authenticator.get(begin.json()["passkey"])
    step = await client.post(
        "/v1/auth/step",
        json={"method": "passkey", "passkey": answer},
        headers={"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]},
    )
    assert step.status_code == 200, step.text
    result: dict[str, Any] = step.json()
    return result
