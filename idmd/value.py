"""Attribute syntaxes: what a value of each kind may be, and its one stored (normalised) form.

What it does not do: rules that span values or attributes (ssh key labels unique per entry,
single-valued attributes) live in ``schema``; rules about names beyond their shape (reserved
names, uuids as names) live in the names plugin, which uses ``idmd.names.validate_name``.

Rule: ``normalise(s, normalise(s, v)) == normalise(s, v)``: stored values are fixed points, so
verify can check every stored value by normalising it again.

Errors: ``InvalidValue`` naming the attribute and the rule, never echoing a value that could
be a secret (credentials and sessions are never quoted).
"""

from __future__ import annotations

import enum
import json
import re
import unicodedata
import uuid as uuidlib
from datetime import UTC, datetime

from hermit_common.errors import InvalidRequest, InvalidValue
from idmd.filter import dumps, parse_filter
from idmd.limits import (
    MAX_NAME_LEN,
    MAX_SSH_KEY_LABEL_LEN,
    MAX_SSH_KEY_LEN,
    MAX_TEXT_LEN,
)


class Syntax(enum.Enum):
    INAME = "iname"  # a lowercase identifier: names, class and attribute names
    UUID = "uuid"
    REFERENCE = "reference"  # the uuid of another entry (refint checks it exists)
    UTF8 = "utf8"
    MAIL = "mail"
    UINT32 = "uint32"
    PATH = "path"
    SSH_KEY = "ssh_key"  # "LABEL:KEYLINE"
    TIME = "time"  # RFC 3339, UTC
    CREDENTIAL = "credential"  # an opaque PHC string
    SESSION = "session"  # an opaque JSON object with an "id"
    BOOL = "bool"
    FILTER = "filter"  # a filter's JSON form (self allowed)


# A credential or session record is written by the server, never typed: bounded to keep an
# entry small (a PHC string is ~100 bytes; a session record a few hundred).
_MAX_OPAQUE_LEN = 4096
# An access control profile's target filter in its JSON form.
_MAX_FILTER_LEN = 8192

_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INAME_RE = re.compile(r"[a-z][a-z0-9._-]*")
_LABEL_RE = re.compile(rf"[a-z0-9._-]{{1,{MAX_SSH_KEY_LABEL_LEN}}}")


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def _refuse(attr: str, rule: str) -> InvalidValue:
    return InvalidValue(f"{attr}: {rule}")


def normalise(syntax: Syntax, attr: str, raw: object) -> str:
    """Return the stored form of ``raw`` as a value of ``attr`` or raise ``InvalidValue``."""
    if not isinstance(raw, str):
        raise _refuse(attr, "a value must be a string")
    match syntax:
        case Syntax.INAME:
            value = raw.strip().lower()
            if len(value) > MAX_NAME_LEN or not _INAME_RE.fullmatch(value):
                raise _refuse(attr, "must start with a-z and contain only a-z 0-9 . _ -")
            return value
        case Syntax.UUID | Syntax.REFERENCE:
            if _CANONICAL_UUID.fullmatch(raw):
                return raw  # the stored form already; reference lookups are hot
            try:
                return str(uuidlib.UUID(raw.strip()))
            except ValueError:
                raise _refuse(attr, "must be a uuid") from None
        case Syntax.UTF8:
            value = unicodedata.normalize("NFC", raw.strip())
            if not value:
                raise _refuse(attr, "may not be empty")
            if len(value) > MAX_TEXT_LEN:
                raise _refuse(attr, f"may have at most {MAX_TEXT_LEN} characters")
            if _has_control(value):
                raise _refuse(attr, "may not contain control characters")
            return value
        case Syntax.MAIL:
            return _mail(attr, raw)
        case Syntax.UINT32:
            value = raw.strip()
            if not value.isascii() or not value.isdigit() or len(value) > 10:
                raise _refuse(attr, "must be a decimal number")
            number = int(value)
            if number > 0xFFFF_FFFF:
                raise _refuse(attr, "must fit in 32 bits")
            return str(number)
        case Syntax.PATH:
            value = raw.strip()
            if not value.startswith("/") or len(value) > MAX_TEXT_LEN:
                raise _refuse(attr, "must be an absolute path")
            # ':' would split an /etc/passwd line; control characters break every consumer.
            if ":" in value or _has_control(value) or ".." in value.split("/"):
                raise _refuse(attr, "may not contain ':', '..' or control characters")
            return value
        case Syntax.SSH_KEY:
            return _ssh_key(attr, raw)
        case Syntax.TIME:
            return _time(attr, raw)
        case Syntax.CREDENTIAL:
            if not raw or len(raw) > _MAX_OPAQUE_LEN or _has_control(raw) or raw != raw.strip():
                raise _refuse(attr, "is not a valid credential record")
            return raw
        case Syntax.SESSION:
            return _session(attr, raw)
        case Syntax.BOOL:
            value = raw.strip().lower()
            if value not in ("true", "false"):
                raise _refuse(attr, 'must be "true" or "false"')
            return value
        case Syntax.FILTER:
            return _filter(attr, raw)


def _mail(attr: str, raw: str) -> str:
    value = raw.strip()
    if len(value) > MAX_TEXT_LEN or _has_control(value) or any(c.isspace() for c in value):
        raise _refuse(attr, "must be a mail address without spaces or control characters")
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain:
        raise _refuse(attr, "must be a mail address with exactly one '@'")
    # Domains are case-insensitive (RFC 5321 2.4); the local part is kept as given.
    return f"{local}@{domain.lower()}"


def _ssh_key(attr: str, raw: str) -> str:
    label, colon, key = raw.partition(":")
    if not colon or not _LABEL_RE.fullmatch(label):
        raise _refuse(attr, "must be LABEL:KEY with a label of a-z 0-9 . _ - (1-64)")
    key = key.strip()
    if not key or len(key) > MAX_SSH_KEY_LEN or _has_control(key):
        raise _refuse(attr, "the key must be one non-empty line")
    return f"{label}:{key}"


def _time(attr: str, raw: str) -> str:
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _refuse(attr, "must be an RFC 3339 time") from None
    if when.tzinfo is None:
        raise _refuse(attr, "must be an RFC 3339 time with a UTC offset")
    when = when.astimezone(UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def _session(attr: str, raw: str) -> str:
    if len(raw) > _MAX_OPAQUE_LEN:
        raise _refuse(attr, "is too long")
    try:
        obj = json.loads(raw)
    except ValueError:
        raise _refuse(attr, "must be a JSON object") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        raise _refuse(attr, 'must be a JSON object with a string "id"')
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _filter(attr: str, raw: str) -> str:
    if len(raw) > _MAX_FILTER_LEN:
        raise _refuse(attr, "is too long")
    try:
        return dumps(parse_filter(json.loads(raw), allow_self=True))
    except ValueError:
        raise _refuse(attr, "must be a filter in its JSON form") from None
    except InvalidRequest as exc:
        raise _refuse(attr, exc.detail) from None


def ssh_key_label(value: str) -> str:
    """The label of a stored ``ssh_publickey`` value."""
    return value.partition(":")[0]
