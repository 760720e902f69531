"""The people a browser test signs in as, made through hermit-idmd's REST API.

``People`` (``people`` fixture of conftest.py) makes persons with a web password, a TOTP
enrolled through a credential update session, reset tokens, and groups carrying an account
policy (as ``admin``, the one who may set policies); everything it made is deleted afterwards.
A ``Person``'s password and TOTP app never appear in a repr or an assertion message.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def new_password() -> str:
    """Long and random, so the password policy (zxcvbn) takes it."""
    return "web-" + secrets.token_hex(12)


@dataclass
class Person:
    name: str
    password: str | None = field(default=None, repr=False)
    totp: pyotp.TOTP | None = field(default=None, repr=False)

    def code(self) -> str:
        """The current code of the person's TOTP app."""
        assert self.totp is not None, "this person has no TOTP"
        return self.totp.now()


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"{response.request.url.path}: {response.status_code}"
    body = response.json()
    assert isinstance(body, dict)
    return body


@dataclass
class People:
    """The REST API as idm_admin (people) and admin (policies), remembering what it made."""

    client: httpx.Client
    admin: httpx.Client
    made: list[str] = field(default_factory=list)

    def person(self, prefix: str = "web", *, password: bool = True) -> Person:
        name = unique(prefix)
        ok(self.client.post("/v1/person", json={"name": name, "displayname": name.title()}))
        self.made.append(f"/v1/person/{name}")
        person = Person(name)
        if password:
            person.password = new_password()
            ok(self.client.put(f"/v1/person/{name}/password",
                               json={"password": person.password}))
        return person

    def add_totp(self, person: Person) -> pyotp.TOTP:
        """A TOTP for web sign-in through an update session, confirmed with the previous
        step's code so the current one is still unused for a sign-in."""
        begun = ok(self.client.post(f"/v1/person/{person.name}/credential/update", json={}))
        session = begun["session"]
        shown = ok(self.client.post("/v1/credential/update/totp/begin",
                                    json={"session": session, "label": "phone"}))
        app = pyotp.parse_uri(str(shown["uri"]))
        assert isinstance(app, pyotp.TOTP)
        ok(self.client.post("/v1/credential/update/totp/confirm",
                            json={"session": session,
                                  "code": app.at(time.time() - app.interval)}))
        ok(self.client.post("/v1/credential/update/commit", json={"session": session}))
        person.totp = app
        return app

    def reset_token(self, person: Person) -> str:
        made = ok(self.client.post(f"/v1/person/{person.name}/credential/reset_token",
                                   json={}))
        return str(made["token"])

    def policy_group(self, *members: Person, **policy: object) -> str:
        """A group whose account policy (``privilege_lifetime=60``, ``min_credential=...``)
        applies to ``members``."""
        name = unique("webpol")
        ok(self.client.post("/v1/group", json={"name": name}))
        self.made.append(f"/v1/group/{name}")
        if members:
            ok(self.client.post(f"/v1/group/{name}/members/add",
                                json={"members": [m.name for m in members]}))
        ok(self.admin.put(f"/v1/group/{name}/policy", json=policy))
        return name

    def clean_up(self) -> None:
        for path in reversed(self.made):
            self.client.delete(path)
