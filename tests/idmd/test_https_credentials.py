"""``/v1/credential/update`` and the person credential routes, in-process over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pyotp

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.idm import Idm
from tests.idmd.app_client import (
    BASE_URL,
    assert_error,
    bearer,
    login,
    make_person,
    passkey_login,
)
from tests.idmd.soft_authenticator import SoftAuthenticator

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


# -- passkeys -----------------------------------------------------------------------------


async def test_passkeys__enrolled_over_a_reset_token_then_renamed_listed_and_removed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "bob")
    created = await _post(client, "/v1/person/bob/credential/reset_token", {}, admin)
    begun = await _post(client, f"{BASE}/begin", {"reset_token": created.json()["token"]})
    sid = begun.json()["session"]
    assert begun.json()["status"]["passkeys"] == []
    options = await _post(client, f"{BASE}/passkey/begin", {"session": sid, "label": "Phone"})
    assert options.status_code == 200, options.text
    assert options.json()["publicKey"]["rp"]["id"] == "idm.example.com"
    authenticator = SoftAuthenticator(origin=BASE_URL)
    answer = authenticator.create(options.json())
    finished = await _post(client, f"{BASE}/passkey/finish", {"session": sid, "passkey": answer})
    assert finished.status_code == 200, finished.text
    assert [p["label"] for p in finished.json()["passkeys"]] == ["phone"]
    renamed = await _post(
        client, f"{BASE}/passkey/rename", {"session": sid, "label": "phone", "new_label": "pixel"}
    )
    assert [p["label"] for p in renamed.json()["passkeys"]] == ["pixel"]
    committed = await _post(client, f"{BASE}/commit", {"session": sid})
    assert committed.json()["changed"] is True

    # Bob signs in with it, usernameless, with no password at all.
    done = await passkey_login(client, None, authenticator)
    assert done["state"] == "success"
    own = await client.get("/v1/person/bob/credential/passkeys", headers=bearer(done["token"]))
    assert own.status_code == 200
    (listed,) = own.json()["passkeys"]
    assert listed["label"] == "pixel" and listed["last_used_at"] is not None
    by_admin = await client.get("/v1/person/bob/credential/passkeys", headers=admin)
    assert by_admin.json() == own.json()

    begun = await _post(client, "/v1/person/bob/credential/update", {}, admin)
    sid = begun.json()["session"]
    removed = await _post(client, f"{BASE}/passkey/remove", {"session": sid, "label": "pixel"})
    assert removed.json()["changed"] is True and removed.json()["status"]["passkeys"] == []
    await _post(client, f"{BASE}/commit", {"session": sid})
    gone = await client.get("/v1/person/bob/credential/passkeys", headers=admin)
    assert gone.json() == {"passkeys": []}
    assert (await passkey_login(client, None, authenticator))["state"] == "denied"


async def test_passkeys__list_is_for_the_owner_and_admins(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", GOOD)
    await make_person(client, admin, "bob", GOOD)
    bob = await login(client, "bob", GOOD)
    response = await client.get("/v1/person/alice/credential/passkeys", headers=bearer(bob))
    assert_error(response, 403, "access_denied")
    missing = await client.get("/v1/person/nobody/credential/passkeys", headers=admin)
    assert_error(missing, 404, "not_found")
    anonymous = await client.get("/v1/person/alice/credential/passkeys")
    assert anonymous.status_code == 401


async def test_passkeys__bad_bodies_are_400_and_stage_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    sid = (await _post(client, "/v1/person/alice/credential/update", {}, admin)).json()["session"]
    for path, body, code in [
        ("passkey/begin", {"session": sid, "label": "two words"}, "invalid_value"),
        ("passkey/begin", {"session": sid}, "invalid_request"),
        ("passkey/finish", {"session": sid, "passkey": {"type": "public-key"}}, "invalid_request"),
        ("passkey/rename", {"session": sid, "label": "a"}, "invalid_request"),
        ("passkey/remove", {"session": sid, "label": "a", "x": 1}, "invalid_attribute"),
    ]:
        assert_error(await _post(client, f"{BASE}/{path}", body), 400, code)
    await _post(client, f"{BASE}/passkey/begin", {"session": sid, "label": "laptop"})
    shapeless = await _post(client, f"{BASE}/passkey/finish", {"session": sid, "passkey": "x"})
    assert_error(shapeless, 400, "invalid_value")
    status = await _post(client, f"{BASE}/status", {"session": sid})
    assert status.json()["passkeys"] == [] and status.json()["changed"] is False
    unknown = await _post(client, f"{BASE}/passkey/begin", {"session": "nope", "label": "x"})
    assert_error(unknown, 400, "invalid_credential_update_session")
