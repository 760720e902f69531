"""Reset tokens: the one-time code an admin hands to a person to begin a credential update.

This module owns the token's form, its stored record (the ``reset_token`` attribute) and the
rules for creating and redeeming one. It does not decide who may create one (the caller checks
that, ``idmd.idm.credentials``) and opens no transactions: callers pass theirs in.

Rules:
- A token is 16 characters of ``totp.BACKUP_ALPHABET`` shown as four groups of four
  (``abcd-efgh-jkmn-pqrs``, 79 bits): short enough to read out over the phone, far too many to
  guess. Typed either way: case, dashes and spaces are ignored.
- Stored as ``{"id": SHA-256 of the normalised token, "issued_at", "expires_at", "issued_by"}``
  in the account's single-valued ``reset_token``: one per account, a new one replaces the old.
  With 79 random bits a plain SHA-256 is as good as a slow hash (nothing to brute force), and
  it lets a redemption compare without knowing the account first.
- A token lives ``DEFAULT_RESET_TOKEN_TTL_SECONDS`` unless the creator asks for less or more,
  never more than ``MAX_RESET_TOKEN_TTL_SECONDS``.
- Redeeming removes the record in the same write transaction that found it valid, so a token
  works once even when two redemptions race. Unknown, used and expired tokens are all
  ``InvalidResetToken`` with the same detail; an expired record found on the way is removed.
- A token never reaches a repr, an error or a log line (``Secret``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from idmd import limits
from idmd.entry import Entry
from idmd.errors import InvalidResetToken, InvalidValue
from idmd.filter import eq
from idmd.idm.passwords import Secret
from idmd.idm.totp import BACKUP_ALPHABET
from idmd.server import ReadTxn, WriteTxn
from idmd.server.identity import INTERNAL
from idmd.server.mods import Set

TOKEN_CHARS = 16
GROUP_CHARS = 4
ATTR = "reset_token"
# Reset tokens are for people (``hermit person credential create-reset-token``).
ACCOUNT_CLASS = "person"

_INVALID = "this reset token is unknown, used or expired; ask an admin for a new one"


@dataclass(frozen=True)
class ResetTokenRecord:
    digest: str
    issued_at: float
    expires_at: float
    issued_by: str

    def encode(self) -> str:
        return json.dumps(
            {
                "id": self.digest,
                "issued_at": self.issued_at,
                "expires_at": self.expires_at,
                "issued_by": self.issued_by,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @staticmethod
    def decode(value: str) -> ResetTokenRecord | None:
        try:
            obj = json.loads(value)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        digest, issued, expires = obj.get("id"), obj.get("issued_at"), obj.get("expires_at")
        by = obj.get("issued_by")
        if not (isinstance(digest, str) and isinstance(by, str)):
            return None
        if not (isinstance(issued, int | float) and isinstance(expires, int | float)):
            return None
        return ResetTokenRecord(digest, float(issued), float(expires), by)


def normalise(token: str) -> str | None:
    """The token's 16 characters, or ``None`` when it cannot be one of ours."""
    normal = "".join(c for c in token.lower() if c not in "- ")
    if len(normal) != TOKEN_CHARS or any(c not in BACKUP_ALPHABET for c in normal):
        return None
    return normal


def digest(normal: str) -> str:
    return hashlib.sha256(b"hermit reset token\x00" + normal.encode("ascii")).hexdigest()


def generate() -> Secret:
    raw = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(TOKEN_CHARS))
    return Secret("-".join(raw[i : i + GROUP_CHARS] for i in range(0, TOKEN_CHARS, GROUP_CHARS)))


def validate_ttl(raw: object) -> int:
    """A token lifetime from a request (seconds). Errors: ``InvalidValue``."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidValue("ttl must be a whole number of seconds")
    if not 60 <= raw <= limits.MAX_RESET_TOKEN_TTL_SECONDS:
        raise InvalidValue(
            f"ttl must be between 60 and {limits.MAX_RESET_TOKEN_TTL_SECONDS} seconds"
        )
    return raw


def create(
    txn: WriteTxn, account: Entry, *, issued_by: str, now: float, ttl: int
) -> tuple[Secret, ResetTokenRecord]:
    """Give ``account`` a fresh token (replacing any other) and return it with its record.

    Written as ``INTERNAL``: the caller has checked who may create one.
    """
    token = generate()
    normal = normalise(token)
    assert normal is not None  # Invariant: generate() makes well-formed tokens.
    record = ResetTokenRecord(digest(normal), now, now + ttl, issued_by)
    txn.modify(INTERNAL, account.uuid, [Set(ATTR, frozenset({record.encode()}))])
    return token, record


def _record_of(entry: Entry) -> ResetTokenRecord | None:
    value = entry.first(ATTR)
    return ResetTokenRecord.decode(value) if value is not None else None


def find(txn: ReadTxn, token: str) -> Entry | None:
    """The person whose token this is (expired or not), or ``None``; nothing is changed.

    Cost: one pass over the people (decoded entries are cached); there is no index on the
    token, and a malformed token is refused before any read.
    """
    normal = normalise(token)
    if normal is None:
        return None
    wanted = digest(normal)
    found = None
    for entry in txn.internal_search(eq("class", ACCOUNT_CLASS)):
        record = _record_of(entry)
        if record is not None and hmac.compare_digest(record.digest, wanted) and found is None:
            found = entry
    return found


def redeem(txn: WriteTxn, token: str, now: float) -> Entry | None:
    """Consume ``token``: remove it and return the account it was for.

    ``None`` when the token is unknown, used or expired (an expired one is removed here, so
    the caller raises ``InvalidResetToken`` after this transaction commits).
    """
    entry = find(txn, token)
    if entry is None:
        return None
    record = _record_of(entry)
    assert record is not None  # Invariant: find() matched this entry's record.
    after, _ = txn.modify(INTERNAL, entry.uuid, [Set(ATTR, frozenset())])
    return after if now < record.expires_at else None


def invalid() -> InvalidResetToken:
    """The one refusal for an unknown, used or expired token."""
    return InvalidResetToken(_INVALID)


def expires_at(entry: Entry) -> float | None:
    """When ``entry``'s outstanding token expires, or ``None`` when it has none."""
    record = _record_of(entry)
    return record.expires_at if record is not None else None
