"""API tokens over HTTP: create, list, destroy; using them as the bearer; every refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.idm import Idm
from idmd.idm.auth.apitokens import NO_EXPIRY, ApiTokenRecord
from idmd.idm.auth.tokens import SessionRecord
from tests.idmd.app_client import assert_error, bearer, login, make_person

SA = "/v1/service_account/robot/api_token"


@pytest.fixture
async def robot(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    body = {"name": "robot", "displayname": "Robot", "managed_by": "idm_admins"}
    created = await client.post("/v1/service_account", json=body, headers=admin)
    assert created.status_code == 200, created.text
    entry: dict[str, Any] = created.json()["entry"]
    return entry


async def _create(
    client: httpx.AsyncClient, admin: dict[str, str], label: str, **body: object
) -> dict[str, Any]:
    response = await client.post(SA, json={"label": label, **body}, headers=admin)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _system_admin(idm: Idm, client: httpx.AsyncClient) -> dict[str, str]:
    password, _ = await idm.recover_account("admin")
    password = password.reveal()
    return bearer(await login(client, "admin", password))


async def test_api_token__create_answers_the_token_once_and_list_never_shows_it(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any], clock: FakeClock
) -> None:
    created = await _create(client, admin, "CI-Deploy")
    token, record = created["token"], created["api_token"]
    assert created["changed"] is True
    assert record == {
        "id": record["id"],
        "label": "ci-deploy",
        "scope": "read_only",
        "issued_at": record["issued_at"],
        "expires_at": None,
    }
    assert record["issued_at"].endswith("Z")
    whoami = await client.get("/v1/auth/whoami", headers=bearer(token))
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["name"] == "robot"
    assert whoami.json()["session_id"] == record["id"]
    assert whoami.json()["scope"] == "read_only"
    listing = await client.get(SA, headers=admin)
    assert listing.status_code == 200
    assert listing.json() == {"api_tokens": [record]}
    assert token not in listing.text
    # The account entry never shows the record either (api_token is a secret attribute).
    account = await client.get("/v1/service_account/robot", headers=admin)
    assert record["id"] not in account.text


async def test_api_token__a_read_only_token_reads_and_never_writes(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any], idm: Idm,
    clock: FakeClock,
) -> None:
    system = await _system_admin(idm, client)
    added = await client.post(
        "/v1/group/idm_people_admins/members/add", json={"members": ["robot"]}, headers=system
    )
    assert added.status_code == 200, added.text
    read_only = bearer((await _create(client, admin, "reader"))["token"])
    read_write = bearer((await _create(client, admin, "writer", scope="read_write"))["token"])
    await make_person(client, admin, "alice")
    assert (await client.get("/v1/person/alice", headers=read_only)).status_code == 200
    refused = await client.post(
        "/v1/person", json={"name": "bob", "displayname": "Bob"}, headers=read_only
    )
    assert_error(refused, 403, "read_only_session")
    written = await client.post(
        "/v1/person", json={"name": "bob", "displayname": "Bob"}, headers=read_write
    )
    assert written.status_code == 200, written.text
    assert written.json()["changed"] is True
    # A read-write API token has no privilege window: it still writes a day later.
    clock.advance(24 * 60 * 60)
    later = await client.post(
        "/v1/person", json={"name": "carol", "displayname": "Carol"}, headers=read_write
    )
    assert later.status_code == 200, later.text


async def test_api_token__destroy_refuses_the_token_at_once_and_is_idempotent(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any]
) -> None:
    created = await _create(client, admin, "gone")
    kept = await _create(client, admin, "kept")
    token_id = created["api_token"]["id"]
    assert (await client.get("/v1/auth/whoami", headers=bearer(created["token"]))).is_success
    destroyed = await client.delete(f"{SA}/{token_id}", headers=admin)
    assert destroyed.json() == {"changed": True}
    assert_error(
        await client.get("/v1/auth/whoami", headers=bearer(created["token"])),
        401,
        "token_revoked",
    )
    assert (await client.get("/v1/auth/whoami", headers=bearer(kept["token"]))).is_success
    again = await client.delete(f"{SA}/{token_id}", headers=admin)
    assert again.status_code == 200 and again.json() == {"changed": False}
    assert [t["label"] for t in (await client.get(SA, headers=admin)).json()["api_tokens"]] == [
        "kept"
    ]
    # The label is free again once its token is gone.
    await _create(client, admin, "gone")


async def test_api_token__labels_are_checked_and_unique(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any]
) -> None:
    await _create(client, admin, "deploy")
    assert_error(await client.post(SA, json={"label": "Deploy"}, headers=admin), 409, "conflict")
    for bad in ("", "has space", "a/b", "x" * (limits.MAX_SSH_KEY_LABEL_LEN + 1), 7):
        response = await client.post(SA, json={"label": bad}, headers=admin)
        assert_error(response, 400, "invalid_value")
    assert len((await client.get(SA, headers=admin)).json()["api_tokens"]) == 1


async def test_api_token__expiry_is_exact_and_must_be_in_the_future(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any], clock: FakeClock
) -> None:
    assert_error(
        await client.post(
            SA, json={"label": "old", "expires_at": "2020-01-01T00:00:00Z"}, headers=admin
        ),
        400,
        "invalid_value",
    )
    assert_error(
        await client.post(SA, json={"label": "bad", "expires_at": "tomorrow"}, headers=admin),
        400,
        "invalid_value",
    )
    # Ten minutes: inside the admin session's privilege window, which must outlast the test.
    expires = int(clock.now()) + 600
    created = await _create(client, admin, "short", expires_at=_rfc3339(expires))
    assert created["api_token"]["expires_at"] == _rfc3339(expires)
    headers = bearer(created["token"])
    clock.advance(599)
    assert (await client.get("/v1/auth/whoami", headers=headers)).is_success
    clock.advance(1)
    assert_error(await client.get("/v1/auth/whoami", headers=headers), 401, "token_expired")
    # An expired record is removed when the next token is made, and frees its label.
    await _create(client, admin, "short")
    labels = [t["label"] for t in (await client.get(SA, headers=admin)).json()["api_tokens"]]
    assert labels == ["short"]


def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_api_token__only_service_accounts_and_only_their_managers(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any]
) -> None:
    await make_person(client, admin, "alice", password="correct horse battery")
    person = await client.post(
        "/v1/service_account/alice/api_token", json={"label": "x"}, headers=admin
    )
    assert_error(person, 400, "invalid_value")
    assert "service account" in person.json()["detail"]
    assert_error(
        await client.post("/v1/service_account/nobody/api_token", json={"label": "x"},
                          headers=admin),
        404,
        "not_found",
    )
    alice = bearer(await login(client, "alice", "correct horse battery"))
    assert_error(await client.post(SA, json={"label": "x"}, headers=alice), 403, "access_denied")
    assert_error(await client.get(SA, headers=alice), 403, "access_denied")
    made = await _create(client, admin, "mine")
    assert_error(
        await client.delete(f"{SA}/{made['api_token']['id']}", headers=alice), 403, "access_denied"
    )
    anonymous = bearer(await login(client, "anonymous", None))
    assert (await client.post(SA, json={"label": "x"}, headers=anonymous)).status_code == 403
    # A token cannot mint tokens for its own account: the account may not manage itself.
    own = bearer((await _create(client, admin, "self", scope="read_write"))["token"])
    assert_error(await client.post(SA, json={"label": "more"}, headers=own), 403, "access_denied")


async def test_api_token__a_read_only_admin_session_lists_but_cannot_create(
    client: httpx.AsyncClient, idm: Idm, robot: dict[str, Any], admin: dict[str, str]
) -> None:
    await _create(client, admin, "one")
    password, _ = await idm.recover_account("idm_admin")
    password = password.reveal()
    read_only = bearer(await login(client, "idm_admin", password, read_only=True))
    listing = await client.get(SA, headers=read_only)
    assert listing.status_code == 200, listing.text
    assert [t["label"] for t in listing.json()["api_tokens"]] == ["one"]
    assert_error(
        await client.post(SA, json={"label": "two"}, headers=read_only), 403, "read_only_session"
    )


async def test_api_token__create_and_destroy_need_the_privilege_window(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any], clock: FakeClock
) -> None:
    made = await _create(client, admin, "early")
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS)
    late = await client.post(SA, json={"label": "late"}, headers=admin)
    assert_error(late, 403, "read_only_session")
    gone = await client.delete(f"{SA}/{made['api_token']['id']}", headers=admin)
    assert_error(gone, 403, "read_only_session")
    listing = await client.get(SA, headers=admin)
    assert [t["label"] for t in listing.json()["api_tokens"]] == ["early"]
    assert (await client.get("/v1/auth/whoami", headers=bearer(made["token"]))).is_success


async def test_api_token__an_account_holds_a_bounded_number(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any]
) -> None:
    for n in range(limits.MAX_API_TOKENS_PER_ACCOUNT):
        await _create(client, admin, f"t{n}")
    assert_error(
        await client.post(SA, json={"label": "one-more"}, headers=admin), 400, "invalid_value"
    )


async def test_api_token__bad_bodies_change_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any]
) -> None:
    for body in ({}, {"label": "x", "scope": "admin"}, {"label": "x", "token": "t"},
                 {"label": "x", "expires_at": 5}):
        response = await client.post(SA, json=body, headers=admin)
        assert response.status_code == 400, response.text
    assert (await client.get(SA, headers=admin)).json() == {"api_tokens": []}


def test_api_token_record__is_a_session_record_and_round_trips() -> None:
    record = ApiTokenRecord(
        id="abc", label="ci", scope="read_write", issued_at=10, expires_at=NO_EXPIRY
    )
    assert ApiTokenRecord.decode(record.encode()) == record
    assert SessionRecord.decode(record.encode()) == record.session()
    assert record.view()["expires_at"] is None
    assert ApiTokenRecord.decode('{"id": "a", "scope": "read_only"}') is None
    no_label = SessionRecord(id="a", scope="read_only", issued_at=1, expires_at=2).encode()
    assert ApiTokenRecord.decode(no_label) is None


async def test_api_token__hosts_read_unix_views_with_a_token_once_anonymous_is_removed(
    client: httpx.AsyncClient, admin: dict[str, str], robot: dict[str, Any], idm: Idm
) -> None:
    await make_person(client, admin, "alice")
    assert (await client.put("/v1/person/alice/posix", json={}, headers=admin)).is_success
    host = bearer((await _create(client, admin, "host"))["token"])
    anonymous = bearer(await login(client, "anonymous", None))
    system = await _system_admin(idm, client)
    members = "/v1/group/unix_read/members"
    added = await client.post(f"{members}/add", json={"members": ["robot"]}, headers=system)
    assert added.status_code == 200, added.text
    removed = await client.post(f"{members}/remove", json={"members": ["anonymous"]},
                                headers=system)
    assert removed.status_code == 200, removed.text
    assert removed.json()["changed"] is True
    assert_error(await client.get("/v1/unix/user/alice", headers=anonymous), 404, "not_found")
    assert (await client.get("/v1/unix/user", headers=anonymous)).json() == {"users": []}
    assert (await client.get("/v1/unix/user/alice", headers=host)).json()["name"] == "alice"
    # And back: builtin accounts are members like any other.
    back = await client.post(f"{members}/add", json={"members": ["anonymous"]}, headers=system)
    assert back.status_code == 200 and back.json()["changed"] is True
    assert (await client.get("/v1/unix/user/alice", headers=anonymous)).is_success
