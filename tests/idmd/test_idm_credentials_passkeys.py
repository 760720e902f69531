"""Passkeys (idmd/idm/credentials/passkeys.py): the options hermit sends, what it accepts from
a browser's answer and what it refuses, the stored record, the user handle and the counter
rule. The browser and authenticator are tests/idmd/soft_authenticator.py."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

import pytest
from fido2.utils import websafe_decode, websafe_encode

from hermit_common.errors import InvalidValue
from idmd.idm.credentials import passkeys
from idmd.idm.credentials.passkeys import PasskeyRecord, RelyingParty
from tests.idmd.soft_authenticator import (
    AuthenticatorRefused,
    SoftAuthenticator,
    SoftCredential,
)

ORIGIN = "https://idm.example.com:8443"
ALICE = "0b1e9c2e-7a4b-4c7e-9f57-3d2f1c1a8e11"
NOW = 1_750_000_000


@pytest.fixture
def rp() -> RelyingParty:
    return RelyingParty(ORIGIN)


def _enrol(
    rp: RelyingParty, authenticator: SoftAuthenticator, label: str = "laptop"
) -> PasskeyRecord:
    options, ceremony = rp.registration(ALICE, "alice@example.com", "Alice", [])
    return rp.finish_registration(ceremony, authenticator.create(options), label=label, now=NOW)


def _sign_in(
    rp: RelyingParty, authenticator: SoftAuthenticator, record: PasskeyRecord
) -> int:
    options, ceremony = rp.request()
    answer = passkeys.read_assertion(authenticator.get(options))
    return rp.verify_assertion(ceremony, record, answer)


# -- the options -------------------------------------------------------------------------


def test_registration__asks_for_a_discoverable_verified_credential_of_the_host(
    rp: RelyingParty,
) -> None:
    options, _ = rp.registration(ALICE, "alice@example.com", "Alice", [])
    public_key = options["publicKey"]
    assert public_key["rp"] == {"name": "hermit", "id": "idm.example.com"}
    assert public_key["authenticatorSelection"]["residentKey"] == "required"
    assert public_key["authenticatorSelection"]["userVerification"] == "required"
    assert public_key["attestation"] == "none"
    assert websafe_decode(public_key["user"]["id"]) == uuidlib.UUID(ALICE).bytes
    assert public_key["user"]["name"] == "alice@example.com"


def test_registration__excludes_the_accounts_passkeys(rp: RelyingParty) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN)
    record = _enrol(rp, authenticator)
    options, _ = rp.registration(ALICE, "alice", "Alice", [record])
    excluded = options["publicKey"]["excludeCredentials"]
    assert [websafe_decode(d["id"]) for d in excluded] == [record.credential_id]
    with pytest.raises(AuthenticatorRefused):
        authenticator.create(options)


def test_request__offers_any_passkey_with_user_verification(rp: RelyingParty) -> None:
    options, _ = rp.request()
    public_key = options["publicKey"]
    assert public_key["rpId"] == "idm.example.com"
    assert public_key["userVerification"] == "required"
    assert "allowCredentials" not in public_key
    assert rp.request()[0]["publicKey"]["challenge"] != public_key["challenge"]


# -- enrolment ---------------------------------------------------------------------------


def test_registration__a_verified_answer_is_a_record(rp: RelyingParty) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN, sign_count=5)
    record = _enrol(rp, authenticator)
    assert record.label == "laptop"
    assert record.credential_id == authenticator.only().credential_id
    assert (record.sign_count, record.created_at, record.last_used_at) == (5, NOW, None)


@pytest.mark.parametrize(
    ("knobs", "detail"),
    [
        ({"origin": "https://idm.example.com:9999"}, "another site"),
        ({"origin": "https://idm.example.com"}, "another site"),
        ({"user_verified": False}, "did not verify the user"),
        ({"rp_id": "example.com"}, "another relying party"),
    ],
)
def test_registration__refused_answers(
    rp: RelyingParty, knobs: dict[str, Any], detail: str
) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN)
    for knob, value in knobs.items():
        setattr(authenticator, knob, value)
    options, ceremony = rp.registration(ALICE, "alice", "Alice", [])
    with pytest.raises(InvalidValue) as refused:
        rp.finish_registration(ceremony, authenticator.create(options), label="x", now=NOW)
    assert detail in refused.value.detail


def test_registration__an_answer_to_another_ceremony_is_refused(rp: RelyingParty) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN)
    mine, _ = rp.registration(ALICE, "alice", "Alice", [])
    _, other = rp.registration(ALICE, "alice", "Alice", [])
    with pytest.raises(InvalidValue) as refused:
        rp.finish_registration(other, authenticator.create(mine), label="x", now=NOW)
    assert refused.value.detail == passkeys.WRONG_CHALLENGE


@pytest.mark.parametrize(
    "answer",
    [None, "text", {}, {"type": "public-key"}, {"type": "public-key", "id": "a", "rawId": "a",
                                                "response": {"clientDataJSON": 5}}],
)
def test_registration__malformed_answers_are_invalid_values(
    rp: RelyingParty, answer: object
) -> None:
    _, ceremony = rp.registration(ALICE, "alice", "Alice", [])
    with pytest.raises(InvalidValue):
        rp.finish_registration(ceremony, answer, label="x", now=NOW)


def test_registration__garbage_inside_a_well_shaped_answer_is_an_invalid_value(
    rp: RelyingParty,
) -> None:
    options, ceremony = rp.registration(ALICE, "alice", "Alice", [])
    answer = SoftAuthenticator(origin=ORIGIN).create(options)
    answer["response"]["attestationObject"] = websafe_encode(b"\xff" * 40)
    with pytest.raises(InvalidValue):
        rp.finish_registration(ceremony, answer, label="x", now=NOW)


# -- sign-in -----------------------------------------------------------------------------


def test_assertion__verifies_and_answers_the_new_counter(rp: RelyingParty) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN)
    record = _enrol(rp, authenticator)
    assert _sign_in(rp, authenticator, record) == 1
    assert _sign_in(rp, authenticator, record) == 2


def test_assertion__carries_the_user_handle_of_the_account(rp: RelyingParty) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN)
    _enrol(rp, authenticator)
    options, _ = rp.request()
    answer = passkeys.read_assertion(authenticator.get(options))
    assert passkeys.account_of_handle(answer.user_handle) == ALICE


@pytest.mark.parametrize(
    ("knob", "value", "detail"),
    [
        ("origin", "https://idm.example.com:9999", "another site"),
        ("user_verified", False, "did not verify the user"),
    ],
)
def test_assertion__refused_answers(
    rp: RelyingParty, knob: str, value: object, detail: str
) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN)
    record = _enrol(rp, authenticator)
    setattr(authenticator, knob, value)
    with pytest.raises(InvalidValue) as refused:
        _sign_in(rp, authenticator, record)
    assert detail in refused.value.detail


def test_assertion__a_replayed_answer_fails_its_new_ceremony(rp: RelyingParty) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN)
    record = _enrol(rp, authenticator)
    options, ceremony = rp.request()
    answer = passkeys.read_assertion(authenticator.get(options))
    rp.verify_assertion(ceremony, record, answer)
    _, fresh = rp.request()
    with pytest.raises(InvalidValue) as refused:
        rp.verify_assertion(fresh, record, answer)
    assert refused.value.detail == passkeys.WRONG_CHALLENGE


def test_assertion__another_keys_signature_fails(rp: RelyingParty) -> None:
    authenticator = SoftAuthenticator(origin=ORIGIN)
    record = _enrol(rp, authenticator)
    impostor = SoftAuthenticator(origin=ORIGIN)
    _enrol(rp, impostor)
    # The impostor answers with its own key under the victim's credential id.
    own = impostor.only()
    impostor.credentials = {
        record.credential_id: SoftCredential(
            record.credential_id, own.private_key, own.rp_id, own.user_handle, "alice", 0
        )
    }
    with pytest.raises(InvalidValue) as refused:
        _sign_in(rp, impostor, record)
    assert "signature" in refused.value.detail


def test_assertion__a_registration_answer_is_not_an_assertion(rp: RelyingParty) -> None:
    options, _ = rp.registration(ALICE, "alice", "Alice", [])
    with pytest.raises(InvalidValue):
        passkeys.read_assertion(SoftAuthenticator(origin=ORIGIN).create(options))


# -- records, handles, the counter rule -----------------------------------------------------


def test_record__round_trips_and_tolerates_nothing_else(rp: RelyingParty) -> None:
    record = _enrol(rp, SoftAuthenticator(origin=ORIGIN)).used(7, NOW + 5)
    assert PasskeyRecord.decode(record.encode()) == record
    assert passkeys.records([record.encode(), "not json", '{"id": "x"}']) == [record]
    assert record.view() == {
        "label": "laptop",
        "created_at": "2025-06-15T15:06:40Z",
        "last_used_at": "2025-06-15T15:06:45Z",
    }
    broken = record.encode().replace('"credential":"', '"credential":"AAAA')
    assert PasskeyRecord.decode(broken) is None


def test_record__found_by_credential_id(rp: RelyingParty) -> None:
    one = _enrol(rp, SoftAuthenticator(origin=ORIGIN), "one")
    two = _enrol(rp, SoftAuthenticator(origin=ORIGIN), "two")
    values = [one.encode(), two.encode()]
    assert passkeys.find(values, two.credential_id) == (two.encode(), two)
    assert passkeys.find(values, b"unknown") is None


def test_user_handle__is_the_uuids_bytes_and_back() -> None:
    assert passkeys.account_of_handle(passkeys.user_handle(ALICE)) == ALICE
    assert passkeys.account_of_handle(None) is None
    assert passkeys.account_of_handle(b"short") is None
    assert passkeys.account_of_handle(ALICE.encode()) is None


@pytest.mark.parametrize(
    ("stored", "new", "ok"),
    [(0, 0, True), (0, 1, True), (5, 6, True), (5, 5, False), (5, 4, False), (5, 0, False),
     (0, 0, True)],
)
def test_counter_rule(stored: int, new: int, ok: bool) -> None:
    assert passkeys.counter_ok(stored, new) is ok


@pytest.mark.parametrize("label", ["Laptop", "phone-2", "a.b_c"])
def test_label__folded_like_every_label(label: str) -> None:
    assert passkeys.validate_passkey_label(label) == label.lower()


@pytest.mark.parametrize("label", ["", "my laptop", "x" * 65, 5, None])
def test_label__refused(label: object) -> None:
    with pytest.raises(InvalidValue):
        passkeys.validate_passkey_label(label)


def test_origin__without_a_host_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="names no host"):
        RelyingParty("not a url")
