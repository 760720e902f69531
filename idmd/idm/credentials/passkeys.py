"""Passkeys (WebAuthn credentials): the stored records, the ceremonies and their checks.

This module owns the stored form of a passkey (one ``passkey`` value per label), hermit's
relying party over ``fido2.server.Fido2Server`` (the options it sends and what it accepts),
the user handle, and the signature counter rule. It reads and writes no entries: the
credential update sessions (``staging``/``updates``) stage what ``finish_registration``
returns, the login (``auth/login.py``) looks the credential up, calls ``verify_assertion`` and
stores the new counter inside the same write transaction.

Rules:
- RP ID = the host of ``origin``; the origin in clientDataJSON must equal ``origin`` exactly
  (fido2's default accepts any port of the RP ID's host); ``crossOrigin`` must be false.
- User verification and a discoverable (resident) credential are required, attestation is
  ``none`` (hermit trusts the person who enrols, not a make of authenticator).
  ``excludeCredentials`` lists the account's passkeys, so one authenticator is enrolled once.
  A browser does not report whether it made the credential discoverable; asking for it is
  what the relying party can do.
- The user handle is the 16 bytes of the account's uuid (``uuid.UUID(u).bytes``): compact,
  fixed-size, free of anything personal; an answer naming another handle is another account's.
- Each challenge is 32 random bytes and used once: the ceremony state lives in one auth or
  credential update session, and that session ends (or forgets it) with the step that uses it.
- The signature counter (fido2 does not check it): when the stored or the new counter is
  non-zero and the new one is not greater, the assertion is refused as a possible cloned
  authenticator; 0 and 0 pass (synced passkeys never count).
- Every refusal is an ``InvalidValue`` whose detail says what was wrong, never a secret
  (nothing of a passkey is secret to the server, but a challenge is still never echoed).
"""

from __future__ import annotations

import json
import logging
import uuid as uuidlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import constant_time
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticationResponse,
    CollectedClientData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hermit_common.errors import InvalidValue
from idmd.idm.records import decode_record, encode_record
from idmd.idm.values import iso_time, validate_label

log = logging.getLogger(__name__)

JSON = dict[str, Any]

RP_NAME = "hermit"
MAX_PASSKEYS_PER_ACCOUNT = 32
MAX_PASSKEY_LABEL_CHARS = 64
# Each base64url field of a browser's answer (a credential id is at most 1023 bytes; the
# client data and authenticator data of real authenticators are a few hundred).
MAX_FIELD_CHARS = 8192

UNKNOWN_PASSKEY = "unknown passkey: it is not registered for this account"
CLONED = (
    "this passkey's signature counter went backwards: possibly a cloned authenticator; "
    "the sign-in is refused (ask an admin to look at this passkey)"
)
WRONG_ORIGIN = "this passkey answer was made for another site: use {origin}"
WRONG_CHALLENGE = (
    "this passkey answer belongs to another or an already used ceremony: start again"
)
NO_USER_VERIFICATION = (
    "the authenticator did not verify the user (PIN, fingerprint or face): use one that does"
)


def validate_passkey_label(raw: object) -> str:
    return validate_label(raw, "a passkey label", MAX_PASSKEY_LABEL_CHARS)


def user_handle(account_uuid: str) -> bytes:
    """The WebAuthn user handle of an account (the decision is in the module doc)."""
    return uuidlib.UUID(account_uuid).bytes


def account_of_handle(handle: bytes | None) -> str | None:
    """The account uuid a user handle names, or ``None`` for no or a malformed handle."""
    if handle is None or len(handle) != 16:
        return None
    return str(uuidlib.UUID(bytes=handle))


def counter_ok(stored: int, new: int) -> bool:
    """The signature counter rule: a counter in use must grow; 0 and 0 pass."""
    return not ((stored or new) and new <= stored)


