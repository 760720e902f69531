"""``/v1/credential/update`` and the person credential routes, in-process over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pyotp

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.idm import Idm
from tests.idmd.app_client import bearer, login, make_person

GOOD = "correct horse battery staple 42"
BASE = "/v1/credential/update"


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(path, json=body, headers=headers or {})


async def test_credentials__admin_sets_a_password_through_a_session(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await make_person(client, admin, "alice")
    begun = await _post(client, "/v1/person/alice/credential/update", {}, admin)
    assert begun.status_code == 200, begun.text
    sid = begun.json()["session"]
    assert begun.json()["status"]["account"]["name"] == "alice"
    staged = await _post(client, f"{BASE}/password", {"session": sid, "password": GOOD})
    assert staged.status_code == 200 and staged.json()["password"] == "staged"
    assert GOOD not in staged.text
    # Not yet: alice cannot log in before the commit.
    begin = await client.post("/v1/auth/begin", json={"name": "alice"})
    step = await client.post(
        "/v1/auth/step", json={"method": "password", "password": GOOD},
        headers={"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]},
    )
    assert step.json()["state"] == "denied"
    clock.advance(60)  # past the softlock's wait after that failure
    committed = await _post(client, f"{BASE}/commit", {"session": sid})
    assert committed.json() == {"changed": True, "sessions_ended": 0}
    assert await login(client, "alice", GOOD)
    again = await _post(client, f"{BASE}/status", {"session": sid})
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_credential_update_session"


async def test_credentials__a_reset_token_needs_no_login_and_works_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "bob")
    created = await _post(client, "/v1/person/bob/credential/reset_token", {"ttl": 3600}, admin)
    assert created.status_code == 200, created.text
    token = created.json()["token"]
    begun = await _post(client, f"{BASE}/begin", {"reset_token": token})
    assert begun.status_code == 200, begun.text
    sid = begun.json()["session"]
    await _post(client, f"{BASE}/password", {"session": sid, "password": GOOD})
    assert (await _post(client, f"{BASE}/commit", {"session": sid})).json()["changed"] is True
    assert await login(client, "bob", GOOD)
    used = await _post(client, f"{BASE}/begin", {"reset_token": token})
    assert (used.status_code, used.json()["error"]) == (401, "invalid_reset_token")


async def test_credentials__reset_token_expires(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await make_person(client, admin, "carol")
    created = await _post(client, "/v1/person/carol/credential/reset_token", {"ttl": 60}, admin)
    clock.advance(60)
    late = await _post(client, f"{BASE}/begin", {"reset_token": created.json()["token"]})
    assert (late.status_code, late.json()["error"]) == (401, "invalid_reset_token")


async def test_credentials__totp_enrolment_and_backup_codes(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock, idm: Idm
) -> None:
    await make_person(client, admin, "dave")
    sid = (await _post(client, "/v1/person/dave/credential/update", {}, admin)).json()["session"]
    enrol = await _post(client, f"{BASE}/totp/begin", {"session": sid, "label": "phone"})
    assert enrol.status_code == 200, enrol.text
    assert enrol.json()["uri"].startswith("otpauth://totp/")
    code = pyotp.TOTP(enrol.json()["secret"], digest="sha256").at(clock.now())
    confirmed = await _post(client, f"{BASE}/totp/confirm", {"session": sid, "code": code})
    assert confirmed.json()["totp"] == ["phone"]
    codes = await _post(client, f"{BASE}/backup_codes", {"session": sid})
    assert len(codes.json()["backup_codes"]) == 10
    assert (await _post(client, f"{BASE}/commit", {"session": sid})).json()["changed"] is True
    with idm.server.read() as txn:
        dave = txn.resolve("dave")
        assert dave is not None and len(dave.get("totp")) == 1
        assert len(dave.get("backup_code")) == 10


async def test_credentials__cancel_and_refusals(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "erin", password=GOOD)
    erin = bearer(await login(client, "erin", GOOD))
    refused = await _post(client, "/v1/person/alice/credential/update", {}, erin)
    assert refused.status_code == 404
    own = await _post(client, "/v1/person/erin/credential/update", {}, erin)
    assert own.status_code == 200, own.text
    sid = own.json()["session"]
    assert (await _post(client, f"{BASE}/cancel", {"session": sid})).json() == {"changed": True}
    after = await _post(client, f"{BASE}/commit", {"session": sid})
    assert after.json()["error"] == "invalid_credential_update_session"
    self_token = await _post(client, "/v1/person/erin/credential/reset_token", {}, erin)
    assert self_token.status_code == 403
    unknown = await _post(client, f"{BASE}/status", {"session": 7})
    assert unknown.status_code == 400


async def test_credentials__owner_needs_a_privileged_session(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await make_person(client, admin, "fred", password=GOOD)
    fred = bearer(await login(client, "fred", GOOD))
    clock.advance(limits.DEFAULT_PRIVILEGE_LIFETIME_SECONDS)
    late = await _post(client, "/v1/person/fred/credential/update", {}, fred)
    assert (late.status_code, late.json()["error"]) == (403, "read_only_session")
    assert "reauth" in late.json()["detail"]


async def test_credentials__a_session_idle_too_long_is_over(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock, idm: Idm
) -> None:
    await make_person(client, admin, "gina")
    sid = (await _post(client, "/v1/person/gina/credential/update", {}, admin)).json()["session"]
    await _post(client, f"{BASE}/password", {"session": sid, "password": GOOD})
    clock.advance(limits.CREDENTIAL_UPDATE_IDLE_SECONDS)
    late = await _post(client, f"{BASE}/commit", {"session": sid})
    assert (late.status_code, late.json()["error"]) == (400, "invalid_credential_update_session")
    with idm.server.read() as txn:
        gina = txn.resolve("gina")
        assert gina is not None and not gina.get("password")
