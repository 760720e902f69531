"""The fake idmd of ``fake_idmd.py`` (STYLE.md: the test helpers have their own tests)."""

from __future__ import annotations

import httpx

from tests.unixd.fake_idmd import URI, FakeIdmd, uuid_for


async def test_fake_idmd__refuses_views_without_a_token() -> None:
    fake = FakeIdmd()
    fake.add_user("alice", 70001)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=URI) as client:
        response = await client.get("/v1/unix/user/alice")
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"


async def test_fake_idmd__finds_users_by_every_key_and_lists_groups_of_members() -> None:
    fake = FakeIdmd(tokens={"t"})
    fake.add_user("alice", 70001)
    fake.add_group("staff", 70100, members=("alice",))
    headers = {"Authorization": "Bearer t"}
    async with httpx.AsyncClient(transport=fake.transport(), base_url=URI,
                                 headers=headers) as client:
        for key in ("alice", "ALICE", "alice@example.com", uuid_for(70001), "70001"):
            response = await client.get(f"/v1/unix/user/{key}")
            assert response.json()["name"] == "alice", key
        refs = (await client.get("/v1/unix/user/alice")).json()["groups"]
    assert [ref["name"] for ref in refs] == ["alice", "staff"]


async def test_fake_idmd__checks_the_code_before_the_password_and_locks() -> None:
    fake = FakeIdmd(tokens={"t"})
    fake.add_user("alice", 70001, password="pw")
    fake.set_code("alice", "123456")
    headers = {"Authorization": "Bearer t"}
    async with httpx.AsyncClient(transport=fake.transport(), base_url=URI,
                                 headers=headers) as client:
        async def auth(**body: str) -> tuple[int, object]:
            response = await client.post("/v1/unix/auth", json={"name": "alice", **body})
            return response.status_code, response.json().get("error")

        assert await auth(password="pw") == (403, "mfa_required")
        assert await auth(password="wrong", totp="000000") == (401, "invalid_credentials")
        assert await auth(password="wrong", totp="123456") == (401, "invalid_credentials")
        assert await auth(password="pw", totp="123456") == (200, None)
        assert (await client.get("/v1/unix/user/alice")).json()["unix_mfa"] is True
        fake.locked.add(uuid_for(70001))
        assert await auth(password="pw", totp="123456") == (429, "credential_locked")
