"""TOTP credentials (RFC 6238) and single-use backup codes: the records and their checks.

This module owns the stored form of a TOTP (one ``totp`` or ``unix_totp`` value per label), the
rule for which codes are accepted, enrolment (including apps that ignore the algorithm), and
backup codes. It reads and writes no entries: the login flow and credential updates load the
values, call these functions with the injected clock's time, and store what they return.

Rules:
- Secrets are 160 random bits (RFC 4226 section 4 recommends 160), base32 for the apps.
- A code is accepted for the current time step and the one before (a code typed as the step
  turned), never a later one, and only for a step after the last one accepted: the same code,
  or an older one, is never accepted twice (RFC 6238 section 5.2). The caller stores the
  record ``check`` returns, so the step it used is remembered.
- Enrolment is confirmed by a code. An app that ignores ``algorithm=`` in the URI computes
  SHA-1 codes whatever was asked: when a code fails for the asked algorithm but matches SHA-1,
  the TOTP is stored as SHA-1, so the person's app keeps working.
- Backup codes carry 59 random bits each, shown once and stored as salted SHA-256 (with that much
  entropy a slow hash buys nothing, and checking ten of them must stay cheap); a used code is
  removed by the caller.
- Codes and secrets never reach a repr or an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

import pyotp

from hermit_common.errors import InvalidValue
from hermit_common.secret import Secret
from idmd import limits
from idmd.idm.records import decode_record, encode_record

Algorithm = Literal["sha1", "sha256", "sha512"]
ALGORITHMS: tuple[Algorithm, ...] = ("sha1", "sha256", "sha512")
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def validate_algorithm(raw: object) -> Algorithm:
    """A TOTP's hash algorithm as a request names it. Errors: ``InvalidValue``."""
    for known in ALGORITHMS:
        if raw == known:
            return known
    raise InvalidValue(f"algorithm must be one of {', '.join(ALGORITHMS)}")

# Backup codes: lowercase letters and digits without look-alikes (0/o, 1/l/i), 31 symbols,
# 12 of them = 59 bits; shown in groups of four ("abcd-efgh-jkmn") and typed either way.
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
BACKUP_CODE_CHARS = 12
_BACKUP_SCHEME = "sha256"


