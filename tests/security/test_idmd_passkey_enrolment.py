"""A registration answer to another credential update session's challenge: an attacker with
a session of their own (or a page that got the victim's options) makes their authenticator
answer options that were sent to someone else, to plant a passkey in the victim's account or
to take over the victim's pending enrolment.

The pending ceremony lives in one session; an answer is verified against that session's
challenge only, and the ceremony is over after one answer whatever it was. The answer is
refused, nothing is staged in either session, nothing is written.
"""

from __future__ import annotations

import httpx

from idmd.idm import Idm
from idmd.idm.credentials import passkeys
from tests.idmd.app_client import BASE_URL, bearer, login
from tests.idmd.soft_authenticator import SoftAuthenticator
from tests.security.passkey_attacks import PASSWORD, person_with_passkey, snapshot

BASE = "/v1/credential/update"


async def _session(client: httpx.AsyncClient, name: str) -> str:
    token = await login(client, name, PASSWORD)
    begun = await client.post(f"/v1/person/{name}/credential/update", headers=bearer(token))
    assert begun.status_code == 200, begun.text
    return str(begun.json()["session"])


async def test_passkey_enrolment__an_answer_to_another_sessions_challenge_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    victim, _ = await person_with_passkey(client, admin, "alice")
    attacker, _ = await person_with_passkey(client, admin, "mallory")
    victims = await _session(client, "alice")
    attackers = await _session(client, "mallory")
    before = snapshot(idm, victim), snapshot(idm, attacker)
    sent_to_victim = await client.post(
        f"{BASE}/passkey/begin", json={"session": victims, "label": "new"}
    )
    await client.post(f"{BASE}/passkey/begin", json={"session": attackers, "label": "new"})
    answer = SoftAuthenticator(origin=BASE_URL).create(sent_to_victim.json())
    refused = await client.post(
        f"{BASE}/passkey/finish", json={"session": attackers, "passkey": answer}
    )
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_value", "detail": passkeys.WRONG_CHALLENGE}
    # The attacker's ceremony is over; the victim's is untouched and still theirs.
    again = await client.post(
        f"{BASE}/passkey/finish", json={"session": attackers, "passkey": answer}
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"
    for sid in (victims, attackers):
        status = await client.post(f"{BASE}/status", json={"session": sid})
        assert status.json()["changed"] is False
        commit = await client.post(f"{BASE}/commit", json={"session": sid})
        assert commit.json()["changed"] is False
    assert (snapshot(idm, victim), snapshot(idm, attacker)) == before
