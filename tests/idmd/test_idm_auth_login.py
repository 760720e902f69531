"""The login rules with an injected clock, through the app in-process: TOTP before the
password, codes never accepted twice, backup codes used once, softlocks on every credential,
hash upgrades, account policy, the privilege window and reauth, a caller's own sessions, and
passkeys (by name, usernameless, policy, reauth; the attacks are tests/security's)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.idm import Idm
from idmd.idm.auth import flow
from idmd.idm.auth import login as login_module
from idmd.idm.credentials import passkeys
from idmd.idm.credentials.passwords import needs_upgrade
from idmd.idm.credentials.totp import TotpRecord, hash_backup_code, new_record
from idmd.server.identity import INTERNAL
from idmd.server.mods import Add, Set
from tests.idmd.app_client import (
    BASE_URL,
    assert_error,
    bearer,
    enrol_passkey,
    login,
    make_person,
    passkey_login,
)
from tests.idmd.soft_authenticator import SoftAuthenticator

PASSWORD = "correct horse battery"
BACKUP_CODE = "abcd-efgh-jkmn"


class Flow:
    """One auth session driven step by step."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    @classmethod
    async def begin(cls, client: httpx.AsyncClient, name: str) -> tuple[Flow, list[str]]:
        response = await client.post("/v1/auth/begin", json={"name": name})
        assert response.status_code == 200, response.text
        headers = {"Hermit-Auth-Session": response.headers["hermit-auth-session"]}
        return cls(client, headers), response.json()["methods"]

    @classmethod
    async def reauth(cls, client: httpx.AsyncClient, token: str) -> tuple[Flow, list[str]]:
        response = await client.post("/v1/auth/reauth", headers=bearer(token))
        assert response.status_code == 200, response.text
        headers = {"Hermit-Auth-Session": response.headers["hermit-auth-session"]}
        return cls(client, headers), response.json()["methods"]

    async def step(self, method: str, value: str) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/auth/step", json={"method": method, method: value}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def _person(client: httpx.AsyncClient, admin: dict[str, str], name: str = "alice") -> str:
    entry = await make_person(client, admin, name, PASSWORD)
    return str(entry["uuid"])


def _add_totp(idm: Idm, uuid: str, label: str = "phone") -> TotpRecord:
    record = new_record(label)
    with idm.server.write() as txn:
        txn.modify(INTERNAL, uuid, [Add("totp", record.encode())])
    return record


def _code(record: TotpRecord, clock: FakeClock, steps_back: int = 0) -> str:
    return record.code_at(record.counter_at(clock.now()) - steps_back).reveal()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**len(code):0{len(code)}d}"


async def _full_login(
    client: httpx.AsyncClient, name: str, code: str, method: str = "totp"
) -> dict[str, Any]:
    auth, methods = await Flow.begin(client, name)
    assert methods == ["totp", "backup_code", "passkey"]
    second = await auth.step(method, code)
    if second["state"] != "continue":
        return second
    assert second == {"state": "continue", "methods": ["password"]}
    return await auth.step("password", PASSWORD)


