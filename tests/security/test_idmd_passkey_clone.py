"""A cloned authenticator: an attacker copied a passkey's private key and counter (a backup
of a hardware key, a copied virtual authenticator) and uses the copy after its owner used
the original.

hermit checks the signature counter itself (fido2 does not): when the stored or the new
counter is non-zero and the new one is not greater, the sign-in is denied as a possible
cloned authenticator and logged (the account and label, never a secret); the stored counter
does not move, so the owner's original goes on working. Synced passkeys (counter 0 always)
pass, which tests/idmd/test_idm_auth_login.py shows.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from idmd.idm import Idm
from idmd.idm.credentials import passkeys
from tests.security.passkey_attacks import begin, person_with_passkey, send, snapshot


async def test_passkey_clone__with_a_stale_counter_is_denied_and_logged(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm, caplog: pytest.LogCaptureFixture
) -> None:
    uuid, original = await person_with_passkey(client, admin)
    clone = original.clone()
    for _ in range(2):
        options, session = await begin(client, None)
        assert (await send(client, session, original.get(options))).json()["state"] == "success"
    before = snapshot(idm, uuid)
    caplog.set_level(logging.WARNING, logger="idmd.idm.auth.login")
    for name in ("alice", None):
        options, session = await begin(client, name)
        answer = clone.get(options)
        denied = await send(client, session, answer)
        assert denied.json() == {"state": "denied", "reason": passkeys.CLONED}
        for secret in (answer["response"]["signature"], options["publicKey"]["challenge"]):
            assert secret not in caplog.text
    assert "possibly a cloned authenticator" in caplog.text and "'laptop'" in caplog.text
    assert snapshot(idm, uuid) == before
    (record,) = passkeys.records(before[0])
    assert record.sign_count == 2
    # The owner's authenticator still signs in.
    options, session = await begin(client, "alice")
    assert (await send(client, session, original.get(options))).json()["state"] == "success"


async def test_passkey_clone__a_counter_that_stops_is_denied(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid, authenticator = await person_with_passkey(client, admin)
    options, session = await begin(client, None)
    assert (await send(client, session, authenticator.get(options))).json()["state"] == "success"
    before = snapshot(idm, uuid)
    authenticator.counter_step = 0  # the same counter again: 1 after 1
    options, session = await begin(client, None)
    denied = await send(client, session, authenticator.get(options))
    assert denied.json() == {"state": "denied", "reason": passkeys.CLONED}
    assert snapshot(idm, uuid) == before


async def test_passkey_clone__two_answers_with_one_counter_pass_once(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    """Two sign-ins racing with the same counter (the original and its clone, each answering
    its own session before either is checked): the counter is checked and stored in one
    write transaction, so the first passes and the second is denied."""
    uuid, original = await person_with_passkey(client, admin)
    clone = original.clone()
    (first_options, first), (second_options, second) = [
        await begin(client, None) for _ in range(2)
    ]
    answers = original.get(first_options), clone.get(second_options)
    assert (await send(client, first, answers[0])).json()["state"] == "success"
    after_first = snapshot(idm, uuid)
    denied = await send(client, second, answers[1])
    assert denied.json() == {"state": "denied", "reason": passkeys.CLONED}
    assert snapshot(idm, uuid) == after_first
