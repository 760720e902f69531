"""A software WebAuthn authenticator and browser, for tests that never start a browser.

``SoftAuthenticator`` answers the options hermit sends (``{"publicKey": {...}}``, the JSON form
``PublicKeyCredential.parseCreationOptionsFromJSON`` / ``parseRequestOptionsFromJSON`` take)
the way Chromium's ``credential.toJSON()`` does: ``id``, ``rawId``, ``type``,
``authenticatorAttachment``, ``clientExtensionResults`` and ``response.{clientDataJSON,
attestationObject | authenticatorData, signature, userHandle}``, every binary value base64url
without padding. It plays the browser too (it writes ``clientDataJSON`` with its ``origin``).

Its keys are P-256 (ES256, ``cryptography``), its CBOR ``fido2.cbor``'s; every credential is
discoverable (kept with its RP ID and user handle, as a passkey is), attestation ``none``.

Knobs (attributes, changeable between ceremonies):
- ``origin``: what clientDataJSON says the page's origin was (another port: an assertion made
  for another origin);
- ``user_verified``: whether the UV flag is set (an authenticator without user verification);
- ``sign_count``: the counter the next signature starts from; ``counter_step``: how much each
  signature adds to it (0: a synced passkey whose counter stays 0);
- ``rp_id``: None to use the options' RP ID, else the RP ID it signs for.
``clone()`` copies every credential with its key and counter into a second authenticator (a
cloned authenticator, whose counter goes stale as soon as the first one is used).
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import AttestedCredentialData, AuthenticatorData

JSON = dict[str, Any]
FLAG = AuthenticatorData.FLAG
# The AAGUID of an authenticator that tells nothing of its make (attestation none).
ZERO_AAGUID = bytes(16)


class AuthenticatorRefused(Exception):
    """What a browser's ceremony would reject with a DOMException (its ``name`` here)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass
