"""The cast of the idmd_priv attacks: people, groups and service accounts on the shared
hermit-idmd over TLS, made by its admins and removed after each test.

What it does not do: attack. The tests (``test_idmd_priv_*.py``) play the intruder; this
module only sets the stage as a site would: idm_admin creates the entries and gives them
their first passwords, admin (system_admins) puts them into the builtin groups, which only
system_admins may change. Everything it made is removed at the end of the test (the server
is shared by the whole directory), memberships first.

Secrets (passwords, tokens) are held in fields that never reach a repr, so a failing
assertion cannot print one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.integration.idmd_server import IdmdServer

# The builtin groups: their members are changed by system_admins only (builtin protection).
BUILTIN_GROUPS = frozenset({
    "system_admins", "idm_admins", "idm_people_admins", "idm_group_admins",
    "idm_unix_admins", "idm_service_account_admins", "unix_read",
})


def fresh_password() -> str:
    """A password the policy accepts (long, random, on no badlist)."""
    return "Pass-" + secrets.token_urlsafe(18)


def _error_of(response: httpx.Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def ok(response: httpx.Response) -> Any:
    """The JSON of a 200 answer; a failure shows the status and error code only."""
    assert response.status_code == 200, (response.status_code, _error_of(response))
    return response.json()


def refused(response: httpx.Response, status: int = 403, code: str = "access_denied") -> None:
    """Assert a refusal, showing only the status and the error code (a body that was not a
    refusal may hold a session id or a token)."""
    got = (response.status_code, _error_of(response))
    assert got == (status, code), f"expected {status} {code}, got {got}"


class Token(str):
    """A bearer token; never shown in a failing test's output."""

    def __repr__(self) -> str:
        return "[token]"


@dataclass
class Account:
    name: str
    password: str = field(repr=False)


@dataclass
class Crew:
    """What one test made on the server, and the admins' tokens it made it with."""

    idmd: IdmdServer
    idm_admin: Token = field(repr=False)
    admin: Token = field(repr=False)
    entries: list[tuple[str, str]] = field(default_factory=list)
    memberships: list[tuple[str, str]] = field(default_factory=list)

    def client(self, token: str | None = None) -> httpx.Client:
        return self.idmd.client(token)

    def login(self, account: Account) -> Token:
        return Token(self.idmd.login(account.name, account.password))

    def person(self, prefix: str, *, posix: bool = False, groups: tuple[str, ...] = ()) -> Account:
        """A person with a password (and a POSIX identity), then put into ``groups``."""
        account = Account(f"{prefix}{secrets.token_hex(4)}", fresh_password())
        with self.client(self.idm_admin) as c:
            ok(c.post("/v1/person", json={"name": account.name, "displayname": prefix}))
            self.entries.append(("person", account.name))
            ok(c.put(f"/v1/person/{account.name}/password", json={"password": account.password}))
            if posix:
                ok(c.put(f"/v1/person/{account.name}/posix", json={}))
        for group in groups:
            self.join(group, account.name)
        return account

    def service_account(self, prefix: str, *, groups: tuple[str, ...] = ()) -> str:
        """A service account managed by idm_admins, then put into ``groups``."""
        name = f"{prefix}{secrets.token_hex(4)}"
        with self.client(self.idm_admin) as c:
            ok(c.post("/v1/service_account", json={
                "name": name, "displayname": prefix, "managed_by": "idm_admins"}))
        self.entries.append(("service_account", name))
        for group in groups:
            self.join(group, name)
        return name

    def group(self, prefix: str, *, posix: bool = False) -> str:
        name = f"{prefix}{secrets.token_hex(4)}"
        with self.client(self.idm_admin) as c:
            ok(c.post("/v1/group", json={"name": name}))
            self.entries.append(("group", name))
            if posix:
                ok(c.put(f"/v1/group/{name}/posix", json={}))
        return name

    def join(self, group: str, member: str, *, by: str | None = None) -> None:
        """``member`` into ``group``: a builtin group by admin, another by idm_admin, unless
        ``by`` (a token) says who."""
        token = by or (self.admin if group in BUILTIN_GROUPS else self.idm_admin)
        with self.client(token) as c:
            ok(c.post(f"/v1/group/{group}/members/add", json={"members": [member]}))
        self.memberships.append((group, member))

    def close(self) -> None:
        # Builtin groups first (admin may change those), then deleting the entries removes
        # every other membership with them.
        with self.client(self.admin) as c:
            for group, member in reversed(self.memberships):
                if group in BUILTIN_GROUPS:
                    c.post(f"/v1/group/{group}/members/remove", json={"members": [member]})
        with self.client(self.idm_admin) as c:
            for kind, name in reversed(self.entries):
                c.delete(f"/v1/{kind}/{name}")


@pytest.fixture
def crew(idmd: IdmdServer) -> Iterator[Crew]:
    made = Crew(
        idmd,
        idm_admin=Token(idmd.login("idm_admin", idmd.idm_admin_password)),
        admin=Token(idmd.login("admin", idmd.admin_password)),
    )
    try:
        yield made
    finally:
        made.close()