@dataclass(frozen=True)
class PasskeyRecord:
    """One enrolled passkey, as stored in a ``passkey`` value."""

    label: str
    credential: AttestedCredentialData = field(repr=False)
    sign_count: int
    created_at: int
    last_used_at: int | None = None

    @property
    def credential_id(self) -> bytes:
        return self.credential.credential_id

    def encode(self) -> str:
        return encode_record(
            {
                "id": self.label,
                "credential": websafe_encode(bytes(self.credential)),
                "sign_count": self.sign_count,
                "created_at": self.created_at,
                "last_used_at": self.last_used_at,
            }
        )

    @staticmethod
    def decode(value: str) -> PasskeyRecord | None:
        """The record in a stored value, or ``None`` if it is not one of ours."""
        obj = decode_record(value)
        if obj is None:
            return None
        label, raw, count = obj.get("id"), obj.get("credential"), obj.get("sign_count")
        created, used = obj.get("created_at"), obj.get("last_used_at")
        if not (isinstance(label, str) and isinstance(raw, str) and isinstance(count, int)):
            return None
        if not isinstance(created, int) or not (used is None or isinstance(used, int)):
            return None
        try:
            credential = AttestedCredentialData(websafe_decode(raw))
        except Exception:  # anything unreadable is not a record of ours
            return None
        return PasskeyRecord(label, credential, count, created, used)

    def used(self, sign_count: int, now: float) -> PasskeyRecord:
        return replace(self, sign_count=sign_count, last_used_at=int(now))

    def view(self) -> JSON:
        return {
            "label": self.label,
            "created_at": iso_time(self.created_at),
            "last_used_at": None if self.last_used_at is None else iso_time(self.last_used_at),
        }


def records(values: Iterable[str]) -> list[PasskeyRecord]:
    """The readable passkey records among stored values, by label."""
    found = [r for v in values if (r := PasskeyRecord.decode(v)) is not None]
    return sorted(found, key=lambda r: r.label)


def find(values: Iterable[str], credential_id: bytes) -> tuple[str, PasskeyRecord] | None:
    """The stored value and record of the passkey ``credential_id``, or ``None``."""
    for value in values:
        record = PasskeyRecord.decode(value)
        if record is not None and constant_time.bytes_eq(record.credential_id, credential_id):
            return value, record
    return None


@dataclass(frozen=True)
class Ceremony:
    """The server's half of one ceremony (its challenge), kept in the session that began
    it and never sent anywhere but in the options."""

    state: Mapping[str, Any] = field(repr=False)
    kind: str  # "webauthn.create" or "webauthn.get"


@dataclass(frozen=True)
class Assertion:
    """A browser's answer to request options, read but not yet verified."""

    credential_id: bytes
    user_handle: bytes | None
    response: AuthenticationResponse = field(repr=False)


def _check_fields(raw: object, response_keys: tuple[str, ...]) -> Mapping[str, Any]:
    """The shape of a ``toJSON()`` answer. Errors: ``InvalidValue``."""
    bad = InvalidValue("passkey must be the object the browser's credential.toJSON() gives")
    if not isinstance(raw, Mapping) or raw.get("type") != "public-key":
        raise bad
    response = raw.get("response")
    if not isinstance(response, Mapping):
        raise bad
    fields = [raw.get("id"), raw.get("rawId"), *(response.get(k) for k in response_keys)]
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_FIELD_CHARS for v in fields):
        raise bad
    handle = response.get("userHandle")
    if handle is not None and not (isinstance(handle, str) and len(handle) <= MAX_FIELD_CHARS):
        raise bad
    return raw


def read_assertion(raw: object) -> Assertion:
    """A ``toJSON()`` answer to request options. Errors: ``InvalidValue``."""
    checked = _check_fields(raw, ("clientDataJSON", "authenticatorData", "signature"))
    try:
        response = AuthenticationResponse.from_dict(checked)
    except Exception:  # fido2 raises what its parsers raise
        raise InvalidValue("passkey: the browser's answer could not be read") from None
    handle = response.response.user_handle
    return Assertion(response.raw_id, handle or None, response)


def _read_registration(raw: object) -> RegistrationResponse:
    checked = _check_fields(raw, ("clientDataJSON", "attestationObject"))
    try:
        return RegistrationResponse.from_dict(checked)
    except Exception:  # fido2 raises what its parsers raise
        raise InvalidValue("passkey: the browser's answer could not be read") from None


def _plain(options: object) -> JSON:
    """fido2's options as plain JSON (what the browser's parse*FromJSON take)."""
    plain: JSON = json.loads(json.dumps(dict(options)))  # type: ignore[call-overload]
    return plain


