"""Groups over HTTP: idempotent create/patch/delete, members (nested), POSIX, refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from idmd import limits
from tests.idmd.app_client import assert_error, bearer, login, make_person


async def _group(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> Any:
    response = await client.get(f"/v1/group/{name}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_group__create_shape_and_idempotency(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "Staff", "description": "Everyone"}
    created = await client.post("/v1/group", json=body, headers=admin)
    assert created.json()["changed"] is True
    entry = created.json()["entry"]
    assert entry == {
        "uuid": entry["uuid"],
        "name": "staff",
        "spn": "staff@example.com",
        "classes": ["group", "object"],
        "description": "Everyone",
        "members": [],
        "memberof": [],
        "posix": None,
        "policy": None,
    }
    again = await client.post("/v1/group", json=body, headers=admin)
    assert again.json() == {"changed": False, "entry": entry}
    conflict = await client.post(
        "/v1/group", json={"name": "staff", "description": "Other"}, headers=admin
    )
    assert_error(conflict, 409, "conflict")
    assert (await _group(client, admin, "staff"))["description"] == "Everyone"


@pytest.mark.parametrize("name", ["st:aff", "st/aff", "..", "a" * 65, "root", "42", "staff\n"])
async def test_group__invalid_name_refused(
    client: httpx.AsyncClient, admin: dict[str, str], name: str
) -> None:
    assert_error(
        await client.post("/v1/group", json={"name": name}, headers=admin), 400, "invalid_name"
    )
    listing = await client.get("/v1/group", headers=admin)
    assert all(g["name"] != name for g in listing.json()["groups"])


async def test_group__patch_and_delete(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    patched = await client.patch(
        "/v1/group/staff", json={"name": "team", "description": "The team"}, headers=admin
    )
    assert patched.json()["changed"] is True
    assert patched.json()["entry"]["name"] == "team"
    # The change is stored, not only answered.
    stored = (await client.get("/v1/group/team", headers=admin)).json()
    assert (stored["name"], stored["description"]) == ("team", "The team")
    same = await client.patch("/v1/group/team", json={"description": "The team"}, headers=admin)
    assert same.json()["changed"] is False
    cleared = await client.patch("/v1/group/team", json={"description": None}, headers=admin)
    assert cleared.json()["entry"]["description"] is None
    assert (await client.delete("/v1/group/team", headers=admin)).json() == {"changed": True}
    assert (await client.delete("/v1/group/team", headers=admin)).json() == {"changed": False}


async def test_group__members_nested_and_idempotent(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    for name in ("staff", "devs"):
        await client.post("/v1/group", json={"name": name}, headers=admin)
    add = await client.post(
        "/v1/group/devs/members/add", json={"members": ["alice"]}, headers=admin
    )
    assert add.json()["changed"] is True
    assert add.json()["entry"]["members"] == ["alice@example.com"]
    again = await client.post(
        "/v1/group/devs/members/add", json={"members": ["ALICE"]}, headers=admin
    )
    assert again.json()["changed"] is False
    await client.post("/v1/group/staff/members/add", json={"members": ["devs"]}, headers=admin)
    person = (await client.get("/v1/person/alice", headers=admin)).json()
    assert person["memberof"] == ["devs@example.com", "staff@example.com"]
    assert (await _group(client, admin, "devs"))["memberof"] == ["staff@example.com"]
    # A cycle is allowed.
    cycle = await client.post(
        "/v1/group/devs/members/add", json={"members": ["staff"]}, headers=admin
    )
    assert cycle.status_code == 200
    removed = await client.post(
        "/v1/group/devs/members/remove", json={"members": ["alice@example.com"]}, headers=admin
    )
    assert removed.json()["changed"] is True
    assert removed.json()["entry"]["members"] == ["staff@example.com"]


async def test_group__unknown_member_is_404_nothing_added(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    response = await client.post(
        "/v1/group/staff/members/add", json={"members": ["alice", "ghost"]}, headers=admin
    )
    assert_error(response, 404, "not_found")
    assert "ghost" in response.json()["detail"]
    assert (await _group(client, admin, "staff"))["members"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"members": "alice"}, "invalid_value"),
        ({"members": [1]}, "invalid_value"),
        ({"members": ["alice"] * (limits.MAX_MEMBERS_PER_REQUEST + 1)}, "invalid_value"),
        ({}, "invalid_request"),
        ({"members": [], "extra": True}, "invalid_attribute"),
    ],
)
async def test_group__bad_members_body_refused(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], code: str
) -> None:
    await make_person(client, admin, "alice")
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    response = await client.post("/v1/group/staff/members/add", json=body, headers=admin)
    assert_error(response, 400, code)
    assert (await _group(client, admin, "staff"))["members"] == []


async def test_group__posix_and_gid_rules(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for name in ("staff", "devs"):
        await client.post("/v1/group", json={"name": name}, headers=admin)
    made = await client.put("/v1/group/staff/posix", json={"gidnumber": 5000}, headers=admin)
    assert made.json()["changed"] is True
    assert made.json()["entry"]["posix"] == {"gidnumber": 5000}
    same = await client.put("/v1/group/staff/posix", json={"gidnumber": 5000}, headers=admin)
    assert same.json()["changed"] is False
    assert_error(
        await client.put("/v1/group/devs/posix", json={"gidnumber": 5000}, headers=admin),
        409,
        "conflict",
    )
    assert_error(
        await client.put("/v1/group/devs/posix", json={"gidnumber": 100}, headers=admin),
        400,
        "reserved_gid",
    )
    assert (await _group(client, admin, "devs"))["posix"] is None
    allocated = await client.put("/v1/group/devs/posix", json={}, headers=admin)
    assert allocated.json()["entry"]["posix"]["gidnumber"] >= 65536


async def test_group__builtin_cannot_be_deleted_or_renamed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert_error(await client.delete("/v1/group/idm_admins", headers=admin), 403, "access_denied")
    response = await client.patch("/v1/group/idm_admins", json={"name": "mine"}, headers=admin)
    assert_error(response, 403, "access_denied")
    assert (await _group(client, admin, "idm_admins"))["name"] == "idm_admins"


async def test_group__person_cannot_manage_groups(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", "correct horse battery")
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    alice = bearer(await login(client, "alice", "correct horse battery"))
    for method, path, body in [
        ("POST", "/v1/group", {"name": "mine"}),
        ("POST", "/v1/group/staff/members/add", {"members": ["alice"]}),
        ("POST", "/v1/group/idm_admins/members/add", {"members": ["alice"]}),
        ("DELETE", "/v1/group/staff", None),
    ]:
        response = await client.request(method, path, json=body, headers=alice)
        assert_error(response, 403, "access_denied")
    assert (await _group(client, admin, "staff"))["members"] == []
    assert "alice@example.com" not in (await _group(client, admin, "idm_admins"))["members"]


@pytest.fixture
async def system_admin(idm: Any, client: httpx.AsyncClient) -> dict[str, str]:
    password, _ = await idm.recover_account("admin")
    password = password.reveal()
    return bearer(await login(client, "admin", password))


async def test_group_policy__set_shown_and_cleared(
    client: httpx.AsyncClient, admin: dict[str, str], system_admin: dict[str, str]
) -> None:
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    body = {"min_credential": "mfa", "session_lifetime": 3600, "password_min_length": 20}
    put = await client.put("/v1/group/staff/policy", json=body, headers=system_admin)
    assert put.status_code == 200, put.text
    assert put.json()["changed"] is True
    assert put.json()["entry"]["policy"] == {
        "min_credential": "mfa",
        "session_lifetime": 3600,
        "privilege_lifetime": None,
        "password_min_length": 20,
    }
    again = await client.put("/v1/group/staff/policy", json=body, headers=system_admin)
    assert again.json()["changed"] is False
    cleared = await client.put(
        "/v1/group/staff/policy",
        json={"min_credential": None, "session_lifetime": None},
        headers=system_admin,
    )
    assert cleared.json()["entry"]["policy"]["password_min_length"] == 20
    assert cleared.json()["entry"]["policy"]["min_credential"] is None
    await client.put(
        "/v1/group/staff/policy", json={"password_min_length": None}, headers=system_admin
    )
    assert (await _group(client, system_admin, "staff"))["policy"] is None


async def test_group_policy__only_system_admins_may_set_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    put = await client.put("/v1/group/staff/policy", json={"min_credential": "mfa"}, headers=admin)
    assert_error(put, 403, "access_denied")


@pytest.mark.parametrize(
    "body",
    [
        {"min_credential": "otp"},
        {"session_lifetime": limits.MIN_POLICY_LIFETIME_SECONDS - 1},
        {"privilege_lifetime": limits.MAX_PRIVILEGE_LIFETIME_SECONDS + 1},
        {"password_min_length": limits.ABSOLUTE_MIN_PASSWORD_CHARS - 1},
        {"password_min_length": True},
        {"password_min_length": "12"},
    ],
)
async def test_group_policy__invalid_settings_refused(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    system_admin: dict[str, str],
    body: dict[str, object],
) -> None:
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    put = await client.put("/v1/group/staff/policy", json=body, headers=system_admin)
    assert_error(put, 400, "invalid_value")
    assert (await _group(client, system_admin, "staff"))["policy"] is None
    unknown = {"lockout": 3}
    put = await client.put("/v1/group/staff/policy", json=unknown, headers=system_admin)
    assert_error(put, 400, "invalid_attribute")


async def test_group_policy__password_length_applies_to_members(
    client: httpx.AsyncClient, admin: dict[str, str], system_admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    await client.post("/v1/group/staff/members/add", json={"members": ["alice"]}, headers=admin)
    await client.put(
        "/v1/group/staff/policy", json={"password_min_length": 30}, headers=system_admin
    )
    put = await client.put(
        "/v1/person/alice/password", json={"password": "pelican vault harmonica"}, headers=admin
    )
    assert_error(put, 400, "password_rejected")
    assert "30 characters" in put.json()["detail"]