def _count_verifies(idm: Idm, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = idm.hasher.verify

    async def counting(password: str, phc: str | None) -> bool:
        calls.append(1)
        return await real(password, phc)

    monkeypatch.setattr(idm.hasher, "verify", counting)
    return calls


# --- TOTP and backup codes --------------------------------------------------------------


async def test_login__totp_is_asked_before_the_password(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    record = _add_totp(idm, await _person(client, admin))
    done = await _full_login(client, "alice", _code(record, clock))
    assert done["state"] == "success" and done["token"]


async def test_login__a_wrong_code_denies_before_any_password_is_tried(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    idm: Idm,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uuid = await _person(client, admin)
    record = _add_totp(idm, uuid)
    verifies = _count_verifies(idm, monkeypatch)
    auth, _ = await Flow.begin(client, "alice")
    assert await auth.step("totp", _wrong(_code(record, clock))) == {
        "state": "denied",
        "reason": flow.WRONG_CODE,
    }
    response = await client.post(
        "/v1/auth/step", json={"method": "password", "password": PASSWORD}, headers=auth.headers
    )
    assert_error(response, 400, "invalid_auth_state")
    assert verifies == []
    assert idm.softlocks.failures(uuid, "password") == 0
    assert idm.softlocks.failures(uuid, "totp") == 1


async def test_login__a_password_step_is_not_offered_first_to_a_totp_account(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    _add_totp(idm, await _person(client, admin))
    auth, _ = await Flow.begin(client, "alice")
    response = await client.post(
        "/v1/auth/step", json={"method": "password", "password": PASSWORD}, headers=auth.headers
    )
    assert_error(response, 400, "invalid_auth_state")


async def test_login__a_code_is_never_accepted_twice(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    record = _add_totp(idm, await _person(client, admin))
    code = _code(record, clock)
    assert (await _full_login(client, "alice", code))["state"] == "success"
    clock.advance(1)  # still the same time step
    assert await _full_login(client, "alice", code) == {
        "state": "denied",
        "reason": flow.WRONG_CODE,
    }


async def test_login__the_previous_steps_code_is_refused_after_a_newer_one(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    record = _add_totp(idm, await _person(client, admin))
    assert (await _full_login(client, "alice", _code(record, clock)))["state"] == "success"
    clock.advance(limits.TOTP_STEP_SECONDS)
    older = _code(record, clock, steps_back=1)  # the step already used
    assert (await _full_login(client, "alice", older))["state"] == "denied"


async def test_login__a_wrong_code_waits_for_the_next_step(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    record = _add_totp(idm, await _person(client, admin))
    step = limits.TOTP_STEP_SECONDS
    clock.advance(step - clock.now() % step + 5)  # 5 s into a step
    assert (await _full_login(client, "alice", _wrong(_code(record, clock))))["state"] == (
        "denied"
    )
    clock.advance(step - 6)  # 1 s before the next step: the right code must still wait
    denied = await _full_login(client, "alice", _code(record, clock))
    assert denied["state"] == "denied"
    assert denied["reason"] == (
        "too many failed attempts with this totp: try again in 1 second"
    )
    clock.advance(1)
    assert (await _full_login(client, "alice", _code(record, clock)))["state"] == "success"


async def test_login__a_backup_code_works_once_and_is_removed(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid = await _person(client, admin)
    _add_totp(idm, uuid)
    with idm.server.write() as txn:
        txn.modify(INTERNAL, uuid, [Add("backup_code", hash_backup_code(BACKUP_CODE))])
    done = await _full_login(client, "alice", BACKUP_CODE.upper(), method="backup_code")
    assert done["state"] == "success"
    with idm.server.read() as txn:
        entry = txn.get(uuid)
        assert entry is not None and entry.get("backup_code") == frozenset()
    assert await _full_login(client, "alice", BACKUP_CODE, method="backup_code") == {
        "state": "denied",
        "reason": flow.WRONG_BACKUP_CODE,
    }


async def test_login__a_locked_totp_leaves_backup_codes_usable(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    uuid = await _person(client, admin)
    record = _add_totp(idm, uuid)
    with idm.server.write() as txn:
        txn.modify(INTERNAL, uuid, [Add("backup_code", hash_backup_code(BACKUP_CODE))])
    for _ in range(limits.CREDENTIAL_LOCK_FAILURES):
        idm.softlocks.failed(uuid, "totp")
    denied = await _full_login(client, "alice", _code(record, clock))
    assert "locked after 100 failed attempts" in denied["reason"]
    done = await _full_login(client, "alice", BACKUP_CODE, method="backup_code")
    assert done["state"] == "success"


# --- softlocks on the password ------------------------------------------------------------


async def test_login__a_failure_makes_the_password_wait_exactly(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await _person(client, admin)
    auth, _ = await Flow.begin(client, "alice")
    assert (await auth.step("password", "wrong password"))["reason"] == "wrong password"
    auth, _ = await Flow.begin(client, "alice")
    assert await auth.step("password", PASSWORD) == {
        "state": "denied",
        "reason": "too many failed attempts with this password: try again in 1 second",
    }
    clock.advance(1)
    assert await login(client, "alice", PASSWORD)


async def test_login__the_hundredth_failure_locks_for_a_day_without_argon2(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    idm: Idm,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uuid = await _person(client, admin)
    for _ in range(limits.CREDENTIAL_LOCK_FAILURES - 1):
        idm.softlocks.failed(uuid, "password")
    clock.advance(limits.SOFTLOCK_MAX_DELAY_SECONDS)
    auth, _ = await Flow.begin(client, "alice")
    assert (await auth.step("password", "wrong password"))["reason"] == "wrong password"
    verifies = _count_verifies(idm, monkeypatch)
    clock.advance(limits.CREDENTIAL_LOCK_SECONDS - 1)
    auth, _ = await Flow.begin(client, "alice")
    denied = await auth.step("password", PASSWORD)
    assert denied["state"] == "denied"
    assert "locked after 100 failed attempts" in denied["reason"]
    assert verifies == []  # refused before any Argon2 work
    clock.advance(1)
    assert await login(client, "alice", PASSWORD)


async def test_unlock__an_admin_lifts_the_lock_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid = await _person(client, admin)
    for _ in range(limits.CREDENTIAL_LOCK_FAILURES):
        idm.softlocks.failed(uuid, "password")
    response = await client.post("/v1/person/alice/credential/unlock", headers=admin)
    assert response.json() == {"changed": True}
    assert await login(client, "alice", PASSWORD)
    again = await client.post("/v1/person/alice/credential/unlock", headers=admin)
    assert again.json() == {"changed": False}


async def test_unlock__needs_the_right_to_set_the_password(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid = await _person(client, admin)
    await _person(client, admin, "bob")
    idm.softlocks.failed(uuid, "password")
    bob = await login(client, "bob", PASSWORD)
    response = await client.post("/v1/person/alice/credential/unlock", headers=bearer(bob))
    assert_error(response, 403, "access_denied")
    assert idm.softlocks.failures(uuid, "password") == 1
    missing = await client.post("/v1/person/nobody/credential/unlock", headers=admin)
    assert_error(missing, 404, "not_found")


async def test_login__an_unknown_name_is_slowed_like_a_real_one(
    client: httpx.AsyncClient,
) -> None:
    auth, methods = await Flow.begin(client, "nobody-here")
    assert methods == ["password", "passkey"]
    assert (await auth.step("password", "guess one"))["reason"] == "wrong password"
    auth, _ = await Flow.begin(client, "Nobody-Here")
    assert await auth.step("password", "guess two") == {
        "state": "denied",
        "reason": "too many failed attempts with this password: try again in 1 second",
    }


async def test_login__upgrades_an_old_cost_hash_after_the_right_password(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid = await _person(client, admin)
    kdf = Argon2id(salt=b"0123456789abcdef", length=32, iterations=1, lanes=1, memory_cost=8192)
    old = kdf.derive_phc_encoded(PASSWORD.encode())
    with idm.server.write() as txn:
        txn.modify(INTERNAL, uuid, [Set("password", frozenset({old}))])
    auth, _ = await Flow.begin(client, "alice")
    assert (await auth.step("password", "wrong password"))["state"] == "denied"
    with idm.server.read() as txn:
        entry = txn.get(uuid)
        assert entry is not None and entry.first("password") == old
    idm.softlocks.succeeded(uuid, "password")
    assert await login(client, "alice", PASSWORD)
    with idm.server.read() as txn:
        entry = txn.get(uuid)
        assert entry is not None
        fresh = entry.first("password")
    assert fresh is not None and fresh != old and not needs_upgrade(fresh)
    assert await login(client, "alice", PASSWORD)


# --- account policy -----------------------------------------------------------------------


async def _policy_group(idm: Idm, member: str, **policy: str) -> None:
    with idm.server.write() as txn:
        txn.create(
            INTERNAL,
            {
                "class": ["group"],
                "name": ["policed"],
                "member": [member],
                **{f"policy_{k}": [v] for k, v in policy.items()},
            },
        )


async def test_policy__mfa_without_a_totp_is_denied_after_the_password(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    uuid = await _person(client, admin)
    await _policy_group(idm, uuid, min_credential="mfa")
    auth, _ = await Flow.begin(client, "alice")
    assert (await auth.step("password", "wrong password"))["reason"] == "wrong password"
    clock.advance(1)
    auth, _ = await Flow.begin(client, "alice")
    denied = await auth.step("password", PASSWORD)
    assert denied == {"state": "denied", "reason": flow.MFA_MISSING}
    assert "reset token" in denied["reason"]
    record = _add_totp(idm, uuid)
    assert (await _full_login(client, "alice", _code(record, clock)))["state"] == "success"


async def test_policy__passkey_is_denied(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid = await _person(client, admin)
    await _policy_group(idm, uuid, min_credential="passkey")
    auth, _ = await Flow.begin(client, "alice")
    assert await auth.step("password", PASSWORD) == {
        "state": "denied",
        "reason": flow.PASSKEY_MISSING,
    }


async def test_policy__sets_the_session_and_privilege_lifetimes(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    uuid = await _person(client, admin)
    await _policy_group(idm, uuid, session_lifetime="3600", privilege_lifetime="120")
    token = await login(client, "alice", PASSWORD)
    whoami = (await client.get("/v1/auth/whoami", headers=bearer(token))).json()
    assert whoami["expires_at"] == "2027-01-15T09:00:00Z"
    assert whoami["privileged_until"] == "2027-01-15T08:02:00Z"
    clock.advance(3600)
    assert_error(await client.get("/v1/auth/whoami", headers=bearer(token)), 401, "token_expired")


# --- privilege window and reauth ----------------------------------------------------------


SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJEnHZtvakz5EzUs3nLyedQAUj9UdXVlvSHoee5f6N3Z me@host"


async def _can_write(client: httpx.AsyncClient, token: str, label: str) -> httpx.Response:
    """A write a person may make on their own entry: an SSH key."""
    return await client.put(
        f"/v1/person/alice/ssh_keys/{label}", json={"key": SSH_KEY}, headers=bearer(token)
    )


async def test_privilege__writes_stop_when_the_window_ends_until_reauth(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    await _person(client, admin)
    token = await login(client, "alice", PASSWORD)
    assert (await _can_write(client, token, "one")).status_code == 200
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS)
    refused = await _can_write(client, token, "two")
    assert_error(refused, 403, "read_only_session")
    assert "run hermit reauth" in refused.json()["detail"]
    assert (await client.get("/v1/person/alice", headers=bearer(token))).status_code == 200

    auth, methods = await Flow.reauth(client, token)
    assert methods == ["password", "passkey"]
    assert (await auth.step("password", "wrong password"))["state"] == "denied"
    assert_error(await _can_write(client, token, "two"), 403, "read_only_session")
    clock.advance(1)
    auth, _ = await Flow.reauth(client, token)
    done = await auth.step("password", PASSWORD)
    assert done == {"state": "success", "privileged_until": "2027-01-15T08:30:01Z"}
    assert (await _can_write(client, token, "two")).status_code == 200
    whoami = (await client.get("/v1/auth/whoami", headers=bearer(token))).json()
    assert whoami["privileged_until"] == "2027-01-15T08:30:01Z"


async def test_reauth__asks_a_totp_account_for_its_code_first(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    record = _add_totp(idm, await _person(client, admin))
    token = str((await _full_login(client, "alice", _code(record, clock)))["token"])
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS)
    auth, methods = await Flow.reauth(client, token)
    assert methods == ["totp", "backup_code", "passkey"]
    assert (await auth.step("totp", _code(record, clock)))["state"] == "continue"
    assert (await auth.step("password", PASSWORD))["state"] == "success"
    assert (await _can_write(client, token, "again")).status_code == 200


async def test_reauth__refused_to_read_only_and_after_the_session_ends(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _person(client, admin)
    read_only = await login(client, "alice", PASSWORD, read_only=True)
    assert_error(
        await client.post("/v1/auth/reauth", headers=bearer(read_only)), 403, "read_only_session"
    )
    token = await login(client, "alice", PASSWORD)
    auth, _ = await Flow.reauth(client, token)
    await client.post("/v1/auth/logout", headers=bearer(token))
    assert await auth.step("password", PASSWORD) == {
        "state": "denied",
        "reason": "this session has been ended; log in again",
    }


async def test_privilege__an_api_token_is_always_privileged(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock
) -> None:
    created = await client.post(
        "/v1/service_account",
        json={"name": "robot", "displayname": "Robot", "managed_by": "idm_admins"},
        headers=admin,
    )
    assert created.status_code == 200, created.text
    issued = await client.post(
        "/v1/service_account/robot/api_token",
        json={"label": "ci", "scope": "read_write"},
        headers=admin,
    )
    assert issued.status_code == 200, issued.text
    clock.advance(limits.DEFAULT_SESSION_LIFETIME_SECONDS)
    caller = idm.login.authenticate(f"Bearer {issued.json()['token']}")
    assert caller.identity.read_only is False
    caller.require_write()
    assert_error(
        await client.post("/v1/auth/reauth", headers=bearer(issued.json()["token"])),
        400,
        "invalid_request",
    )


# --- a caller's own sessions --------------------------------------------------------------


async def test_sessions__lists_the_callers_own_with_the_current_one(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await _person(client, admin)
    first = await login(client, "alice", PASSWORD)
    clock.advance(10)
    second = await login(client, "alice", PASSWORD, read_only=True)
    listed = (await client.get("/v1/auth/sessions", headers=bearer(second))).json()["sessions"]
    assert [(s["scope"], s["current"]) for s in listed] == [
        ("read_write", False),
        ("read_only", True),
    ]
    assert listed[0]["issued_at"] == "2027-01-15T08:00:00Z"
    assert listed[0]["privileged_until"] == "2027-01-15T08:15:00Z"
    assert listed[1]["privileged_until"] is None
    whoami = (await client.get("/v1/auth/whoami", headers=bearer(first))).json()
    assert listed[0]["id"] == whoami["session_id"]


async def test_sessions__a_login_ends_expired_and_the_oldest_beyond_the_limit(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    idm: Idm,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(login_module, "MAX_SESSIONS_PER_ACCOUNT", 3)
    uuid = await _person(client, admin)
    short = await login(client, "alice", PASSWORD, read_only=True)
    clock.advance(limits.READ_ONLY_TOKEN_TTL_SECONDS)
    tokens = []
    for _ in range(4):
        clock.advance(1)
        tokens.append(await login(client, "alice", PASSWORD))
    with idm.server.read() as txn:
        entry = txn.get(uuid)
        assert entry is not None and len(entry.get("auth_session")) == 3
    for gone in (short, tokens[0]):
        assert (await client.get("/v1/auth/whoami", headers=bearer(gone))).status_code == 401
    for kept in tokens[1:]:
        assert (await client.get("/v1/auth/whoami", headers=bearer(kept))).status_code == 200


async def test_sessions__a_destroyed_sessions_token_is_refused_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await _person(client, admin)
    lost = await login(client, "alice", PASSWORD)
    here = await login(client, "alice", PASSWORD)
    lost_id = (await client.get("/v1/auth/whoami", headers=bearer(lost))).json()["session_id"]
    response = await client.delete(f"/v1/auth/sessions/{lost_id}", headers=bearer(here))
    assert response.json() == {"changed": True}
    assert_error(await client.get("/v1/auth/whoami", headers=bearer(lost)), 401, "token_revoked")
    again = await client.delete(f"/v1/auth/sessions/{lost_id}", headers=bearer(here))
    assert again.json() == {"changed": False}


async def test_sessions__ending_another_needs_privilege_ending_this_one_not(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await _person(client, admin)
    other = await login(client, "alice", PASSWORD)
    here = await login(client, "alice", PASSWORD, read_only=True)
    other_id = (await client.get("/v1/auth/whoami", headers=bearer(other))).json()["session_id"]
    here_id = (await client.get("/v1/auth/whoami", headers=bearer(here))).json()["session_id"]
    refused = await client.delete(f"/v1/auth/sessions/{other_id}", headers=bearer(here))
    assert_error(refused, 403, "read_only_session")
    ended = await client.delete(f"/v1/auth/sessions/{here_id}", headers=bearer(here))
    assert ended.json() == {"changed": True}
    assert_error(await client.get("/v1/auth/whoami", headers=bearer(here)), 401, "token_revoked")
    assert (await client.get("/v1/auth/whoami", headers=bearer(other))).status_code == 200


async def test_anonymous__a_fleet_of_hosts_logs_in_without_pushing_each_other_out(
    idm: Idm, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    hosts = [
        await login(client, "anonymous", None)
        for _ in range(login_module.MAX_SESSIONS_PER_ACCOUNT + 6)
    ]
    for token in hosts:
        response = await client.get("/v1/unix/user", headers=bearer(token))
        assert response.status_code == 200, response.text
    # No record per host: the anonymous entry does not grow with the fleet.
    with idm.server.read() as txn:
        anonymous = txn.resolve("anonymous")
        assert anonymous is not None and anonymous.get("auth_session") == frozenset()
    # Read-only whatever the session asked, and over at its expiry.
    denied = await client.post(
        "/v1/group", json={"name": "nope"}, headers=bearer(hosts[0])
    )
    assert denied.status_code == 403
    clock.advance(limits.READ_ONLY_TOKEN_TTL_SECONDS + 1)
    expired = await client.get("/v1/unix/user", headers=bearer(hosts[0]))
    assert_error(expired, 401, "token_expired")


async def test_sessions__anonymous_may_not_list_or_end_them(client: httpx.AsyncClient) -> None:
    token = await login(client, "anonymous", None)
    assert_error(await client.get("/v1/auth/sessions", headers=bearer(token)), 403, "access_denied")
    assert_error(
        await client.delete("/v1/auth/sessions/whatever", headers=bearer(token)),
        403,
        "access_denied",
    )


# -- passkeys -----------------------------------------------------------------------------


async def _alice_with_passkey(
    client: httpx.AsyncClient, admin: dict[str, str], **knobs: Any
) -> tuple[str, SoftAuthenticator]:
    uuid = await _person(client, admin)
    authenticator = SoftAuthenticator(origin=BASE_URL, **knobs)
    token = await login(client, "alice", PASSWORD)
    await enrol_passkey(client, bearer(token), "alice", "laptop", authenticator)
    return uuid, authenticator


def _stored_passkey(idm: Idm, uuid: str) -> passkeys.PasskeyRecord:
    with idm.server.read() as txn:
        entry = txn.get(uuid)
    assert entry is not None
    (record,) = passkeys.records(entry.get("passkey"))
    return record


async def _whoami(client: httpx.AsyncClient, token: str) -> str:
    response = await client.get("/v1/auth/whoami", headers=bearer(token))
    assert response.status_code == 200, response.text
    return str(response.json()["name"])


@pytest.mark.parametrize("name", ["alice", None])
async def test_passkey__signs_in_by_name_or_usernameless_and_stores_its_use(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, clock: FakeClock,
    name: str | None,
) -> None:
    uuid, authenticator = await _alice_with_passkey(client, admin)
    clock.advance(60)
    done = await passkey_login(client, name, authenticator)
    assert done["state"] == "success", done
    assert await _whoami(client, done["token"]) == "alice"
    record = _stored_passkey(idm, uuid)
    assert record.sign_count == 1 and record.last_used_at == int(clock.now())
    # The session may write: a passkey is a full sign-in.
    assert (await _can_write(client, done["token"], "by-passkey")).status_code == 200


async def test_passkey__ends_the_flow_of_a_totp_account_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid, authenticator = await _alice_with_passkey(client, admin)
    _add_totp(idm, uuid)
    _, methods = await Flow.begin(client, "alice")
    assert methods == ["totp", "backup_code", "passkey"]
    assert (await passkey_login(client, "alice", authenticator))["state"] == "success"


async def test_passkey__offered_alike_to_unknown_names_and_denied_there(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, authenticator = await _alice_with_passkey(client, admin)
    real = await client.post("/v1/auth/begin", json={"name": "alice"})
    unknown = await client.post("/v1/auth/begin", json={"name": "nobody-here"})
    assert real.json()["methods"] == unknown.json()["methods"]
    assert set(real.json()["passkey"]["publicKey"]) == set(unknown.json()["passkey"]["publicKey"])
    denied = await passkey_login(client, "nobody-here", authenticator)
    assert denied == {"state": "denied", "reason": passkeys.UNKNOWN_PASSKEY}


async def test_passkey__anonymous_is_not_offered_one(client: httpx.AsyncClient) -> None:
    begin = await client.post("/v1/auth/begin", json={"name": "anonymous"})
    assert begin.json() == {"state": "continue", "methods": ["anonymous"]}


async def test_policy__passkey_signs_in_with_a_passkey_only(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid, authenticator = await _alice_with_passkey(client, admin)
    await _policy_group(idm, uuid, min_credential="passkey")
    auth, _ = await Flow.begin(client, "alice")
    assert await auth.step("password", PASSWORD) == {
        "state": "denied",
        "reason": flow.PASSKEY_MISSING,
    }
    assert (await passkey_login(client, None, authenticator))["state"] == "success"


async def test_policy__mfa_is_met_by_a_passkey(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid, authenticator = await _alice_with_passkey(client, admin)
    await _policy_group(idm, uuid, min_credential="mfa")
    assert (await passkey_login(client, "alice", authenticator))["state"] == "success"


async def test_passkey__a_synced_passkeys_zero_counter_passes_every_time(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid, authenticator = await _alice_with_passkey(client, admin, counter_step=0)
    for _ in range(3):
        assert (await passkey_login(client, None, authenticator))["state"] == "success"
    assert _stored_passkey(idm, uuid).sign_count == 0


async def test_passkey__a_malformed_answer_is_400_and_leaves_the_session(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, authenticator = await _alice_with_passkey(client, admin)
    begin = await client.post("/v1/auth/begin", json={"name": "alice"})
    session = {"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]}
    for bad in ({"type": "public-key"}, "text", [1]):
        response = await client.post(
            "/v1/auth/step", json={"method": "passkey", "passkey": bad}, headers=session
        )
        assert_error(response, 400, "invalid_value")
    missing = await client.post("/v1/auth/step", json={"method": "passkey"}, headers=session)
    assert_error(missing, 400, "invalid_auth_state")
    # That ended the session (a method without its credential, as for a password).
    again = await client.post(
        "/v1/auth/step", json={"method": "passkey", "passkey": {}}, headers=session
    )
    assert_error(again, 400, "invalid_value")
    ended = await client.post(
        "/v1/auth/step", json={"method": "password", "password": PASSWORD}, headers=session
    )
    assert_error(ended, 400, "invalid_auth_state")
    begin = await client.post("/v1/auth/begin", json={"name": "alice"})
    answer = authenticator.get(begin.json()["passkey"])
    step = await client.post(
        "/v1/auth/step",
        json={"method": "passkey", "passkey": answer},
        headers={"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]},
    )
    assert step.json()["state"] == "success"


async def test_reauth__with_a_passkey(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    _, authenticator = await _alice_with_passkey(client, admin)
    token = await login(client, "alice", PASSWORD)
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS)
    response = await client.post("/v1/auth/reauth", headers=bearer(token))
    assert response.json()["methods"] == ["password", "passkey"]
    answer = authenticator.get(response.json()["passkey"])
    step = await client.post(
        "/v1/auth/step",
        json={"method": "passkey", "passkey": answer},
        headers={"Hermit-Auth-Session": response.headers["Hermit-Auth-Session"]},
    )
    assert step.json()["state"] == "success" and "privileged_until" in step.json()
    assert (await _can_write(client, token, "after-reauth")).status_code == 200


async def test_reauth__another_accounts_passkey_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, alices = await _alice_with_passkey(client, admin)
    await make_person(client, admin, "bob", PASSWORD)
    bob = await login(client, "bob", PASSWORD)
    response = await client.post("/v1/auth/reauth", headers=bearer(bob))
    answer = alices.get(response.json()["passkey"])
    step = await client.post(
        "/v1/auth/step",
        json={"method": "passkey", "passkey": answer},
        headers={"Hermit-Auth-Session": response.headers["Hermit-Auth-Session"]},
    )
    assert step.json() == {"state": "denied", "reason": passkeys.UNKNOWN_PASSKEY}
