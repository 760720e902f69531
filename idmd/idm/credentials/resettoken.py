"""Reset tokens: the one-time code an admin hands to a person to begin a credential update.

This module owns the token's form, its stored record (the ``reset_token`` attribute), the
rules for creating and redeeming one, and the in-memory index that finds a token's person.
It does not decide who may create one (the caller checks that, ``idmd.idm.credentials.updates``) and
opens no transactions: callers pass theirs in.

Rules:
- A token is 16 characters of ``totp.BACKUP_ALPHABET`` shown as four groups of four
  (``abcd-efgh-jkmn-pqrs``, 79 bits): short enough to read out over the phone, far too many to
  guess. Typed either way: case, dashes and spaces are ignored.
- Stored as ``{"id": SHA-256 of the normalised token, "issued_at", "expires_at", "issued_by"}``
  in the account's single-valued ``reset_token``: one per account, a new one replaces the old.
  With 79 random bits a plain SHA-256 is as good as a slow hash (nothing to brute force), and
  it lets a redemption find the person from the token alone (``ResetTokens``' index).
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
import secrets
from dataclasses import dataclass

from hermit_common.clock import Clock
from hermit_common.errors import InvalidValue
from hermit_common.secret import Secret
from idmd import limits
from idmd.entry import Entry
from idmd.errors import InvalidResetToken
from idmd.filter import eq
from idmd.idm.credentials.totp import BACKUP_ALPHABET
from idmd.idm.records import decode_record, encode_record
from idmd.server import ReadTxn, WriteTxn
from idmd.server.identity import INTERNAL, Identity
from idmd.server.mods import Set

TOKEN_CHARS = 16
GROUP_CHARS = 4
ATTR = "reset_token"
# Reset tokens are for people (``hermit person credential create-reset-token``).
ACCOUNT_CLASS = "person"

# How often at most a token the index does not know makes it rebuild from the database.
RESCAN_SECONDS = 60.0

_INVALID = "this reset token is unknown, used or expired; ask an admin for a new one"


@dataclass(frozen=True)
class ResetTokenRecord:
    digest: str
    issued_at: float
    expires_at: float
    issued_by: str

    def encode(self) -> str:
        return encode_record(
            {
                "id": self.digest,
                "issued_at": self.issued_at,
                "expires_at": self.expires_at,
                "issued_by": self.issued_by,
            }
        )

    @staticmethod
    def decode(value: str) -> ResetTokenRecord | None:
        obj = decode_record(value)
        if obj is None:
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


class ResetTokens:
    """Creating and redeeming tokens, with an in-memory index from digest to person.

    Redeeming needs no login, so it must not cost a pass over every person (about 55 ms for
    10,000 of them): the index answers instead. Tokens made by this process enter it at once;
    a digest it does not know (a token made before a restart, or restored from a backup)
    triggers a rebuild from the database at most every ``RESCAN_SECONDS``, so guessing
    cannot make the server scan more often than that. Every hit is checked against the stored
    record, so a stale index entry only ever refuses.
    """

    def __init__(self, clock: Clock, *, rescan_seconds: float = RESCAN_SECONDS) -> None:
        self._clock = clock
        self._rescan_seconds = rescan_seconds
        # Invariant: at most one digest per person that had a token since the last rebuild
        # (create forgets the replaced one, redeem the used one).
        self._by_digest: dict[str, str] = {}
        self._scanned_at: float | None = None

    def create(
        self, txn: WriteTxn, account: Entry, *, issued_by: str, ttl: int, by: Identity
    ) -> tuple[Secret, ResetTokenRecord]:
        """Give ``account`` a fresh token (replacing any other); the token and its record.

        Written as ``by``: the caller has checked the access profiles (``on_behalf_of`` the
        maker, so the invariants of privileged accounts still judge it).
        """
        now = self._clock.now()
        token = generate()
        normal = normalise(token.reveal())
        assert normal is not None  # Invariant: generate() makes well-formed tokens.
        record = ResetTokenRecord(digest(normal), now, now + ttl, issued_by)
        old = record_of(account)
        txn.modify(by, account.uuid, [Set(ATTR, frozenset({record.encode()}))])
        if old is not None:
            self._by_digest.pop(old.digest, None)
        self._by_digest[record.digest] = account.uuid
        return token, record

    def find(self, txn: ReadTxn, token: str) -> Entry | None:
        """The person whose token this is (expired or not), or ``None``; nothing is written."""
        normal = normalise(token)
        if normal is None:
            return None
        wanted = digest(normal)
        uuid = self._by_digest.get(wanted)
        if uuid is None and self._may_rescan():
            self._rescan(txn)
            uuid = self._by_digest.get(wanted)
        entry = txn.get(uuid) if uuid is not None else None
        record = record_of(entry) if entry is not None else None
        if record is None or not hmac.compare_digest(record.digest, wanted):
            self._by_digest.pop(wanted, None)
            return None
        return entry

    def redeem(self, txn: WriteTxn, token: str) -> Entry | None:
        """Use ``token`` up: remove it and return the person it was for.

        ``None`` when the token is unknown, used or expired (an expired one is removed here,
        so the caller raises ``invalid()`` after this transaction commits).
        """
        entry = self.find(txn, token)
        if entry is None:
            return None
        record = record_of(entry)
        assert record is not None  # Invariant: find() matched this entry's record.
        after, _ = txn.modify(INTERNAL, entry.uuid, [Set(ATTR, frozenset())])
        self._by_digest.pop(record.digest, None)
        return after if self._clock.now() < record.expires_at else None

    def _may_rescan(self) -> bool:
        now = self._clock.now()
        return self._scanned_at is None or now - self._scanned_at >= self._rescan_seconds

    def _rescan(self, txn: ReadTxn) -> None:
        self._scanned_at = self._clock.now()
        self._by_digest = {
            record.digest: entry.uuid
            for entry in txn.internal_search(eq("class", ACCOUNT_CLASS))
            if (record := record_of(entry)) is not None
        }


def record_of(entry: Entry) -> ResetTokenRecord | None:
    """The reset token record of ``entry`` (a person), or None."""
    value = entry.first(ATTR)
    return ResetTokenRecord.decode(value) if value is not None else None


def invalid() -> InvalidResetToken:
    """The one refusal for an unknown, used or expired token."""
    return InvalidResetToken(_INVALID)