class SoftCredential:
    """One discoverable credential: its key, where it belongs and its own counter."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    user_name: str
    sign_count: int

    def __deepcopy__(self, memo: dict[int, object]) -> SoftCredential:
        # The key object is immutable: a clone shares it, which is what a clone is.
        return SoftCredential(
            self.credential_id, self.private_key, self.rp_id, self.user_handle,
            self.user_name, self.sign_count,
        )


def _b64(data: bytes) -> str:
    return websafe_encode(data)


def _rp_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode()).digest()


class SoftAuthenticator:
    """A platform authenticator with resident keys, user verification and a browser around it.

    Invariant: ``credentials`` maps each credential id to the credential it names.
    """

    def __init__(
        self,
        *,
        origin: str,
        user_verified: bool = True,
        sign_count: int = 0,
        counter_step: int = 1,
        rp_id: str | None = None,
    ) -> None:
        self.origin = origin
        self.user_verified = user_verified
        self.sign_count = sign_count
        self.counter_step = counter_step
        self.rp_id = rp_id
        self.credentials: dict[bytes, SoftCredential] = {}

    # -- the two ceremonies ----------------------------------------------------------------

    def create(
        self, options: Mapping[str, Any], *, credential_id: bytes | None = None
    ) -> JSON:
        """``navigator.credentials.create(options)`` then ``toJSON()``.

        ``credential_id``: the new credential's id (a test's forgery), else 32 random bytes.
        Errors: ``AuthenticatorRefused("InvalidStateError")`` when one of
        ``excludeCredentials`` is this authenticator's, as a browser refuses.
        """
        public_key = options["publicKey"]
        rp_id = self.rp_id or public_key["rp"]["id"]
        for descriptor in public_key.get("excludeCredentials") or []:
            if websafe_decode(descriptor["id"]) in self.credentials:
                raise AuthenticatorRefused(
                    "InvalidStateError", "the authenticator holds an excluded credential"
                )
        algorithms = [p["alg"] for p in public_key["pubKeyCredParams"]]
        if ES256.ALGORITHM not in algorithms:
            raise AuthenticatorRefused("NotSupportedError", "ES256 was not offered")
        user = public_key["user"]
        credential = SoftCredential(
            credential_id=credential_id or secrets.token_bytes(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=websafe_decode(user["id"]),
            user_name=str(user.get("name", "")),
            sign_count=self.sign_count,
        )
        # A resident credential replaces any other of the same RP and user handle.
        for other in list(self.credentials.values()):
            if other.rp_id == rp_id and other.user_handle == credential.user_handle:
                del self.credentials[other.credential_id]
        self.credentials[credential.credential_id] = credential
        attested = AttestedCredentialData.create(
            ZERO_AAGUID,
            credential.credential_id,
            ES256.from_cryptography_key(  # type: ignore[no-untyped-call]
                credential.private_key.public_key()
            ),
        )
        auth_data = AuthenticatorData.create(
            _rp_hash(rp_id), self._flags() | FLAG.AT, credential.sign_count, attested
        )
        attestation = cbor.encode({"fmt": "none", "attStmt": {}, "authData": bytes(auth_data)})
        client_data = self._client_data("webauthn.create", public_key["challenge"])
        return {
            "id": _b64(credential.credential_id),
            "rawId": _b64(credential.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": _b64(client_data),
                "attestationObject": _b64(attestation),
                "authenticatorData": _b64(bytes(auth_data)),
                "publicKeyAlgorithm": ES256.ALGORITHM,
                "transports": ["internal"],
            },
        }

    def get(
        self, options: Mapping[str, Any], *, credential_id: bytes | None = None
    ) -> JSON:
        """``navigator.credentials.get(options)`` then ``toJSON()``.

        The credential is ``credential_id`` when given, else one allowed by
        ``allowCredentials`` (or, without it, any of the RP's: the newest). Its counter moves
        by ``counter_step`` before it signs. Errors: ``AuthenticatorRefused("NotAllowedError")``
        when it has no credential to answer with.
        """
        public_key = options["publicKey"]
        rp_id = self.rp_id or public_key["rpId"]
        credential = self._pick(rp_id, public_key, credential_id)
        if self.counter_step:
            credential.sign_count += self.counter_step
        auth_data = AuthenticatorData.create(
            _rp_hash(rp_id), self._flags(), credential.sign_count
        )
        client_data = self._client_data("webauthn.get", public_key["challenge"])
        signature = credential.private_key.sign(
            bytes(auth_data) + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": _b64(credential.credential_id),
            "rawId": _b64(credential.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": _b64(client_data),
                "authenticatorData": _b64(bytes(auth_data)),
                "signature": _b64(signature),
                "userHandle": _b64(credential.user_handle),
            },
        }

    # -- copies ----------------------------------------------------------------------------

    def clone(self) -> SoftAuthenticator:
        """A second authenticator holding copies of every credential, counters included."""
        twin = SoftAuthenticator(
            origin=self.origin,
            user_verified=self.user_verified,
            sign_count=self.sign_count,
            counter_step=self.counter_step,
            rp_id=self.rp_id,
        )
        twin.credentials = copy.deepcopy(self.credentials)
        return twin

    def only(self) -> SoftCredential:
        """Its one credential (tests that enrolled exactly one)."""
        (credential,) = self.credentials.values()
        return credential

    # -- helpers ---------------------------------------------------------------------------

    def _flags(self) -> AuthenticatorData.FLAG:
        flags = FLAG.UP
        if self.user_verified:
            flags |= FLAG.UV
        return flags

    def _client_data(self, kind: str, challenge: str) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        return json.dumps(data, separators=(",", ":")).encode()

    def _pick(
        self, rp_id: str, public_key: Mapping[str, Any], credential_id: bytes | None
    ) -> SoftCredential:
        mine = [c for c in self.credentials.values() if c.rp_id == rp_id]
        allowed = [websafe_decode(d["id"]) for d in public_key.get("allowCredentials") or []]
        if allowed:
            mine = [c for c in mine if c.credential_id in allowed]
        if credential_id is not None:
            mine = [c for c in mine if c.credential_id == credential_id]
        if not mine:
            raise AuthenticatorRefused("NotAllowedError", "no credential for this request")
        return mine[-1]
