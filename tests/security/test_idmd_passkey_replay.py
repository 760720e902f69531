"""A replayed passkey assertion: an attacker who captured one answer (a proxy's log, a
browser extension) sends it again, in a new auth session or in the same one.

Each challenge is used once: it lives in one auth session, which the step that uses it ends;
a new session has a new challenge the old answer does not sign. The replay is denied, the
stored counter and the account's sessions stay as they were, and the person signs in again.
"""

from __future__ import annotations

import httpx

from idmd.idm import Idm
from idmd.idm.credentials import passkeys
from tests.security.passkey_attacks import begin, person_with_passkey, send, snapshot


async def test_passkey_replay__in_a_new_session_is_denied(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid, authenticator = await person_with_passkey(client, admin)
    options, session = await begin(client, "alice")
    captured = authenticator.get(options)
    assert (await send(client, session, captured)).json()["state"] == "success"
    before = snapshot(idm, uuid)
    for name in ("alice", None):
        _, fresh = await begin(client, name)
        replayed = await send(client, fresh, captured)
        assert replayed.json() == {"state": "denied", "reason": passkeys.WRONG_CHALLENGE}
    assert snapshot(idm, uuid) == before
    options, session = await begin(client, None)
    answer = authenticator.get(options)
    assert (await send(client, session, answer)).json()["state"] == "success"


async def test_passkey_replay__in_the_same_session_finds_it_over(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid, authenticator = await person_with_passkey(client, admin)
    options, session = await begin(client, "alice")
    captured = authenticator.get(options)
    assert (await send(client, session, captured)).json()["state"] == "success"
    before = snapshot(idm, uuid)
    again = await send(client, session, captured)
    assert again.status_code == 400 and again.json()["error"] == "invalid_auth_state"
    assert snapshot(idm, uuid) == before
