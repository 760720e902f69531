"""The unix views over HTTP, as hermit-unixd reads them with an anonymous token."""

from __future__ import annotations

import re

import httpx
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.idm import Idm
from idmd.idm.credentials.passwords import needs_upgrade
from idmd.idm.credentials.totp import TotpRecord, new_record
from idmd.server.identity import INTERNAL
from idmd.server.mods import Add, Set
from tests.idmd.app_client import assert_error, bearer, login, make_person

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
        "unix_mfa": False,
        "password_version": user["password_version"],
    }
    assert re.fullmatch(r"[0-9a-f]{16}", user["password_version"])
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
    clock.advance(1)  # past the softlock delay of the wrong password
    expired = await client.post(
        "/v1/unix/auth", json={"name": "alice", "password": UNIX_PASSWORD}, headers=anon
    )
    assert_error(expired, 403, "account_expired")


async def test_unix__needs_a_token(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/unix/user"), 401, "unauthenticated")


# Unix password + TOTP -----------------------------------------------------------------------

STEP = limits.TOTP_STEP_SECONDS


def _enrol_unix_totp(idm: Idm, name: str) -> TotpRecord:
    """A unix TOTP on ``name``, written as the server (what a credential update commits)."""
    record = new_record("phone")
    with idm.server.write() as txn:
        entry = txn.resolve(name)
        assert entry is not None
        txn.modify(INTERNAL, entry.uuid, [Add("unix_totp", record.encode())])
    return record


def _uuid(idm: Idm, name: str) -> str:
    with idm.server.read() as txn:
        entry = txn.resolve(name)
        assert entry is not None
        return entry.uuid


async def _auth(
    client: httpx.AsyncClient, anon: dict[str, str], password: str, totp: str | None = None
) -> httpx.Response:
    body = {"name": "alice", "password": password}
    if totp is not None:
        body["totp"] = totp
    return await client.post("/v1/unix/auth", json=body, headers=anon)


async def test_unix_auth__totp_account_needs_code_then_both_right(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    record = _enrol_unix_totp(idm, "alice")
    assert_error(await _auth(client, anon, UNIX_PASSWORD), 403, "mfa_required")
    code = record.code_at(record.counter_at(clock.now())).reveal()
    ok = await _auth(client, anon, UNIX_PASSWORD, code)
    assert ok.status_code == 200, ok.text
    assert ok.json()["user"]["unix_mfa"] is True
    assert (await client.get("/v1/unix/user/alice", headers=anon)).json()["unix_mfa"] is True
    listing = (await client.get("/v1/unix/user", headers=anon)).json()["users"]
    assert [user["unix_mfa"] for user in listing] == [True]


async def test_unix_auth__wrong_code_fails_without_trying_the_password(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    record = _enrol_unix_totp(idm, "alice")
    wrong = str((int(record.code_at(record.counter_at(clock.now())).reveal()) + 1) % 10**6).zfill(6)
    assert_error(await _auth(client, anon, "wrong password", wrong), 401, "invalid_credentials")
    uuid = _uuid(idm, "alice")
    assert idm.softlocks.failures(uuid, "unix_totp") == 1
    assert idm.softlocks.failures(uuid, "unix_password") == 0
    # The wrong code waits for the next step: even the right pair is refused until then.
    code = record.code_at(record.counter_at(clock.now())).reveal()
    locked = await _auth(client, anon, UNIX_PASSWORD, code)
    assert_error(locked, 429, "credential_locked")
    assert int(locked.headers["Retry-After"]) <= STEP
    clock.advance(STEP - clock.now() % STEP)
    code = record.code_at(record.counter_at(clock.now())).reveal()
    assert (await _auth(client, anon, UNIX_PASSWORD, code)).status_code == 200


async def test_unix_auth__a_code_is_never_accepted_twice(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    record = _enrol_unix_totp(idm, "alice")
    code = record.code_at(record.counter_at(clock.now())).reveal()
    assert (await _auth(client, anon, UNIX_PASSWORD, code)).status_code == 200
    assert_error(await _auth(client, anon, UNIX_PASSWORD, code), 401, "invalid_credentials")


async def test_unix_auth__a_code_is_spent_even_when_the_password_is_wrong(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    record = _enrol_unix_totp(idm, "alice")
    clock.advance(STEP - clock.now() % STEP)  # the start of a step
    code = record.code_at(record.counter_at(clock.now())).reveal()
    assert_error(await _auth(client, anon, "wrong password", code), 401, "invalid_credentials")
    clock.advance(2)  # past the password's first delay (1 s), inside the same step
    replay = await _auth(client, anon, UNIX_PASSWORD, code)
    assert_error(replay, 401, "invalid_credentials")


async def test_unix_auth__a_code_for_an_account_without_totp_is_ignored(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    assert (await _auth(client, anon, UNIX_PASSWORD, "123456")).status_code == 200
    too_long = await _auth(client, anon, UNIX_PASSWORD, "1" * 17)
    assert_error(too_long, 400, "invalid_value")


async def test_unix_auth__failures_softlock_the_unix_password_only(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    assert_error(await _auth(client, anon, "wrong"), 401, "invalid_credentials")
    locked = await _auth(client, anon, UNIX_PASSWORD)
    assert_error(locked, 429, "credential_locked")
    assert locked.headers["Retry-After"] == "1"
    # The primary password is another credential: its login is not slowed.
    await client.put("/v1/person/alice/password", json={"password": "primary heron quartz 1"},
                     headers=admin)
    assert await login(client, "alice", "primary heron quartz 1")
    clock.advance(1)
    assert (await _auth(client, anon, UNIX_PASSWORD)).status_code == 200
    assert idm.softlocks.failures(_uuid(idm, "alice"), "unix_password") == 0


async def test_unix_auth__unknown_names_are_softlocked_like_real_ones(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    body = {"name": "ghost", "password": "x"}
    assert_error(await client.post("/v1/unix/auth", json=body, headers=anon),
                 401, "invalid_credentials")
    assert_error(await client.post("/v1/unix/auth", json=body, headers=anon),
                 429, "credential_locked")


async def test_unix_auth__an_older_hash_is_upgraded_after_a_right_password(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    weak = Argon2id(salt=b"0123456789abcdef", length=32, iterations=1, lanes=1,
                    memory_cost=8 * 1024).derive_phc_encoded(UNIX_PASSWORD.encode())
    assert needs_upgrade(weak)
    uuid = _uuid(idm, "alice")
    with idm.server.write() as txn:
        txn.modify(INTERNAL, uuid, [Set("unix_password", frozenset({weak}))])
    assert (await _auth(client, anon, UNIX_PASSWORD)).status_code == 200
    with idm.server.read() as txn:
        stored = txn.get(uuid)
        assert stored is not None
        phc = stored.first("unix_password")
    assert phc is not None and phc != weak and not needs_upgrade(phc)
    assert (await _auth(client, anon, UNIX_PASSWORD)).status_code == 200


async def test_unix_auth__twenty_concurrent_guessers_get_one_guess_and_others_are_served(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    await client.put("/v1/person/bob/posix", json={}, headers=admin)
    await client.put("/v1/person/bob/unix_password", json={"password": UNIX_PASSWORD},
                     headers=admin)
    assert_error(await _auth(client, anon, "wrong"), 401, "invalid_credentials")
    clock.advance(1)  # the first failure's delay is over: the next guess may be checked
    guesses: list[int] = []
    others: list[int] = []

    async def guess() -> None:
        guesses.append((await _auth(client, anon, "another guess")).status_code)

    async def bob() -> None:
        body = {"name": "bob", "password": UNIX_PASSWORD}
        others.append((await client.post("/v1/unix/auth", json=body, headers=anon)).status_code)

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(guess)
        nursery.start_soon(bob)
    # One guess was checked (one Argon2id run); the other 19 waited for its verdict.
    assert sorted(guesses) == [401] + [429] * 19
    assert idm.softlocks.failures(_uuid(idm, "alice"), "unix_password") == 2
    assert others == [200]


async def test_unix_auth__a_right_code_with_a_wrong_password_frees_the_code(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    anon = await _setup(client, admin)
    anon.pop("X-Key")
    record = _enrol_unix_totp(idm, "alice")
    clock.advance(STEP - clock.now() % STEP)
    wrong = str((int(record.code_at(record.counter_at(clock.now())).reveal()) + 1) % 10**6).zfill(6)
    assert_error(await _auth(client, anon, UNIX_PASSWORD, wrong), 401, "invalid_credentials")
    clock.advance(STEP)  # the wrong code's wait: until the next step
    code = record.code_at(record.counter_at(clock.now())).reveal()
    assert_error(await _auth(client, anon, "wrong password", code), 401, "invalid_credentials")
    # The code counter ended with the right code: only the password's own delay remains.
    assert idm.softlocks.failures(_uuid(idm, "alice"), "unix_totp") == 0
    clock.advance(STEP)
    code = record.code_at(record.counter_at(clock.now())).reveal()
    assert (await _auth(client, anon, UNIX_PASSWORD, code)).status_code == 200
