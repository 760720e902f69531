"""Issue 9, finding 3: ``POST /v1/unix/auth`` must not be a password oracle for a caller that
may not read the account.

The intruder is a party on the network with an anonymous token (every host holds one), on a
site that took ``anonymous`` out of ``unix_read`` and gave its hosts a service account's
API token instead. It sends the right and a wrong password of a POSIX person, and wrong ones
in a row to drive the person's unix password into its softlock. Each answer must be the one
a wrong password gets (same status, same body), nothing may be counted against the person,
and the host's reader must go on checking passwords as before.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hermit_common.clock import FakeClock
from idmd.idm import Idm
from tests.idmd.app_client import assert_error, bearer, login, make_person
from tests.integration.directory import (
    Directory,
    anonymous_token,
    api_token,
    directory,
    unique,
    unix_read_only_for,
)
from tests.integration.idmd_server import IdmdServer, own_idmd, scratch_dir

WRONG = {"error": "invalid_credentials", "detail": "wrong name or password"}


@dataclass
class Site:
    """A server of its own where only ``reader`` (a host's API token) is in unix_read."""

    server: IdmdServer
    made: Directory
    anonymous: httpx.Client
    reader: httpx.Client


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with scratch_dir("hermit-idmd-") as workdir, own_idmd(Path(workdir)) as server, \
            directory(server, clean_up=False) as made:
        robot = unique("host")
        created = made.client.post("/v1/service_account", json={
            "name": robot, "displayname": "Host reader", "managed_by": "idm_admins"})
        assert created.status_code == 200, created.text
        _, token = api_token(made, robot, "host-1")
        unix_read_only_for(server, robot)
        with server.client(anonymous_token(server)) as anonymous, \
                server.client(token) as reader:
            yield Site(server, made, anonymous, reader)


def _auth(client: httpx.Client, name: str, password: str,
          code: str | None = None) -> tuple[int, Any]:
    body = {"name": name, "password": password} | ({"totp": code} if code else {})
    response = client.post("/v1/unix/auth", json=body)
    return response.status_code, response.json()


def _person(site: Site) -> tuple[str, str]:
    name, password = unique("v"), "unix-" + secrets.token_urlsafe(18)
    site.made.person(name, password=password)
    return name, password


def test_unix_auth_oracle__anonymous_without_unix_read_learns_nothing(site: Site) -> None:
    (victim, password), (other, other_password) = _person(site), _person(site)
    # The site's choice holds for reads: anonymous sees no unix user.
    assert site.anonymous.get(f"/v1/unix/user/{victim}").status_code == 404

    # The right password of one person, a wrong one of another, any password of a name that
    # exists nowhere, and the right one under the person's spn: all one answer.
    ghost = unique("ghost")
    right = _auth(site.anonymous, victim, password)
    wrong = _auth(site.anonymous, other, "not-" + other_password)
    unknown = _auth(site.anonymous, ghost, password)
    spn = _auth(site.anonymous, f"{victim}@example.com", password)
    assert right == wrong == unknown == spn == (401, WRONG)
    # Again at once: each name now waits like a name that exists nowhere, right password or not.
    again = [_auth(site.anonymous, name, password) for name in (victim, ghost)]
    assert again[0] == again[1]
    assert again[0][0] == 429 and again[0][1]["error"] == "credential_locked"

    # Nothing was counted against the people: the host's reader checks the right passwords at
    # once (a counted failure would make it wait, 429), then a wrong one is refused.
    for name, secret in ((victim, password), (other, other_password)):
        checked = _auth(site.reader, name, secret)
        assert checked[0] == 200, checked
        assert checked[1]["state"] == "success" and checked[1]["user"]["name"] == name
    assert _auth(site.reader, victim, "not-" + password) == (401, WRONG)
    # And the service still serves everyone else.
    third, third_password = _person(site)
    assert _auth(site.reader, third, third_password)[0] == 200


def test_unix_auth_oracle__anonymous_cannot_lock_the_person(site: Site) -> None:
    victim, password = _person(site)
    answers = [_auth(site.anonymous, victim, f"guess-{n}") for n in range(6)]
    # Like guesses at an unknown name: a wrong password, then the wait of that name.
    assert answers[0] == (401, WRONG)
    assert {status for status, _ in answers[1:]} <= {401, 429}
    assert _auth(site.reader, victim, password)[0] == 200


def test_unix_auth_oracle__a_unix_totp_is_not_revealed_or_spent(site: Site) -> None:
    victim, password = _person(site)
    app = site.made.enrol_unix_totp(victim)
    ghost = unique("ghost")
    # No "mfa_required" that would tell the account exists and has a code.
    assert _auth(site.anonymous, victim, password) == (401, WRONG)
    assert _auth(site.anonymous, ghost, password) == (401, WRONG)
    code = app.now()
    assert _auth(site.anonymous, victim, password, code) == _auth(
        site.anonymous, ghost, password, code)
    # The code was not spent by the intruder: the host's login with it goes through.
    checked = _auth(site.reader, victim, password, code)
    assert checked[0] == 200, checked


# -- in-process: the refusal costs the same Argon2id run as a wrong password ------------------


async def test_unix_auth_oracle__an_unreadable_account_costs_a_dummy_hash_check(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_person(client, admin, "alice")
    await client.put("/v1/person/alice/posix", json={}, headers=admin)
    await client.put("/v1/person/alice/unix_password", json={"password": "unix password 1"},
                     headers=admin)
    admin_password, _ = await idm.recover_account("admin")
    admin_password = admin_password.reveal()
    removed = await client.post("/v1/group/unix_read/members/remove",
                                json={"members": ["anonymous"]},
                                headers=bearer(await login(client, "admin", admin_password)))
    assert removed.status_code == 200, removed.text
    anon = bearer(await login(client, "anonymous", None))
    checked: list[bool] = []
    verify = idm.hasher.verify

    async def counting_verify(password: str, phc: str | None) -> bool:
        checked.append(phc is None)
        return await verify(password, phc)

    monkeypatch.setattr(idm.hasher, "verify", counting_verify)
    for password in ("unix password 1", "wrong password"):
        response = await client.post("/v1/unix/auth", json={"name": "alice",
                                                            "password": password}, headers=anon)
        assert_error(response, 401, "invalid_credentials")
        assert response.json() == WRONG
        clock.advance(60)  # past any wait, so each attempt is checked
    # One Argon2id run each, against the dummy hash: never the account's own.
    assert checked == [True, True]
    uuid = (await client.get("/v1/person/alice", headers=admin)).json()["uuid"]
    assert idm.softlocks.failures(uuid, "unix_password") == 0
