"""The unix views over HTTP, as hermit-unixd reads them with an anonymous token."""

from __future__ import annotations

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from idmd.clock import FakeClock
from tests.idmd import test_https_app as fixtures
from tests.idmd.test_https_app import assert_error, bearer, login, make_person

idm, client, admin = fixtures.idm, fixtures.client, fixtures.admin

UNIX_PASSWORD = "unix password 1"


async def _setup(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    """alice (POSIX, in devs ⊂ staff), bob (not POSIX), staff/devs POSIX, misc not POSIX."""
    await make_person(client, admin, "alice")
    await make_person(client, admin, "bob")
    await client.put(
        "/v1/person/alice/posix", json={"gidnumber": 10001, "loginshell": "/bin/zsh"}, headers=admin
    )
    for name, gid in (("staff", 20001), ("devs", 20002)):
        await client.post("/v1/group", json={"name": name}, headers=admin)
        await client.put(f"/v1/group/{name}/posix", json={"gidnumber": gid}, headers=admin)
    await client.post("/v1/group", json={"name": "misc"}, headers=admin)
    await client.post(
        "/v1/group/devs/members/add", json={"members": ["alice", "bob"]}, headers=admin
    )
    await client.post("/v1/group/staff/members/add", json={"members": ["devs"]}, headers=admin)
    await client.post("/v1/group/misc/members/add", json={"members": ["alice"]}, headers=admin)
    key = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    await client.put("/v1/person/alice/ssh_keys/laptop", json={"key": key}, headers=admin)
    await client.put(
        "/v1/person/alice/unix_password", json={"password": UNIX_PASSWORD}, headers=admin
    )
    return bearer(await login(client, "anonymous", None)) | {"X-Key": key}


async def test_unix_user__view_with_private_group_first_and_nested_groups(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    anon = await _setup(client, admin)
    key = anon.pop("X-Key")
    response = await client.get("/v1/unix/user/alice", headers=anon)
    assert response.status_code == 200, response.text
    user = response.json()
    assert user == {
        "uuid": user["uuid"],
        "name": "alice",
        "spn": "alice@example.com",
        "displayname": "Alice",
        "gidnumber": 10001,
        "shell": "/bin/zsh",
        "ssh_keys": [key],
        "valid_from": None,
        "expire_at": None,
        "groups": [
            {"uuid": user["uuid"], "name": "alice", "spn": "alice@example.com", "gidnumber": 10001},
            {
                "uuid": user["groups"][1]["uuid"],
                "name": "devs",
                "spn": "devs@example.com",
                "gidnumber": 20002,
            },
            {
                "uuid": user["groups"][2]["uuid"],
                "name": "staff",
                "spn": "staff@example.com",
                "gidnumber": 20001,
            },
        ],
    }
    for ref in ("10001", "alice@example.com", user["uuid"]):
        assert (await client.get(f"/v1/unix/user/{ref}", headers=anon)).json() == user
    listing = (await client.get("/v1/unix/user", headers=anon)).json()
    assert listing == {"users": [user]}


async def test_unix_user__non_posix_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    for ref in ("bob", "staff", "20001", "99999", "idm_admin"):
        assert_error(await client.get(f"/v1/unix/user/{ref}", headers=anon), 404, "not_found")


async def test_unix_group__nested_posix_members(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    staff = (await client.get("/v1/unix/group/staff", headers=anon)).json()
    assert staff == {
        "uuid": staff["uuid"],
        "name": "staff",
        "spn": "staff@example.com",
        "gidnumber": 20001,
        "members": ["alice"],
    }
    assert (await client.get("/v1/unix/group/20001", headers=anon)).json() == staff
    groups = (await client.get("/v1/unix/group", headers=anon)).json()["groups"]
    assert [g["name"] for g in groups] == ["devs", "staff"]
    assert_error(await client.get("/v1/unix/group/misc", headers=anon), 404, "not_found")


async def test_unix__anonymous_cannot_read_non_posix_people(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    assert_error(await client.get("/v1/person/bob", headers=anon), 404, "not_found")
    alice = (await client.get("/v1/person/alice", headers=anon)).json()
    assert alice["mail"] == [] and alice["name"] == "alice"


async def test_unix_auth__right_wrong_and_expired(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    ok = await client.post(
        "/v1/unix/auth", json={"name": "alice", "password": UNIX_PASSWORD}, headers=anon
    )
    assert ok.status_code == 200
    assert ok.json()["state"] == "success" and ok.json()["user"]["name"] == "alice"
    for name, password in (("alice", "wrong"), ("bob", UNIX_PASSWORD), ("ghost", "x")):
        response = await client.post(
            "/v1/unix/auth", json={"name": name, "password": password}, headers=anon
        )
        assert_error(response, 401, "invalid_credentials")
    await client.patch(
        "/v1/person/alice", json={"expire_at": "2020-01-01T00:00:00Z"}, headers=admin
    )
    expired = await client.post(
        "/v1/unix/auth", json={"name": "alice", "password": UNIX_PASSWORD}, headers=anon
    )
    assert_error(expired, 403, "account_expired")


async def test_unix__needs_a_token(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/unix/user"), 401, "unauthenticated")
