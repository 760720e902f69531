"""The stepped login over HTTP: cookies and headers, invalid states, tokens, whoami, logout."""

from __future__ import annotations

import httpx
import pytest

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.idm import Idm
from tests.idmd.app_client import assert_error, bearer, login, make_person

# The shared fixtures (pytest finds fixtures by module attribute).

PASSWORD = "correct horse battery"


async def test_begin__sets_secure_cookie_and_echoes_header(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/begin", json={"name": "anonymous"})
    assert response.status_code == 200
    assert response.json() == {"state": "continue", "methods": ["anonymous"]}
    sid = response.headers["hermit-auth-session"]
    assert response.headers["set-cookie"] == (
        f"hermit-auth={sid}; Secure; HttpOnly; SameSite=Strict; Path=/v1/auth"
    )


async def test_step__cookie_alone_carries_the_session(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    await client.post("/v1/auth/begin", json={"name": "alice"})
    step = await client.post("/v1/auth/step", json={"method": "password", "password": PASSWORD})
    assert step.json()["state"] == "success"
    assert "Max-Age=0" in step.headers["set-cookie"]


async def test_login__password_whoami_and_scope(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    person = await make_person(client, admin, "alice", PASSWORD)
    token = await login(client, "alice", PASSWORD)
    whoami = await client.get("/v1/auth/whoami", headers=bearer(token))
    assert whoami.status_code == 200
    body = whoami.json()
    assert body["uuid"] == person["uuid"]
    assert (body["name"], body["spn"], body["scope"]) == (
        "alice",
        "alice@example.com",
        "read_write",
    )
    # FakeClock start + the default session lifetime (8 h), writes for the first 15 min.
    assert body["expires_at"] == "2027-01-15T16:00:00Z"
    assert body["privileged_until"] == "2027-01-15T08:15:00Z"
    assert body["session_id"]


async def test_login__wrong_password_denied_then_session_over(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    begin = await client.post("/v1/auth/begin", json={"name": "alice"})
    session = {"Hermit-Auth-Session": begin.headers["hermit-auth-session"]}
    step = await client.post(
        "/v1/auth/step", json={"method": "password", "password": "wrong password"}, headers=session
    )
    assert step.status_code == 200
    assert step.json() == {"state": "denied", "reason": "wrong password"}
    again = await client.post(
        "/v1/auth/step", json={"method": "password", "password": PASSWORD}, headers=session
    )
    assert_error(again, 400, "invalid_auth_state")
    assert again.headers["connection"] == "close"


async def test_login__unknown_name_looks_like_wrong_password(client: httpx.AsyncClient) -> None:
    begin = await client.post("/v1/auth/begin", json={"name": "nobody-here"})
    assert begin.json()["methods"] == ["password", "passkey"]
    assert "allowCredentials" not in begin.json()["passkey"]["publicKey"]
    step = await client.post(
        "/v1/auth/step",
        json={"method": "password", "password": "whatever1"},
        headers={"Hermit-Auth-Session": begin.headers["hermit-auth-session"]},
    )
    assert step.json() == {"state": "denied", "reason": "wrong password"}


async def test_login__anonymous_token_is_read_only(client: httpx.AsyncClient) -> None:
    token = await login(client, "anonymous", None)
    whoami = await client.get("/v1/auth/whoami", headers=bearer(token))
    assert whoami.json()["scope"] == "read_only"
    response = await client.post("/v1/group", json={"name": "anongroup"}, headers=bearer(token))
    assert_error(response, 403, "read_only_session")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Hermit-Auth-Session": "made-up"}, {"Cookie": "hermit-auth=made-up"}],
)
async def test_step__without_known_session_is_invalid_state_and_closes(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/auth/step", json={"method": "password", "password": "x" * 10}, headers=headers
    )
    assert_error(response, 400, "invalid_auth_state")
    assert response.headers["connection"] == "close"
    assert (await client.get("/status")).status_code == 200


async def test_step__method_not_offered_is_invalid_state(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    begin = await client.post("/v1/auth/begin", json={"name": "alice"})
    session = {"Hermit-Auth-Session": begin.headers["hermit-auth-session"]}
    response = await client.post("/v1/auth/step", json={"method": "anonymous"}, headers=session)
    assert_error(response, 400, "invalid_auth_state")
    assert response.headers["connection"] == "close"


async def test_step__finished_session_cannot_be_reused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    begin = await client.post("/v1/auth/begin", json={"name": "alice"})
    session = {"Hermit-Auth-Session": begin.headers["hermit-auth-session"]}
    body = {"method": "password", "password": PASSWORD}
    assert (await client.post("/v1/auth/step", json=body, headers=session)).json()["state"] == (
        "success"
    )
    assert_error(
        await client.post("/v1/auth/step", json=body, headers=session), 400, "invalid_auth_state"
    )


async def test_step__expired_auth_session_is_invalid(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    begin = await client.post("/v1/auth/begin", json={"name": "alice"})
    clock.advance(limits.AUTH_SESSION_TTL_SECONDS)
    response = await client.post(
        "/v1/auth/step",
        json={"method": "password", "password": PASSWORD},
        headers={"Hermit-Auth-Session": begin.headers["hermit-auth-session"]},
    )
    assert_error(response, 400, "invalid_auth_state")


@pytest.mark.parametrize(
    "body",
    [{"name": 5}, {"name": "alice", "read_only": "yes"}, {"name": "alice", "extra": 1}],
)
async def test_begin__bad_body_is_400(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/v1/auth/begin", json=body)
    assert response.status_code == 400


async def test_begin__without_a_name_is_usernameless_with_a_passkey_only(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/auth/begin", json={})
    assert response.status_code == 200
    body = response.json()
    assert body["methods"] == ["passkey"]
    assert body["passkey"]["publicKey"]["userVerification"] == "required"
    assert body["passkey"]["publicKey"]["rpId"] == "idm.example.com"


async def test_token__expires_exactly(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    token = await login(client, "alice", PASSWORD)
    clock.advance(limits.DEFAULT_SESSION_LIFETIME_SECONDS - 1)
    assert (await client.get("/v1/auth/whoami", headers=bearer(token))).status_code == 200
    clock.advance(1)
    assert_error(await client.get("/v1/auth/whoami", headers=bearer(token)), 401, "token_expired")


async def test_logout__revokes_the_token_only(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    first = await login(client, "alice", PASSWORD)
    second = await login(client, "alice", PASSWORD)
    response = await client.post("/v1/auth/logout", headers=bearer(first))
    assert response.json() == {"changed": True}
    assert_error(await client.get("/v1/auth/whoami", headers=bearer(first)), 401, "token_revoked")
    assert (await client.get("/v1/auth/whoami", headers=bearer(second))).status_code == 200


async def test_token__deleted_account_is_revoked(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    token = await login(client, "alice", PASSWORD)
    assert (await client.delete("/v1/person/alice", headers=admin)).json() == {"changed": True}
    assert_error(await client.get("/v1/auth/whoami", headers=bearer(token)), 401, "token_revoked")


async def test_token__from_another_server_is_refused(
    client: httpx.AsyncClient, tmp_path: object, clock: FakeClock
) -> None:
    other = Idm.open(
        str(tmp_path) + "/other.db", domain="example.com", origin="https://x", clock=clock
    )
    try:
        from idmd.https.app import build_app

        transport = httpx.ASGITransport(build_app(other))
        async with httpx.AsyncClient(transport=transport, base_url="https://x") as other_client:
            token = await login(other_client, "anonymous", None)
    finally:
        other.close()
    assert_error(await client.get("/v1/auth/whoami", headers=bearer(token)), 401, "unauthenticated")


async def test_login__read_only_session_cannot_write(client: httpx.AsyncClient, idm: Idm) -> None:
    password, _ = await idm.recover_account("idm_admin")
    password = password.reveal()
    token = await login(client, "idm_admin", password, read_only=True)
    response = await client.post("/v1/group", json={"name": "rogroup"}, headers=bearer(token))
    assert_error(response, 403, "read_only_session")
    listing = await client.get("/v1/group", headers=bearer(token))
    assert "rogroup" not in [g["name"] for g in listing.json()["groups"]]


@pytest.mark.parametrize(
    ("valid_from", "expire_at"),
    [("2030-01-01T00:00:00Z", None), (None, "2020-01-01T00:00:00Z")],
)
async def test_login__outside_validity_denied(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    valid_from: str | None,
    expire_at: str | None,
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    patched = await client.patch(
        "/v1/person/alice",
        json={"valid_from": valid_from, "expire_at": expire_at},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    begin = await client.post("/v1/auth/begin", json={"name": "alice"})
    step = await client.post(
        "/v1/auth/step",
        json={"method": "password", "password": PASSWORD},
        headers={"Hermit-Auth-Session": begin.headers["hermit-auth-session"]},
    )
    assert step.json()["state"] == "denied"


async def test_token__account_expiring_later_stops_token(
    client: httpx.AsyncClient, admin: dict[str, str], clock: FakeClock
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    token = await login(client, "alice", PASSWORD)
    patched = await client.patch(
        "/v1/person/alice", json={"expire_at": "2027-01-15T08:30:00Z"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert (await client.get("/v1/auth/whoami", headers=bearer(token))).status_code == 200
    clock.advance(30 * 60)
    assert_error(await client.get("/v1/auth/whoami", headers=bearer(token)), 403, "account_expired")


async def test_recover_account__new_password_works_old_sessions_end(
    client: httpx.AsyncClient, idm: Idm, admin: dict[str, str]
) -> None:
    # Recovery is for an account that may be in someone else's hands (issue 9): the
    # sessions signed in with the old password end with it.
    new, ended = await idm.recover_account("idm_admin")
    new = new.reveal()
    assert ended == 1
    assert_error(await client.get("/v1/auth/whoami", headers=admin), 401, "token_revoked")
    token = await login(client, "idm_admin", new)
    assert (await client.get("/v1/auth/whoami", headers=bearer(token))).json()["name"] == (
        "idm_admin"
    )
