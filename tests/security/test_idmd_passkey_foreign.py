"""Passkey answers hermit must not trust although they are signed by a real passkey:

- one made for another origin (a phishing page on another port of the same host: fido2's
  default check accepts any port; hermit compares the origin exactly), at sign-in and at
  enrolment;
- one from an authenticator that did not verify the user (no PIN, fingerprint or face: a
  passkey alone must be multi-factor), at sign-in and at enrolment.

Each is denied with its reason; nothing is stored, no session is opened, and the same
authenticator with the right origin and user verification signs in afterwards.
"""

from __future__ import annotations

import httpx
import pytest

from idmd.idm import Idm
from idmd.idm.credentials import passkeys
from tests.idmd.app_client import BASE_URL, bearer, login
from tests.idmd.soft_authenticator import SoftAuthenticator
from tests.security.passkey_attacks import (
    PASSWORD,
    begin,
    person_with_passkey,
    send,
    snapshot,
)

OTHER_ORIGIN = BASE_URL + ":8443"


@pytest.mark.parametrize(
    ("knob", "value", "reason"),
    [
        ("origin", OTHER_ORIGIN, passkeys.WRONG_ORIGIN.format(origin=BASE_URL)),
        ("origin", "http://idm.example.com", passkeys.WRONG_ORIGIN.format(origin=BASE_URL)),
        ("user_verified", False, passkeys.NO_USER_VERIFICATION),
    ],
)
async def test_passkey_foreign__assertions_are_denied(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm,
    knob: str, value: object, reason: str,
) -> None:
    uuid, authenticator = await person_with_passkey(client, admin)
    before = snapshot(idm, uuid)
    setattr(authenticator, knob, value)
    for name in ("alice", None):
        options, session = await begin(client, name)
        denied = await send(client, session, authenticator.get(options))
        assert denied.json() == {"state": "denied", "reason": reason}
    assert snapshot(idm, uuid) == before
    authenticator.origin, authenticator.user_verified = BASE_URL, True
    options, session = await begin(client, None)
    assert (await send(client, session, authenticator.get(options))).json()["state"] == "success"


@pytest.mark.parametrize(
    ("knobs", "detail"),
    [
        ({"origin": OTHER_ORIGIN}, "another site"),
        ({"user_verified": False}, "did not verify the user"),
    ],
)
async def test_passkey_foreign__enrolments_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str], idm: Idm,
    knobs: dict[str, object], detail: str,
) -> None:
    uuid, _ = await person_with_passkey(client, admin)
    before = snapshot(idm, uuid)
    token = await login(client, "alice", PASSWORD)
    begun = await client.post("/v1/person/alice/credential/update", headers=bearer(token))
    sid = begun.json()["session"]
    base = "/v1/credential/update"
    options = await client.post(f"{base}/passkey/begin", json={"session": sid, "label": "evil"})
    authenticator = SoftAuthenticator(origin=BASE_URL)
    for knob, value in knobs.items():
        setattr(authenticator, knob, value)
    answer = authenticator.create(options.json())
    refused = await client.post(f"{base}/passkey/finish", json={"session": sid, "passkey": answer})
    assert refused.status_code == 400 and detail in refused.json()["detail"]
    status = await client.post(f"{base}/status", json={"session": sid})
    assert [p["label"] for p in status.json()["passkeys"]] == ["laptop"]
    assert (await client.post(f"{base}/commit", json={"session": sid})).json()["changed"] is False
    assert snapshot(idm, uuid)[0] == before[0]
