"""Bearer tokens: ES256-signed JWTs that name a server-side session record.

This module signs and checks tokens and encodes session records; it does not decide who may
log in (``flow.py``) and does not read or write entries itself, except for keeping the
signing key in the database meta table (``load_or_create_signing_key``).

Rules:
- Claims: ``sub`` (the account's uuid), ``sid`` (the session record's id), ``scope``
  (``read_write`` or ``read_only``), ``iat`` and ``exp`` (integer seconds). Every claim is
  required; an API token (``idmd/idm/auth/apitokens.py``) also carries ``knd: "api"``, and its
  record is an ``api_token`` value instead of an ``auth_session`` one; an anonymous token
  carries ``knd: "anonymous"`` and has no record at all (below). The only algorithm
  accepted is ES256 (RFC 7518 3.4), so ``alg: none`` and
  HMAC-with-the-public-key confusions cannot pass.
- Expiry is decided by the injected ``Clock``: a token is valid while ``now < exp``.
- A token is only as good as its session record: an ``auth_session`` value on the account
  entry, a JSON object ``{"id", "scope", "issued_at", "expires_at", "privileged_until"}``.
  Logout deletes the record, and with it every use of the token (``TokenRevoked``).
- Anonymous tokens are the exception: every host's unixd holds one, so a record each would
  grow the anonymous entry with the fleet (and a per-account cap would have hosts push each
  other's tokens out). They are read-only, only ever name the builtin anonymous account, and
  last until their ``exp``; there is nothing secret to revoke them from.
- ``privileged_until`` bounds the writes of a read-write session: it may write only while
  ``now < privileged_until`` (the privilege window of a login or a reauth, which rewrites the
  record). A record without it (API tokens, sessions from before the window existed) is
  privileged for its whole life.
- The signing key is a P-256 key made on first start and kept in the database meta table under
  ``SIGNING_KEY_META``; it never leaves the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hermit_common.clock import Clock
from hermit_common.lru import Lru
from hermit_common.secret import Secret
from idmd import limits
from idmd.errors import TokenExpired, TokenRevoked, Unauthenticated
from idmd.idm.ids import new_id
from idmd.idm.records import decode_record, encode_record

SIGNING_KEY_META = "token_signing_key"
ALGORITHM = "ES256"

Scope = Literal["read_write", "read_only"]
TokenKind = Literal["session", "api", "anonymous"]
_REQUIRED_CLAIMS = ("sub", "sid", "scope", "iat", "exp")


@dataclass(frozen=True)
class TokenClaims:
    account_uuid: str
    session_id: str
    scope: Scope
    issued_at: int
    expires_at: int
    kind: TokenKind = "session"

    @property
    def read_only(self) -> bool:
        return self.scope == "read_only"

    @property
    def record_attr(self) -> str:
        """The attribute of the account that holds this token's record."""
        return "api_token" if self.kind == "api" else "auth_session"


@dataclass(frozen=True)
class SessionRecord:
    """The server-side half of a login, stored as one ``auth_session`` value."""

    id: str
    scope: Scope
    issued_at: int
    expires_at: int
    privileged_until: int | None = None

    def encode(self) -> str:
        obj: dict[str, object] = {
            "id": self.id,
            "scope": self.scope,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
        }
        if self.privileged_until is not None:
            obj["privileged_until"] = self.privileged_until
        return encode_record(obj)

    @property
    def privilege_end(self) -> int | None:
        """When this record's writes stop, as the API shows it: ``None`` for a read-only
        record and for one privileged for its whole life."""
        return self.privileged_until if self.scope == "read_write" else None

    def privileged_at(self, now: float) -> bool:
        """Whether this record may write at ``now`` (scope and privilege window)."""
        if self.scope != "read_write":
            return False
        return self.privileged_until is None or now < self.privileged_until

    @staticmethod
    def decode(value: str) -> SessionRecord | None:
        """The record in ``value``, or ``None`` if it is not one of ours."""
        obj = decode_record(value)
        if obj is None:
            return None
        sid, scope = obj.get("id"), obj.get("scope")
        issued_at, expires_at = obj.get("issued_at"), obj.get("expires_at")
        if not isinstance(sid, str) or scope not in ("read_write", "read_only"):
            return None
        if not isinstance(issued_at, int) or not isinstance(expires_at, int):
            return None
        privileged_until = obj.get("privileged_until")
        if privileged_until is not None and not isinstance(privileged_until, int):
            return None
        return SessionRecord(
            id=sid,
            scope=scope,
            issued_at=issued_at,
            expires_at=expires_at,
            privileged_until=privileged_until,
        )


def new_session(
    *,
    read_only: bool,
    now: float,
    lifetime: int | None = None,
    privilege_lifetime: int | None = None,
) -> SessionRecord:
    """A fresh session record.

    ``lifetime`` defaults to the scope's token TTL; ``privilege_lifetime`` (seconds of writes
    from now, never past the end of the session) defaults to none, i.e. privileged throughout.
    """
    issued_at = int(now)
    if lifetime is None:
        lifetime = (
            limits.READ_ONLY_TOKEN_TTL_SECONDS if read_only else limits.READ_WRITE_TOKEN_TTL_SECONDS
        )
    expires_at = issued_at + lifetime
    privileged_until = None
    if privilege_lifetime is not None:
        end = min(expires_at, issued_at + privilege_lifetime)
        privileged_until = issued_at if read_only else end
    return SessionRecord(
        id=new_id(16),
        scope="read_only" if read_only else "read_write",
        issued_at=issued_at,
        expires_at=expires_at,
        privileged_until=privileged_until,
    )


