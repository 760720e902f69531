"""People and service accounts over HTTP: idempotent writes, every refusal, self-service."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.idmd.app_client import assert_error, bearer, login, make_person

PASSWORD = "correct horse battery"


def _key() -> str:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


async def _get(client: httpx.AsyncClient, admin: dict[str, str], path: str) -> Any:
    response = await client.get(path, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_person__create_get_list_shape(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/person",
        json={"name": "Alice", "displayname": "Alice Liddell", "mail": ["alice@example.com"]},
        headers=admin,
    )
    assert created.status_code == 200
    body = created.json()
    assert body["changed"] is True
    entry = body["entry"]
    assert entry == {
        "uuid": entry["uuid"],
        "name": "alice",
        "spn": "alice@example.com",
        "classes": ["account", "object", "person"],
        "displayname": "Alice Liddell",
        "mail": ["alice@example.com"],
        "memberof": [],
        "posix": None,
        "ssh_keys": [],
        "valid_from": None,
        "expire_at": None,
    }
    for ref in ("alice", "ALICE", "alice@example.com", entry["uuid"]):
        assert await _get(client, admin, f"/v1/person/{ref}") == entry
    listing = await _get(client, admin, "/v1/person")
    assert listing == {"persons": [entry]}


async def test_person__create_is_idempotent_and_conflicts_on_difference(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "alice", "displayname": "Alice"}
    assert (await client.post("/v1/person", json=body, headers=admin)).json()["changed"] is True
    again = await client.post("/v1/person", json=body, headers=admin)
    assert again.status_code == 200 and again.json()["changed"] is False
    different = await client.post(
        "/v1/person", json={"name": "alice", "displayname": "Other"}, headers=admin
    )
    assert_error(different, 409, "conflict")
    assert (await _get(client, admin, "/v1/person/alice"))["displayname"] == "Alice"


async def test_person__name_of_a_group_conflicts(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post("/v1/group", json={"name": "staff"}, headers=admin)
    response = await client.post(
        "/v1/person", json={"name": "staff", "displayname": "Staff"}, headers=admin
    )
    assert_error(response, 409, "conflict")


@pytest.mark.parametrize(
    "name",
    [
        "al:ice",
        "al/ice",
        "..",
        "a..b",
        "ali\nce",
        "a" * 65,
        "0b1e9c2e-7a4b-4c7e-9f57-3d2f1c1a8e11",
        "1234",
        "root",
        "",
    ],
)
async def test_person__invalid_name_refused_nothing_stored(
    client: httpx.AsyncClient, admin: dict[str, str], name: str
) -> None:
    response = await client.post(
        "/v1/person", json={"name": name, "displayname": "X"}, headers=admin
    )
    assert_error(response, 400, "invalid_name")
    assert (await _get(client, admin, "/v1/person")) == {"persons": []}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": 5, "displayname": "X"}, "invalid_value"),
        ({"name": "bob", "displayname": ""}, "invalid_value"),
        ({"name": "bob", "displayname": "a\x00b"}, "invalid_value"),
        ({"name": "bob", "displayname": "X", "mail": "bob@example.com"}, "invalid_value"),
        ({"name": "bob", "displayname": "X", "mail": ["not-an-address"]}, "invalid_value"),
        ({"name": "bob", "displayname": "X", "gidnumber": 5000}, "invalid_attribute"),
    ],
)
async def test_person__bad_create_body_refused(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], code: str
) -> None:
    assert_error(await client.post("/v1/person", json=body, headers=admin), 400, code)
    assert_error(await client.get("/v1/person/bob", headers=admin), 404, "not_found")


async def test_person__patch_rename_and_validity(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    patch = {
        "name": "alicia",
        "displayname": "Alicia",
        "mail": ["a@example.com"],
        "expire_at": "2030-01-01T01:00:00+01:00",
    }
    response = await client.patch("/v1/person/alice", json=patch, headers=admin)
    assert response.status_code == 200, response.text
    entry = response.json()["entry"]
    assert response.json()["changed"] is True
    assert (entry["name"], entry["spn"]) == ("alicia", "alicia@example.com")
    assert entry["expire_at"] == "2030-01-01T00:00:00Z"
    # The change is stored, not only answered.
    stored = (await client.get("/v1/person/alicia", headers=admin)).json()
    assert (stored["name"], stored["displayname"], stored["mail"], stored["expire_at"]) == (
        "alicia", "Alicia", ["a@example.com"], "2030-01-01T00:00:00Z")
    again = await client.patch("/v1/person/alicia", json=patch | {"name": "alicia"}, headers=admin)
    assert again.json()["changed"] is False
    cleared = await client.patch("/v1/person/alicia", json={"expire_at": None}, headers=admin)
    assert cleared.json()["entry"]["expire_at"] is None
    assert_error(await client.get("/v1/person/alice", headers=admin), 404, "not_found")


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"expire_at": "tomorrow"}, "invalid_value"),
        ({"expire_at": "2030-01-01"}, "invalid_value"),
        ({"valid_from": 5}, "invalid_value"),
        ({"name": "Root"}, "invalid_name"),
        ({"uuid": "x"}, "invalid_attribute"),
        ({"managed_by": "staff"}, "invalid_attribute"),
    ],
)
async def test_person__bad_patch_refused_nothing_changed(
    client: httpx.AsyncClient, admin: dict[str, str], patch: dict[str, Any], code: str
) -> None:
    before = await make_person(client, admin, "alice")
    assert_error(await client.patch("/v1/person/alice", json=patch, headers=admin), 400, code)
    assert await _get(client, admin, "/v1/person/alice") == before


async def test_person__rename_to_taken_name_conflicts(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    await make_person(client, admin, "bob")
    response = await client.patch("/v1/person/bob", json={"name": "alice"}, headers=admin)
    assert_error(response, 409, "conflict")
    assert (await _get(client, admin, "/v1/person/bob"))["name"] == "bob"


async def test_person__delete_is_idempotent(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    assert (await client.delete("/v1/person/alice", headers=admin)).json() == {"changed": True}
    assert (await client.delete("/v1/person/alice", headers=admin)).json() == {"changed": False}
    assert_error(await client.get("/v1/person/alice", headers=admin), 404, "not_found")


async def test_person__unknown_is_404_everywhere(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for method, path, body in [
        ("GET", "/v1/person/ghost", None),
        ("PATCH", "/v1/person/ghost", {"displayname": "G"}),
        ("PUT", "/v1/person/ghost/posix", {}),
        ("PUT", "/v1/person/ghost/password", {"password": PASSWORD}),
        ("GET", "/v1/person/ghost/ssh_keys", None),
        ("PUT", "/v1/person/ghost/ssh_keys/laptop", {"key": _key()}),
        ("GET", "/v1/person/12345", None),
        ("GET", "/v1/person/idm_admin", None),
    ]:
        response = await client.request(method, path, json=body, headers=admin)
        assert_error(response, 404, "not_found")


async def test_person__posix_allocates_then_idempotent(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    first = await client.put("/v1/person/alice/posix", json={}, headers=admin)
    assert first.json()["changed"] is True
    posix = first.json()["entry"]["posix"]
    assert posix["gidnumber"] >= 65536 and posix["loginshell"] is None
    again = await client.put("/v1/person/alice/posix", json={}, headers=admin)
    assert again.json() == {"changed": False, "entry": first.json()["entry"]}
    shell = await client.put(
        "/v1/person/alice/posix", json={"loginshell": "/bin/zsh", "gidnumber": 5001}, headers=admin
    )
    assert shell.json()["entry"]["posix"] == {"gidnumber": 5001, "loginshell": "/bin/zsh"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"gidnumber": 0}, "reserved_gid"),
        ({"gidnumber": 999}, "reserved_gid"),
        ({"gidnumber": 65534}, "reserved_gid"),
        ({"gidnumber": 4294967296}, "reserved_gid"),
        ({"gidnumber": "5000"}, "invalid_value"),
        ({"gidnumber": True}, "invalid_value"),
        ({"loginshell": "bin/sh"}, "invalid_value"),
        ({"loginshell": "/bin/sh:x"}, "invalid_value"),
        ({"loginshell": "/bin/sh\n"}, "invalid_value"),
    ],
)
async def test_person__bad_posix_refused_nothing_changed(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], code: str
) -> None:
    await make_person(client, admin, "alice")
    assert_error(await client.put("/v1/person/alice/posix", json=body, headers=admin), 400, code)
    assert (await _get(client, admin, "/v1/person/alice"))["posix"] is None


async def test_person__duplicate_gidnumber_conflicts(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    await make_person(client, admin, "bob")
    await client.put("/v1/person/alice/posix", json={"gidnumber": 5000}, headers=admin)
    response = await client.put("/v1/person/bob/posix", json={"gidnumber": 5000}, headers=admin)
    assert_error(response, 409, "conflict")
    assert (await _get(client, admin, "/v1/person/bob"))["posix"] is None


async def test_person__ssh_keys_put_list_replace_delete(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    key, other = _key(), _key()
    put = await client.put(
        "/v1/person/alice/ssh_keys/Laptop", json={"key": key + " alice@laptop"}, headers=admin
    )
    assert put.status_code == 200, put.text
    ssh_key = put.json()["ssh_key"]
    assert put.json()["changed"] is True
    assert ssh_key["label"] == "laptop" and ssh_key["key"] == key + " alice@laptop"
    assert ssh_key["fingerprint"].startswith("SHA256:")
    again = await client.put(
        "/v1/person/alice/ssh_keys/laptop", json={"key": key + " alice@laptop"}, headers=admin
    )
    assert again.json() == {"changed": False, "ssh_key": ssh_key}
    assert await _get(client, admin, "/v1/person/alice/ssh_keys") == {"ssh_keys": [ssh_key]}
    replaced = await client.put(
        "/v1/person/alice/ssh_keys/laptop", json={"key": other}, headers=admin
    )
    assert replaced.json()["changed"] is True
    keys = (await _get(client, admin, "/v1/person/alice"))["ssh_keys"]
    assert [k["key"] for k in keys] == [other]
    deleted = await client.delete("/v1/person/alice/ssh_keys/laptop", headers=admin)
    assert deleted.json() == {"changed": True}
    again_deleted = await client.delete("/v1/person/alice/ssh_keys/laptop", headers=admin)
    assert again_deleted.json() == {"changed": False}


@pytest.mark.parametrize(
    "key",
    [
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END",
        "garbage",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJEnHZtvakz5Ez",
        5,
    ],
)
async def test_person__bad_ssh_key_refused_nothing_stored(
    client: httpx.AsyncClient, admin: dict[str, str], key: object
) -> None:
    await make_person(client, admin, "alice")
    response = await client.put(
        "/v1/person/alice/ssh_keys/laptop", json={"key": key}, headers=admin
    )
    assert_error(response, 400, "invalid_ssh_key")
    assert (await _get(client, admin, "/v1/person/alice"))["ssh_keys"] == []


async def test_person__bad_ssh_label_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    response = await client.put(
        "/v1/person/alice/ssh_keys/" + "l" * 65, json={"key": _key()}, headers=admin
    )
    assert_error(response, 400, "invalid_value")


async def test_person__self_service_keys_and_password(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    alice = bearer(await login(client, "alice", PASSWORD))
    put = await client.put("/v1/person/alice/ssh_keys/mine", json={"key": _key()}, headers=alice)
    assert put.status_code == 200, put.text
    new = "a new long password"
    # Her own session, which made the change, is the one that stays (nothing else ended).
    assert (
        await client.put("/v1/person/alice/password", json={"password": new}, headers=alice)
    ).json() == {"changed": True, "sessions_ended": 0}
    assert (await client.get("/v1/auth/whoami", headers=alice)).status_code == 200
    assert await login(client, "alice", new)
    denied = await client.patch("/v1/person/alice", json={"displayname": "Me"}, headers=alice)
    assert_error(denied, 403, "access_denied")


async def test_person__other_users_token_cannot_write(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await make_person(client, admin, "bob")
    alice = bearer(await login(client, "alice", PASSWORD))
    for method, path, body in [
        ("PATCH", "/v1/person/bob", {"displayname": "Bobby"}),
        ("PUT", "/v1/person/bob/ssh_keys/x", {"key": _key()}),
        ("PUT", "/v1/person/bob/password", {"password": PASSWORD}),
        ("DELETE", "/v1/person/bob", None),
        ("POST", "/v1/person", {"name": "carol", "displayname": "Carol"}),
    ]:
        response = await client.request(method, path, json=body, headers=alice)
        assert_error(response, 403, "access_denied")
    bob = await _get(client, admin, "/v1/person/bob")
    assert bob["displayname"] == "Bob" and bob["ssh_keys"] == []
    assert_error(await client.get("/v1/person/carol", headers=admin), 404, "not_found")


async def test_person__read_only_token_cannot_write_even_a_noop(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    ro = bearer(await login(client, "alice", PASSWORD, read_only=True))
    key = _key()
    response = await client.put("/v1/person/alice/ssh_keys/k", json={"key": key}, headers=ro)
    assert_error(response, 403, "read_only_session")
    response = await client.put(
        "/v1/person/alice/password", json={"password": "x" * 12}, headers=ro
    )
    assert_error(response, 403, "read_only_session")
    assert (await _get(client, admin, "/v1/person/alice"))["ssh_keys"] == []
    assert await login(client, "alice", PASSWORD)


@pytest.mark.parametrize("password", ["short", 12345678, "x" * 513])
async def test_person__bad_password_refused(
    client: httpx.AsyncClient, admin: dict[str, str], password: object
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    response = await client.put(
        "/v1/person/alice/password", json={"password": password}, headers=admin
    )
    assert_error(response, 400, "invalid_value")
    assert "x" * 20 not in response.text
    assert await login(client, "alice", PASSWORD)


async def test_service_account__create_generate_password_login(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post("/v1/group", json={"name": "ops"}, headers=admin)
    body = {"name": "backup-bot", "displayname": "Backups", "managed_by": "ops"}
    created = await client.post("/v1/service_account", json=body, headers=admin)
    assert created.status_code == 200, created.text
    entry = created.json()["entry"]
    assert entry["managed_by"] == "ops@example.com"
    assert "service_account" in entry["classes"]
    again = await client.post("/v1/service_account", json=body, headers=admin)
    assert again.json()["changed"] is False
    conflict = await client.post(
        "/v1/service_account", json=body | {"displayname": "Other"}, headers=admin
    )
    assert_error(conflict, 409, "conflict")
    generated = await client.post("/v1/service_account/backup-bot/generate_password", headers=admin)
    assert generated.status_code == 200
    password = generated.json()["password"]
    assert generated.json()["changed"] is True and len(password) == 20
    token = await login(client, "backup-bot", password)
    whoami = await client.get("/v1/auth/whoami", headers=bearer(token))
    assert whoami.json()["name"] == "backup-bot"
    listing = await _get(client, admin, "/v1/service_account")
    assert [sa["name"] for sa in listing["service_accounts"]] == ["backup-bot"]
    assert_error(await client.get("/v1/person/backup-bot", headers=admin), 404, "not_found")


async def test_service_account__unknown_managing_group_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "bot", "displayname": "Bot", "managed_by": "nogroup-here"}
    assert_error(
        await client.post("/v1/service_account", json=body, headers=admin), 404, "not_found"
    )
    assert_error(await client.get("/v1/service_account/bot", headers=admin), 404, "not_found")


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("pelican vault", "at least 15 characters"),
        ("Alice pelican vault harmonica", "the account's name"),
        ("password12345678", "common passwords"),
        ("qwertyuiopasdfghjkl", "too easy to guess"),
    ],
)
async def test_person_password__policy_refusals_say_what_to_change(
    client: httpx.AsyncClient, admin: dict[str, str], password: str, says: str
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    for route in ("password", "unix_password"):
        response = await client.put(
            f"/v1/person/alice/{route}", json={"password": password}, headers=admin
        )
        assert_error(response, 400, "password_rejected")
        assert says in response.json()["detail"]
        assert password not in response.text
    assert await login(client, "alice", PASSWORD)


async def test_person_password__policy_is_judged_after_the_right_to_set_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await make_person(client, admin, "bob")
    alice = bearer(await login(client, "alice", PASSWORD))
    response = await client.put(
        "/v1/person/bob/password", json={"password": "pelican vault"}, headers=alice
    )
    assert_error(response, 403, "access_denied")


async def test_person_password__imported_hash_logs_in_and_is_upgraded(
    idm: Any, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    import base64
    import hashlib

    from idmd.idm.credentials.passwords import needs_upgrade

    await make_person(client, admin, "alice")
    salt = b"imported-salt"
    digest = hashlib.sha256(PASSWORD.encode() + salt).digest()
    stored = "{SSHA256}" + base64.b64encode(digest + salt).decode()
    response = await client.put(
        "/v1/person/alice/password", json={"password_hash": stored}, headers=admin
    )
    assert response.json() == {"changed": True, "sessions_ended": 0}
    assert await login(client, "alice", PASSWORD)
    with idm.server.read() as txn:
        entry = txn.resolve("alice")
        assert not needs_upgrade(entry.first("password"))


@pytest.mark.parametrize(
    "body",
    [
        {"password_hash": "{SSHA}bm90LWEtaGFzaA"},
        {"password_hash": "$1$saltsalt$0123456789abcdefghijkl"},
        {"password_hash": 42},
        {"password": PASSWORD, "password_hash": "{SSHA}"},
        {},
    ],
)
async def test_person_password__malformed_import_refused(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, object]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    response = await client.put("/v1/person/alice/password", json=body, headers=admin)
    assert_error(response, 400, "invalid_value")
    assert await login(client, "alice", PASSWORD)