class RelyingParty:
    """hermit as a WebAuthn relying party for one ``origin``."""

    def __init__(self, origin: str) -> None:
        self.origin = origin.rstrip("/")
        rp_id = urlsplit(self.origin).hostname
        if not rp_id:
            raise ValueError(f"origin {origin!r} names no host")
        self.rp_id = rp_id
        self._server = Fido2Server(
            PublicKeyCredentialRpEntity(name=RP_NAME, id=rp_id),
            attestation=AttestationConveyancePreference.NONE,
            verify_origin=self._same_origin,
        )

    def _same_origin(self, origin: str) -> bool:
        return origin == self.origin

    # -- enrolment -------------------------------------------------------------------------

    def registration(
        self, account_uuid: str, name: str, display_name: str, existing: Iterable[PasskeyRecord]
    ) -> tuple[JSON, Ceremony]:
        """Creation options for a new passkey of the account, and the ceremony to keep."""
        options, state = self._server.register_begin(
            PublicKeyCredentialUserEntity(
                name=name, id=user_handle(account_uuid), display_name=display_name
            ),
            credentials=[r.credential for r in existing],
            resident_key_requirement=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return _plain(options), Ceremony(state, CollectedClientData.TYPE.CREATE.value)

    def finish_registration(
        self, ceremony: Ceremony, raw: object, *, label: str, now: float
    ) -> PasskeyRecord:
        """The passkey a browser's answer enrols. Errors: ``InvalidValue`` (what was wrong)."""
        registration = _read_registration(raw)
        self._check_client_data(ceremony, registration.response.client_data)
        try:
            auth_data = self._server.register_complete(dict(ceremony.state), registration)
        except ValueError as error:
            raise InvalidValue(_refusal(error)) from None
        credential = auth_data.credential_data
        if credential is None:
            raise InvalidValue("passkey: the answer carries no credential")
        return PasskeyRecord(label, credential, auth_data.counter, int(now))

    # -- sign-in ---------------------------------------------------------------------------

    def request(self) -> tuple[JSON, Ceremony]:
        """Request options (no ``allowCredentials``: any of the RP's passkeys may answer, and
        nothing tells a real name from an unknown one) and the ceremony to keep."""
        options, state = self._server.authenticate_begin(
            user_verification=UserVerificationRequirement.REQUIRED
        )
        return _plain(options), Ceremony(state, CollectedClientData.TYPE.GET.value)

    def verify_assertion(
        self, ceremony: Ceremony, record: PasskeyRecord, assertion: Assertion
    ) -> int:
        """The signature counter of an assertion by ``record``'s passkey, once its origin,
        challenge, RP, flags and signature are right (the counter rule is the caller's, who
        stores it). Errors: ``InvalidValue``."""
        self._check_client_data(ceremony, assertion.response.response.client_data)
        try:
            self._server.authenticate_complete(
                dict(ceremony.state), [record.credential], assertion.response
            )
        except ValueError as error:
            raise InvalidValue(_refusal(error)) from None
        return int(assertion.response.response.authenticator_data.counter)

    def _check_client_data(self, ceremony: Ceremony, client_data: CollectedClientData) -> None:
        """The clear refusals fido2 would give less clearly (it checks them again)."""
        if client_data.type != ceremony.kind:
            raise InvalidValue("passkey: the answer is for another kind of ceremony")
        if client_data.origin != self.origin:
            raise InvalidValue(WRONG_ORIGIN.format(origin=self.origin))
        if client_data.cross_origin:
            raise InvalidValue("passkey: the answer was made inside another site's frame")
        expected = websafe_decode(ceremony.state["challenge"])
        if not constant_time.bytes_eq(expected, client_data.challenge):
            raise InvalidValue(WRONG_CHALLENGE)


def _refusal(error: ValueError) -> str:
    """A refusal of fido2 in hermit's words."""
    text = str(error)
    if "User verification" in text or "user verified" in text.lower():
        return NO_USER_VERIFICATION
    if "RP ID" in text:
        return "passkey: the answer was made for another relying party"
    if "User Present" in text:
        return "passkey: the authenticator did not see the user present"
    if "signature" in text.lower():
        return "passkey: the signature does not verify"
    return "passkey: the answer was refused"
