"""Checking the typed values a request carries, before they become attribute values.

The storage layer's syntaxes check every stored value again; this module exists so a request
is refused with a message in the API's own words (``mail``, ``expire_at``) and so values are in
their normalised form before the idm layer compares them (idempotent creates).

Rules: times are RFC 3339 with an offset, stored in UTC as ``YYYY-MM-DDTHH:MM:SSZ``; text is
at most ``MAX_TEXT_LEN`` characters without control characters; a login shell is an absolute
path that cannot break ``/etc/passwd``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hermit_common.errors import InvalidValue
from idmd import limits

# RFC 3339 section 5.6 "date-time" (full-date "T" full-time, the offset required).
_RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})"
)


def validate_text(field: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise InvalidValue(f"{field} must be a string")
    if not raw.strip():
        raise InvalidValue(f"{field} may not be empty")
    if len(raw) > limits.MAX_TEXT_LEN:
        raise InvalidValue(f"{field} may have at most {limits.MAX_TEXT_LEN} characters")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in raw):
        raise InvalidValue(f"{field} may not contain control characters")
    return raw


def validate_mail(raw: object) -> str:
    address = validate_text("mail", raw)
    local, at, domain = address.partition("@")
    if not at or not local or not domain or "@" in domain or " " in address:
        raise InvalidValue("mail must be an address like name@example.com")
    return address


def validate_mail_list(raw: object) -> frozenset[str]:
    if not isinstance(raw, list):
        raise InvalidValue("mail must be a list of addresses")
    if len(raw) > limits.MAX_MEMBERS_PER_REQUEST:
        raise InvalidValue("too many mail addresses")
    return frozenset(validate_mail(item) for item in raw)


def validate_time(field: str, raw: object) -> str:
    """The stored (UTC) form of an RFC 3339 time."""
    if not isinstance(raw, str) or not _RFC3339_RE.fullmatch(raw):
        raise InvalidValue(f"{field} must be an RFC 3339 time like 2026-11-25T12:00:00Z")
    try:
        when = datetime.fromisoformat(raw.upper()).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidValue(
            f"{field} must be an RFC 3339 time like 2026-11-25T12:00:00Z"
        ) from None
    # isoformat pads the year to four digits (strftime's %Y does not, for years < 1000).
    return when.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def time_to_epoch(stored: str | None) -> float | None:
    """Seconds since the epoch of a stored time (``None`` stays ``None``)."""
    if stored is None:
        return None
    try:
        return datetime.fromisoformat(stored).timestamp()
    except ValueError:
        return None


def iso_time(epoch: float) -> str:
    """``2027-01-15T09:00:00Z``: a moment as it is stored and as the API writes it (whole
    seconds, UTC); the inverse of ``time_to_epoch``."""
    return datetime.fromtimestamp(int(epoch), UTC).replace(tzinfo=None).isoformat() + "Z"


_LABEL_RE = re.compile(r"[a-z0-9._-]+")


def validate_label(raw: object, what: str, max_len: int) -> str:
    """A label of an SSH key, a TOTP or an API token: 1 to ``max_len`` of a-z 0-9 . _ -,
    folded to lowercase. ``what`` names it in the error ("an SSH key label")."""
    if not isinstance(raw, str):
        raise InvalidValue(f"{what} must be a string")
    label = raw.lower()
    if not 1 <= len(label) <= max_len or not _LABEL_RE.fullmatch(label):
        raise InvalidValue(
            f"{what} has 1 to {max_len} characters of a-z, 0-9, '.', '_' and '-'"
        )
    return label


def validate_loginshell(raw: object) -> str:
    if not isinstance(raw, str):
        raise InvalidValue("loginshell must be a string")
    if not raw.startswith("/") or len(raw) > limits.MAX_TEXT_LEN:
        raise InvalidValue("loginshell must be an absolute path")
    if any(ch in raw for ch in ":\n\r\0") or any(ord(ch) < 0x20 for ch in raw):
        raise InvalidValue("loginshell may not contain ':' or control characters")
    if "/../" in raw + "/" or raw.endswith("/"):
        raise InvalidValue("loginshell must be a plain absolute path to a file")
    return raw


def validate_gidnumber_type(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidValue("gidnumber must be an integer")
    return raw
