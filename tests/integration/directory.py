"""The directory a test needs in a real hermit-idmd, made through its REST API as idm_admin:
people, groups, POSIX data, unix passwords and TOTPs, SSH keys and validity, softlocks lifted
(``Directory``, ``directory(server)``); names are unique per test (``unique``) and every entry
made is deleted afterwards. Also tokens (``anonymous_token``, a service account's
``api_token``), ``unix_read_only_for`` (who may read the unix views) and ``persons`` (the
names idmd lists).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pyotp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contrib.harness.idmd_process import IdmdProcess
from tests.integration.idmd_server import IdmdServer


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def new_password() -> str:
    return "pw-" + secrets.token_hex(12)


def ssh_public_key(comment: str) -> str:
    public = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode()} {comment}"


@dataclass
class Directory:
    """idmd's REST API as idm_admin, remembering what it made."""

    client: httpx.Client
    made: list[str] = field(default_factory=list)

    def _ok(self, response: httpx.Response) -> dict[str, object]:
        assert response.status_code == 200, f"{response.request.url}: {response.text}"
        body = response.json()
        assert isinstance(body, dict)
        return body

    def person(self, name: str, *, password: str | None = None, key: str | None = None,
               shell: str | None = None) -> dict[str, object]:
        self._ok(self.client.post("/v1/person", json={"name": name,
                                                      "displayname": name.title()}))
        self.made.append(f"/v1/person/{name}")
        posix: dict[str, object] = {"loginshell": shell} if shell else {}
        entry = self._ok(self.client.put(f"/v1/person/{name}/posix", json=posix))["entry"]
        if password is not None:
            self.set_password(name, password)
        if key is not None:
            self._ok(self.client.put(f"/v1/person/{name}/ssh_keys/laptop", json={"key": key}))
        assert isinstance(entry, dict)
        return entry

    def enrol_unix_totp(self, name: str) -> pyotp.TOTP:
        """A unix TOTP on ``name`` through a credential update session (what ``hermit person
        credential totp add --unix`` does), confirmed with the previous step's code so the
        current one is unused; the person's app."""
        begun = self._ok(self.client.post(f"/v1/person/{name}/credential/update", json={}))
        session = begun["session"]
        shown = self._ok(self.client.post("/v1/credential/update/totp/begin",
                                          json={"session": session, "label": "phone",
                                                "unix": True}))
        app = pyotp.parse_uri(str(shown["uri"]))
        assert isinstance(app, pyotp.TOTP)
        self._ok(self.client.post("/v1/credential/update/totp/confirm",
                                  json={"session": session,
                                        "code": app.at(time.time() - app.interval)}))
        self._ok(self.client.post("/v1/credential/update/commit", json={"session": session}))
        return app

    def set_password(self, name: str, password: str) -> None:
        self._ok(self.client.put(f"/v1/person/{name}/unix_password",
                                 json={"password": password}))

    def unlock(self, name: str) -> None:
        """Lift the softlocks idmd put on ``name``'s credentials after failures (what ``hermit
        person credential unlock`` does), so a test never waits one out."""
        self._ok(self.client.post(f"/v1/person/{name}/credential/unlock", json={}))

    def group(self, name: str, *members: str) -> None:
        self._ok(self.client.post("/v1/group", json={"name": name}))
        self.made.append(f"/v1/group/{name}")
        self._ok(self.client.put(f"/v1/group/{name}/posix", json={}))
        if members:
            self.add_members(name, *members)

    def add_members(self, group: str, *members: str) -> None:
        self._ok(self.client.post(f"/v1/group/{group}/members/add",
                                  json={"members": list(members)}))

    def expire(self, name: str, when: str | None) -> None:
        self._ok(self.client.patch(f"/v1/person/{name}", json={"expire_at": when}))

    def delete(self, path: str) -> None:
        self._ok(self.client.delete(path))

    def clean_up(self) -> None:
        for path in reversed(self.made):
            self.client.delete(path)


@contextmanager
def directory(server: IdmdServer, *, clean_up: bool = True) -> Iterator[Directory]:
    """``clean_up=False`` for a server of the test's own, which goes away with its data."""
    token = server.login("idm_admin", server.idm_admin_password)
    with server.client(token) as client:
        made = Directory(client)
        try:
            yield made
        finally:
            if clean_up:
                made.clean_up()


def anonymous_token(server: IdmdServer) -> str:
    with server.client() as client:
        begin = client.post("/v1/auth/begin", json={"name": "anonymous"})
        step = client.post("/v1/auth/step", json={"method": "anonymous"},
                           headers={"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]})
    token = step.json()["token"]
    assert isinstance(token, str)
    return token


def api_token(made: Directory, account: str, label: str) -> tuple[str, str]:
    """A new read-only API token of ``account``: its id and the token."""
    response = made.client.post(f"/v1/service_account/{account}/api_token",
                                json={"label": label})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["api_token"]["id"], body["token"]


def unix_read_only_for(server: IdmdServer, account: str) -> None:
    """As the system admin: ``account`` joins unix_read and anonymous leaves it."""
    with server.client(server.login("admin", server.admin_password)) as client:
        for action, member in (("add", account), ("remove", "anonymous")):
            response = client.post(f"/v1/group/unix_read/members/{action}",
                                   json={"members": [member]})
            assert response.status_code == 200, response.text


def persons(server: IdmdProcess | IdmdServer, token: str) -> set[str]:
    with httpx.Client(base_url=server.url, verify=server.ssl_context(),
                      headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        listed = client.get("/v1/person")
    assert listed.status_code == 200, listed.text
    return {person["name"] for person in listed.json()["persons"]}
