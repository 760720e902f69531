"""The password badlist over HTTP: show, add, remove, idempotent, only for system_admins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from idmd import limits
from idmd.idm.policy.badlist import default_words
from tests.idmd.app_client import assert_error, bearer, login, make_person


@pytest.fixture
async def system_admin(idm: Any, client: httpx.AsyncClient) -> dict[str, str]:
    password, _ = await idm.recover_account("admin")
    password = password.reveal()
    return bearer(await login(client, "admin", password))


async def _count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    shown = await client.get("/v1/system/pw_badlist", headers=headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["count"] == len(shown.json()["words"])
    return int(shown.json()["count"])


async def test_pw_badlist__a_new_server_has_the_default_list(
    client: httpx.AsyncClient, system_admin: dict[str, str]
) -> None:
    shown = await client.get("/v1/system/pw_badlist", headers=system_admin)
    assert shown.json()["words"] == sorted(default_words())
    assert "password" in shown.json()["words"]
    assert all(len(w) >= limits.ABSOLUTE_MIN_PASSWORD_CHARS for w in shown.json()["words"])


async def test_pw_badlist__add_and_remove_are_idempotent_and_casefolded(
    client: httpx.AsyncClient, system_admin: dict[str, str]
) -> None:
    before = await _count(client, system_admin)
    words = {"words": ["Hermit-Example-2026", " hermit-example-2026 ", "Second Phrase"]}
    added = await client.post("/v1/system/pw_badlist", json=words, headers=system_admin)
    assert added.json() == {"changed": True, "count": before + 2}
    again = await client.post("/v1/system/pw_badlist", json=words, headers=system_admin)
    assert again.json() == {"changed": False, "count": before + 2}
    shown = (await client.get("/v1/system/pw_badlist", headers=system_admin)).json()["words"]
    assert "hermit-example-2026" in shown and "second phrase" in shown
    gone = {"words": ["HERMIT-example-2026", "second phrase", "never-there-at-all"]}
    removed = await client.post("/v1/system/pw_badlist/remove", json=gone, headers=system_admin)
    assert removed.json() == {"changed": True, "count": before}
    again = await client.post("/v1/system/pw_badlist/remove", json=gone, headers=system_admin)
    assert again.json() == {"changed": False, "count": before}


async def test_pw_badlist__an_added_word_is_refused_as_a_password(
    client: httpx.AsyncClient, admin: dict[str, str], system_admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice")
    phrase = "pelican vault harmonica"
    assert (
        await client.put("/v1/person/alice/password", json={"password": phrase}, headers=admin)
    ).status_code == 200
    await client.post("/v1/system/pw_badlist", json={"words": [phrase]}, headers=system_admin)
    put = await client.put(
        "/v1/person/alice/password", json={"password": phrase + "!1"}, headers=admin
    )
    assert_error(put, 400, "password_rejected")


async def test_pw_badlist__only_system_admins(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert_error(await client.get("/v1/system/pw_badlist", headers=admin), 403, "access_denied")
    for path in ("/v1/system/pw_badlist", "/v1/system/pw_badlist/remove"):
        response = await client.post(path, json={"words": ["password"]}, headers=admin)
        assert_error(response, 403, "access_denied")
    anonymous = bearer(await login(client, "anonymous", None))
    assert_error(
        await client.get("/v1/system/pw_badlist", headers=anonymous), 403, "access_denied"
    )


@pytest.mark.parametrize(
    "body", [{"words": [""]}, {"words": ["   "]}, {"words": ["x" * 257]}, {"words": "password"},
             {"words": [1]}, {"words": ["bad\x00word"]}]
)
async def test_pw_badlist__invalid_words_refused(
    client: httpx.AsyncClient, system_admin: dict[str, str], body: dict[str, object]
) -> None:
    before = await _count(client, system_admin)
    response = await client.post("/v1/system/pw_badlist", json=body, headers=system_admin)
    assert_error(response, 400, "invalid_value")
    assert await _count(client, system_admin) == before
