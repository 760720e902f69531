"""A fake idmd behind ``httpx.MockTransport`` for the provider and resolver tests (its own tests
are ``test_resolver_fake_idmd.py``: STYLE.md, the test helpers have their own tests).

The fake speaks the parts of docs/api.md that hermit-unixd uses: ``GET /status``, the stepped
anonymous login, the unix views and ``POST /v1/unix/auth``. Failures are injected here, at
the provider seam only: ``down`` (connection refused), ``timeout`` (httpx read timeout),
``hang`` (never answers: the caller's deadline must end it), ``status_override`` (e.g. 500).
A unix TOTP is one fixed ``code`` per account (``set_code``), checked before the password as
idmd does; ``locked`` accounts get 429 ``credential_locked`` before anything is checked. Every
user view carries ``password_version`` as idmd's does: a digest that changes with the
account's password (here a plain digest of it: the fake has no stored hash), null without one;
``versions = False`` leaves the key out, as an idmd older than password versions did.
"""

from __future__ import annotations

import hashlib
import json
import ssl
from dataclasses import dataclass, field

import httpx
import trio

from unixd.resolver.provider import IdmProvider

DOMAIN = "example.com"
URI = "https://idm.test:8443"


def uuid_for(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


@dataclass
class FakeIdmd:
    users: dict[str, dict[str, object]] = field(default_factory=dict)
    groups: dict[str, dict[str, object]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    expired: set[str] = field(default_factory=set)
    codes: dict[str, str] = field(default_factory=dict, repr=False)
    locked: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    down: bool = False
    timeout: bool = False
    hang: bool = False
    status_override: int | None = None
    logins: int = 0
    versions: bool = True

    # Building data ------------------------------------------------------------------------

    def add_user(
        self, name: str, uid: int, *, password: str | None = None, shell: str | None = None,
        keys: tuple[str, ...] = (), displayname: str | None = None,
        valid_from: str | None = None, expire_at: str | None = None,
    ) -> dict[str, object]:
        uuid = uuid_for(uid)
        user: dict[str, object] = {
            "uuid": uuid, "name": name, "spn": f"{name}@{DOMAIN}",
            "displayname": displayname or name.title(), "gidnumber": uid, "shell": shell,
            "ssh_keys": list(keys), "valid_from": valid_from, "expire_at": expire_at,
            "groups": [{"uuid": uuid, "name": name, "spn": f"{name}@{DOMAIN}", "gidnumber": uid}],
            "unix_mfa": False,
        }
        self.users[uuid] = user
        if password is not None:
            self.passwords[uuid] = password
        return user

    def add_group(self, name: str, gid: int, members: tuple[str, ...] = ()) -> dict[str, object]:
        uuid = uuid_for(gid)
        group: dict[str, object] = {
            "uuid": uuid, "name": name, "spn": f"{name}@{DOMAIN}", "gidnumber": gid,
            "members": sorted(members),
        }
        self.groups[uuid] = group
        for user in self.users.values():
            if user["name"] in members:
                refs = user["groups"]
                assert isinstance(refs, list)
                refs.append({"uuid": uuid, "name": name, "spn": f"{name}@{DOMAIN}",
                             "gidnumber": gid})
        return group

    def set_code(self, name: str, code: str) -> None:
        """Give ``name``'s unix credential a TOTP whose code is always ``code``."""
        user = self.user_named(name)
        self.codes[str(user["uuid"])] = code
        user["unix_mfa"] = True

    def user_named(self, name: str) -> dict[str, object]:
        return next(u for u in self.users.values() if u["name"] == name)

    def delete_user(self, name: str) -> None:
        del self.users[str(self.user_named(name)["uuid"])]

    def count(self, prefix: str) -> int:
        return sum(1 for line in self.requests if line.startswith(prefix))

    def view(self, user: dict[str, object]) -> dict[str, object]:
        """A user as idmd shows it: with its password_version (see the module docstring)."""
        if not self.versions:
            return user
        password = self.passwords.get(str(user["uuid"]))
        version = (None if password is None
                   else hashlib.sha256(f"fake:{password}".encode()).hexdigest()[:16])
        return {**user, "password_version": version}

    # The transport ------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        if self.hang:
            await trio.sleep_forever()
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.timeout:
            raise httpx.ReadTimeout("timed out", request=request)
        if self.status_override is not None:
            return _error(self.status_override, "internal_error")
        path = request.url.path
        if path == "/status":
            return httpx.Response(200, json={"status": "ok"})
        if path == "/v1/auth/begin":
            return httpx.Response(200, json={"state": "continue", "methods": ["anonymous"]},
                                  headers={"Hermit-Auth-Session": "sid"})
        if path == "/v1/auth/step":
            if request.headers.get("Hermit-Auth-Session") != "sid":
                return _error(400, "invalid_auth_state")
            self.logins += 1
            token = f"token-{self.logins}"
            self.tokens.add(token)
            return httpx.Response(200, json={"state": "success", "token": token})
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens:
            return _error(401, "token_revoked")
        return self._unix(request, path)

    def _unix(self, request: httpx.Request, path: str) -> httpx.Response:
        if path == "/v1/unix/user":
            users = sorted(self.users.values(), key=lambda u: str(u["name"]))
            return httpx.Response(200, json={"users": [self.view(user) for user in users]})
        if path == "/v1/unix/group":
            groups = sorted(self.groups.values(), key=lambda g: str(g["name"]))
            return httpx.Response(200, json={"groups": groups})
        if path == "/v1/unix/auth":
            body = json.loads(request.content)
            user = _find(self.users, body["name"])
            uuid = str(user["uuid"]) if user is not None else ""
            if uuid in self.locked:
                return _error(429, "credential_locked")
            if uuid in self.codes:
                if "totp" not in body:
                    return _error(403, "mfa_required")
                if body["totp"] != self.codes[uuid]:
                    return _error(401, "invalid_credentials")
            if user is None or self.passwords.get(uuid) != body["password"]:
                return _error(401, "invalid_credentials")
            if user["uuid"] in self.expired:
                return _error(403, "account_expired")
            return httpx.Response(200, json={"state": "success", "user": self.view(user)})
        for prefix, table in (("/v1/unix/user/", self.users), ("/v1/unix/group/", self.groups)):
            if path.startswith(prefix):
                found = _find(table, path.removeprefix(prefix))
                if found is None:
                    return _error(404, "not_found")
                view = self.view(found) if table is self.users else found
                return httpx.Response(200, json=view)
        return _error(404, "not_found")


def _find(table: dict[str, dict[str, object]], key: str) -> dict[str, object] | None:
    key = key.lower()
    for entry in table.values():
        if key in (entry["uuid"], entry["name"], entry["spn"], str(entry["gidnumber"])):
            return entry
    return None


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "detail": code.replace("_", " ")})


def make_provider(fake: FakeIdmd) -> IdmProvider:
    return IdmProvider(
        URI, verify=ssl.create_default_context(), connect_timeout=1.0, request_timeout=2.0,
        transport=fake.transport(),
    )