@dataclass(frozen=True)
class TotpRecord:
    """One enrolled TOTP, as stored in a ``totp`` or ``unix_totp`` value."""

    label: str
    secret: str = field(repr=False)  # base32
    algorithm: Algorithm = "sha1"
    digits: int = limits.TOTP_DIGITS
    step: int = limits.TOTP_STEP_SECONDS
    # The time-step counter of the last code accepted; codes of this step or before are not.
    last_counter: int = -1

    def encode(self) -> str:
        return encode_record(
            {
                "id": self.label,
                "secret": self.secret,
                "algorithm": self.algorithm,
                "digits": self.digits,
                "step": self.step,
                "last_counter": self.last_counter,
            }
        )

    @staticmethod
    def decode(value: str) -> TotpRecord | None:
        """The record in a stored value, or ``None`` if it is not one of ours."""
        obj = decode_record(value)
        if obj is None:
            return None
        label, secret, algorithm = obj.get("id"), obj.get("secret"), obj.get("algorithm")
        digits, step, last = obj.get("digits"), obj.get("step"), obj.get("last_counter")
        if not (isinstance(label, str) and isinstance(secret, str) and algorithm in ALGORITHMS):
            return None
        if not (isinstance(digits, int) and digits in (6, 8)):
            return None
        if not (isinstance(step, int) and 10 <= step <= 120 and isinstance(last, int)):
            return None
        return TotpRecord(label, secret, algorithm, digits, step, last)

    def _totp(self, algorithm: Algorithm | None = None) -> pyotp.TOTP:
        return pyotp.TOTP(
            self.secret,
            digits=self.digits,
            digest=_DIGESTS[algorithm or self.algorithm],
            interval=self.step,
        )

    def code_at(self, counter: int) -> Secret:
        """The code for time step ``counter`` (for tests and the CLI's own checks)."""
        return Secret(self._totp().generate_otp(counter))

    def counter_at(self, now: float) -> int:
        return int(now // self.step)


def records(values: Iterable[str]) -> list[TotpRecord]:
    """The readable TOTP records among stored values, by label."""
    found = [r for v in values if (r := TotpRecord.decode(v)) is not None]
    return sorted(found, key=lambda r: r.label)


def new_record(label: str, algorithm: Algorithm = "sha1") -> TotpRecord:
    """A fresh TOTP with a random secret, not yet confirmed."""
    secret = base64.b32encode(secrets.token_bytes(limits.TOTP_SECRET_BYTES)).decode("ascii")
    return TotpRecord(label=label, secret=secret, algorithm=algorithm)


def provisioning_uri(record: TotpRecord, account: str, issuer: str) -> Secret:
    """The ``otpauth://totp/...`` URI an app scans (it carries the secret)."""
    return Secret(record._totp().provisioning_uri(name=account, issuer_name=issuer))


def _well_formed(record: TotpRecord, code: str) -> bool:
    return len(code) == record.digits and code.isascii() and code.isdigit()


def _matches(record: TotpRecord, code: str, counter: int, algorithm: Algorithm) -> bool:
    expected = record._totp(algorithm).generate_otp(counter)
    return hmac.compare_digest(expected.encode(), code.encode())


def check(record: TotpRecord, code: str, now: float) -> TotpRecord | None:
    """The record with the step ``code`` used remembered, or ``None`` if it is not accepted.

    Accepted: the code of the current step or the one before, for a step after
    ``last_counter``.
    """
    if not _well_formed(record, code):
        return None
    current = record.counter_at(now)
    for counter in (current, current - 1):
        if counter <= record.last_counter:
            continue
        if _matches(record, code, counter, record.algorithm):
            return replace(record, last_counter=counter)
    return None


def check_any(
    values: Iterable[str], code: str, now: float
) -> tuple[str, TotpRecord] | None:
    """The stored value that accepts ``code`` and its updated record, among several TOTPs."""
    for value in values:
        record = TotpRecord.decode(value)
        if record is None:
            continue
        updated = check(record, code, now)
        if updated is not None:
            return value, updated
    return None


def next_step(values: Iterable[str], now: float) -> float:
    """When the next time step of these TOTPs begins (the soonest among them; the default
    step's when none is readable): a wrong code waits for it, since no fresh code exists
    before."""
    steps = [record.step for record in records(values)] or [limits.TOTP_STEP_SECONDS]
    return float(min((now // step + 1) * step for step in steps))


def confirm(record: TotpRecord, code: str, now: float) -> TotpRecord | None:
    """Confirm an enrolment with the first code the app shows.

    Returns the record to store (switched to SHA-1 when the app ignored the algorithm), or
    ``None`` when the code matches neither.
    """
    accepted = check(record, code, now)
    if accepted is not None or record.algorithm == "sha1":
        return accepted
    sha1 = replace(record, algorithm="sha1")
    return check(sha1, code, now)


# -- backup codes ------------------------------------------------------------------------


def generate_backup_codes(count: int = limits.BACKUP_CODE_COUNT) -> list[Secret]:
    """``count`` fresh codes, formatted for reading (``abcd-efgh-jkmn``)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_CODE_CHARS))
        codes.append(Secret("-".join(raw[i : i + 4] for i in range(0, len(raw), 4))))
    return codes


def _normalise_backup_code(code: str) -> str:
    return "".join(c for c in code.lower() if c not in "- ")


def hash_backup_code(code: str) -> str:
    """The stored form of a backup code: ``sha256$SALT$DIGEST`` (both urlsafe base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.sha256(salt + _normalise_backup_code(code).encode()).digest()
    return "$".join(
        (
            _BACKUP_SCHEME,
            base64.urlsafe_b64encode(salt).decode().rstrip("="),
            base64.urlsafe_b64encode(digest).decode().rstrip("="),
        )
    )


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def match_backup_code(values: Iterable[str], code: str) -> str | None:
    """The stored value ``code`` matches (for the caller to remove), or ``None``."""
    normal = _normalise_backup_code(code)
    if len(normal) != BACKUP_CODE_CHARS or any(c not in BACKUP_ALPHABET for c in normal):
        return None
    found = None
    for value in values:
        scheme, _, rest = value.partition("$")
        salt_text, _, digest_text = rest.partition("$")
        if scheme != _BACKUP_SCHEME:
            continue
        try:
            salt, digest = _b64(salt_text), _b64(digest_text)
        except ValueError:
            continue
        candidate = hashlib.sha256(salt + normal.encode()).digest()
        # Every stored code is compared, so the time taken does not tell which one matched.
        if hmac.compare_digest(candidate, digest) and found is None:
            found = value
    return found
