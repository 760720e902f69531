"""Passkey answers naming a credential that is not the account's:

- an unknown credential id (a passkey never enrolled, or removed);
- another account's credential: bob's passkey at alice's name-first sign-in, and bob's
  signature under a user handle forged to name alice (usernameless), so that the handle,
  not the signature, would pick the account.

Each is denied as an unknown passkey: no account's counter moves, no session is opened, and
both people still sign in with their own passkeys.
"""

from __future__ import annotations

import httpx
from fido2.utils import websafe_encode

from idmd.idm import Idm
from idmd.idm.credentials import passkeys
from tests.idmd.app_client import BASE_URL
from tests.idmd.soft_authenticator import SoftAuthenticator
from tests.security.passkey_attacks import begin, person_with_passkey, send, snapshot


async def test_passkey_credentials__an_unknown_credential_is_denied(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    uuid, authenticator = await person_with_passkey(client, admin)
    before = snapshot(idm, uuid)
    stranger = SoftAuthenticator(origin=BASE_URL)
    # A passkey of this RP made for alice's handle but never enrolled.
    options, _ = await begin(client, "alice")
    handle = websafe_encode(authenticator.only().user_handle)
    stranger.create({"publicKey": {
        "rp": {"id": "idm.example.com", "name": "hermit"},
        "user": {"id": handle, "name": "alice"},
        "challenge": options["publicKey"]["challenge"],
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
    }})
    for name in ("alice", None):
        options, session = await begin(client, name)
        denied = await send(client, session, stranger.get(options))
        assert denied.json() == {"state": "denied", "reason": passkeys.UNKNOWN_PASSKEY}
    assert snapshot(idm, uuid) == before
    options, session = await begin(client, "alice")
    assert (await send(client, session, authenticator.get(options))).json()["state"] == "success"


async def test_passkey_credentials__another_accounts_passkey_is_denied(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm
) -> None:
    alice, alices = await person_with_passkey(client, admin, "alice")
    bob, bobs = await person_with_passkey(client, admin, "bob")
    before = snapshot(idm, alice), snapshot(idm, bob)
    # Bob's passkey where alice's name was given.
    options, session = await begin(client, "alice")
    denied = await send(client, session, bobs.get(options))
    assert denied.json() == {"state": "denied", "reason": passkeys.UNKNOWN_PASSKEY}
    # Bob's signature with the user handle rewritten to name alice.
    options, session = await begin(client, None)
    forged = bobs.get(options)
    forged["response"]["userHandle"] = websafe_encode(alices.only().user_handle)
    denied = await send(client, session, forged)
    assert denied.json() == {"state": "denied", "reason": passkeys.UNKNOWN_PASSKEY}
    # Bob's signature under alice's credential id.
    options, session = await begin(client, "alice")
    forged = bobs.get(options)
    forged["id"] = forged["rawId"] = websafe_encode(alices.only().credential_id)
    forged["response"]["userHandle"] = websafe_encode(alices.only().user_handle)
    denied = await send(client, session, forged)
    assert denied.json()["state"] == "denied"
    assert (snapshot(idm, alice), snapshot(idm, bob)) == before
    for name, authenticator in (("alice", alices), ("bob", bobs)):
        options, session = await begin(client, name)
        answer = authenticator.get(options)
        assert (await send(client, session, answer)).json()["state"] == "success"