def find_session(values: Iterable[str], session_id: str) -> tuple[str, SessionRecord] | None:
    """The stored value and record with id ``session_id`` among an entry's ``auth_session``."""
    for value in values:
        # Every bearer request looks its record up, and anonymous holds one per host: only a
        # value that contains the id (written verbatim: it is URL-safe) is worth decoding.
        if session_id not in value:
            continue
        record = SessionRecord.decode(value)
        if record is not None and record.id == session_id:
            return value, record
    return None


def expired_sessions(values: Iterable[str], now: float) -> list[str]:
    """The stored values whose records are over (or unreadable): safe to delete."""
    over = []
    for value in values:
        record = SessionRecord.decode(value)
        if record is None or now >= record.expires_at:
            over.append(value)
    return over


class TokenSigner:
    """Issues and checks tokens with one ES256 key."""

    def __init__(self, private_key_pem: bytes, clock: Clock) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the token signing key is not a P-256 key")
        self._key = key
        self._public = key.public_key()
        self._clock = clock
        # Tokens whose signature and claims were already checked, so a client reusing its token
        # costs one dict lookup instead of an ECDSA verification (a third of a unix-view read).
        # Keyed by the whole token: the same bytes verify the same way under the same key.
        # Expiry and the session record are still checked on every call.
        self._verified: Lru[str, TokenClaims] = Lru(limits.VERIFIED_TOKEN_CACHE_SIZE)

    @staticmethod
    def generate_key_pem() -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def issue(
        self, account_uuid: str, record: SessionRecord, *, kind: TokenKind = "session"
    ) -> Secret:
        claims: dict[str, object] = {
            "sub": account_uuid,
            "sid": record.id,
            "scope": record.scope,
            "iat": record.issued_at,
            "exp": record.expires_at,
        }
        if kind != "session":
            claims["knd"] = kind
        return Secret(jwt.encode(claims, self._key, algorithm=ALGORITHM))

    def check(self, token: str) -> TokenClaims:
        """The claims of a well-signed, unexpired token.

        Errors: ``Unauthenticated`` for anything not signed by us or malformed,
        ``TokenExpired`` once ``now >= exp``. The session record is checked by the caller
        (``check_session``), which needs the account entry.
        """
        claims = self._verified.touch(token)
        if claims is None:
            claims = self._verify(token)
            self._verified.put(token, claims)
            self._verified.trim()
        if self._clock.now() >= claims.expires_at:
            raise TokenExpired("the bearer token has expired; log in again")
        return claims

    def _verify(self, token: str) -> TokenClaims:
        """Check the signature and the shape of the claims (not the expiry)."""
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                options={
                    "require": list(_REQUIRED_CLAIMS),
                    # Expiry is ours to decide, with the injected clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError:
            raise Unauthenticated("the bearer token is not valid") from None
        sub, sid, scope = claims["sub"], claims["sid"], claims["scope"]
        iat, exp = claims["iat"], claims["exp"]
        if not (isinstance(sub, str) and isinstance(sid, str)):
            raise Unauthenticated("the bearer token is not valid")
        if scope not in ("read_write", "read_only"):
            raise Unauthenticated("the bearer token is not valid")
        if not (isinstance(iat, int) and isinstance(exp, int)):
            raise Unauthenticated("the bearer token is not valid")
        kind = claims.get("knd", "session")
        if kind not in ("session", "api", "anonymous"):
            raise Unauthenticated("the bearer token is not valid")
        return TokenClaims(
            account_uuid=sub,
            session_id=sid,
            scope=scope,
            issued_at=iat,
            expires_at=exp,
            kind=kind,
        )


def check_session(claims: TokenClaims, values: Iterable[str], now: float) -> SessionRecord:
    """The session record ``claims`` names among an account's ``auth_session`` values.

    Errors: ``TokenRevoked`` when the record is gone (logout, revocation, account deleted) or
    does not match the token; ``TokenExpired`` when the record itself is over.
    """
    found = find_session(values, claims.session_id)
    if found is None:
        raise TokenRevoked("this session has been ended; log in again")
    _, record = found
    if record.scope != claims.scope or record.expires_at != claims.expires_at:
        raise TokenRevoked("this session has been ended; log in again")
    if now >= record.expires_at:
        raise TokenExpired("the bearer token has expired; log in again")
    return record


class MetaStore(Protocol):
    def get_meta(self, key: str) -> bytes | None: ...
    def set_meta(self, key: str, value: bytes) -> None: ...


def load_or_create_signing_key(txn: MetaStore) -> bytes:
    """The signing key's PEM from ``txn``, making and storing one on first start."""
    pem = txn.get_meta(SIGNING_KEY_META)
    if pem is None:
        pem = TokenSigner.generate_key_pem()
        txn.set_meta(SIGNING_KEY_META, pem)
    return pem
