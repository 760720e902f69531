"""What the passkey attacks of tests/security share: a person with an enrolled passkey (over
the REST app in-process), the answer an attacker sends, and a snapshot of what must not
change (the stored passkeys with their counters, the account's session records).

The authenticator is tests/idmd/soft_authenticator.py; every answer goes through
``POST /v1/auth/step`` as a browser's would.
"""

from __future__ import annotations

from typing import Any

import httpx

from idmd.idm import Idm
from tests.idmd.app_client import BASE_URL, bearer, enrol_passkey, login, make_person
from tests.idmd.soft_authenticator import SoftAuthenticator

PASSWORD = "correct horse battery staple 42"


async def person_with_passkey(
    client: httpx.AsyncClient, admin: dict[str, str], name: str = "alice", **knobs: Any
) -> tuple[str, SoftAuthenticator]:
    """A person ``name`` with one passkey "laptop" of a fresh authenticator."""
    entry = await make_person(client, admin, name, PASSWORD)
    authenticator = SoftAuthenticator(origin=BASE_URL, **knobs)
    token = await login(client, name, PASSWORD)
    await enrol_passkey(client, bearer(token), name, "laptop", authenticator)
    return str(entry["uuid"]), authenticator


async def begin(client: httpx.AsyncClient, name: str | None) -> tuple[dict[str, Any], str]:
    """Begin a login (usernameless for None): the request options and the auth session."""
    response = await client.post("/v1/auth/begin", json={} if name is None else {"name": name})
    assert response.status_code == 200, response.text
    return response.json()["passkey"], response.headers["Hermit-Auth-Session"]


async def send(client: httpx.AsyncClient, session: str, answer: object) -> httpx.Response:
    return await client.post(
        "/v1/auth/step",
        json={"method": "passkey", "passkey": answer},
        headers={"Hermit-Auth-Session": session},
    )


def snapshot(idm: Idm, uuid: str) -> tuple[frozenset[str], frozenset[str]]:
    """The account's stored passkeys (counters, last use) and session records."""
    with idm.server.read() as txn:
        entry = txn.get(uuid)
    assert entry is not None
    return entry.get("passkey"), entry.get("auth_session")
