"""People who log in to a real hermit-idmd over TLS, for the integration and attack tests: a
``Person`` with a random password (``make_person``), a TOTP and backup codes enrolled through a
credential update session (``enrol_totp``), and the stepped login flow step by step
(``login_steps``). ``AdminToken`` keeps idm_admin's token out of a failing test's output.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp

from tests.integration.idmd_server import IdmdServer


@dataclass
class Person:
    name: str
    password: str = field(repr=False)
    totp: pyotp.TOTP | None = field(default=None, repr=False)
    backup_codes: list[str] = field(default_factory=list, repr=False)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


class AdminToken(str):
    """idm_admin's bearer token; never shown in a failing test's output."""

    def __repr__(self) -> str:
        return "[secure]"


def make_person(idmd: IdmdServer, admin_token: str, prefix: str) -> Person:
    person = Person(f"{prefix}-{secrets.token_hex(4)}", "Pass-" + secrets.token_urlsafe(18))
    with idmd.client(admin_token) as client:
        ok(client.post("/v1/person", json={"name": person.name, "displayname": prefix.title()}))
        ok(client.put(f"/v1/person/{person.name}/password", json={"password": person.password}))
    return person


def enrol_totp(idmd: IdmdServer, admin_token: str, person: Person) -> None:
    """A TOTP and backup codes through a credential update session, as an admin."""
    with idmd.client(admin_token) as client:
        session = ok(client.post(f"/v1/person/{person.name}/credential/update"))["session"]
        enrol = ok(
            client.post(
                "/v1/credential/update/totp/begin",
                json={"session": session, "label": "phone", "algorithm": "sha1"},
            )
        )
        totp = pyotp.TOTP(
            enrol["secret"], digits=enrol["digits"], interval=enrol["step"],
            digest=getattr(hashlib, enrol["algorithm"]),
        )
        # The previous step's code confirms: the current one stays free for the first login.
        previous = totp.at(int(time.time()) - totp.interval)
        ok(
            client.post(
                "/v1/credential/update/totp/confirm", json={"session": session, "code": previous}
            )
        )
        codes = ok(
            client.post("/v1/credential/update/backup_codes", json={"session": session})
        )["backup_codes"]
        ok(client.post("/v1/credential/update/commit", json={"session": session}))
    person.totp = totp
    person.backup_codes = codes


def login_steps(
    client: httpx.Client, name: str, steps: list[tuple[str, str]]
) -> dict[str, Any]:
    """Begin, then the steps in order; the last answer (or the first that is not continue)."""
    begin = client.post("/v1/auth/begin", json={"name": name})
    answer: dict[str, Any] = ok(begin)
    session = {"Hermit-Auth-Session": begin.headers["hermit-auth-session"]}
    for method, value in steps:
        response = client.post(
            "/v1/auth/step", json={"method": method, method: value}, headers=session
        )
        answer = ok(response)
        if answer["state"] != "continue":
            break
    return answer

