"""The bounds idm puts on what a caller hands it, checked before any lookup or hashing.

A login name's length, a credential's bytes, a unix TOTP code's length and an API token's
scope. The ``Idm`` methods that take these values call this module first, so every door (the
REST routes, the web pages, the OAuth2 endpoints) gets the same refusal with the same error
and none has to repeat a rule. A door only converts types (``idmd/https/bodies.py``); the
value rules of passwords (``passwords.validate_password``), names (``idmd/names.py``) and
stored values (``values.py``) stay where they are.

Rules: each limit is refused with ``InvalidValue`` (400 ``invalid_value``), whose message
names the limit and never quotes the value (it may be a secret). Long credentials are refused
before they reach a softlock or Argon2id.
"""

from __future__ import annotations

from typing import Literal

from hermit_common.errors import InvalidValue
from hermit_common.secret import Secret
from idmd import limits

Scope = Literal["read_only", "read_write"]
Unit = Literal["characters", "bytes"]
API_TOKEN_SCOPES: tuple[Scope, ...] = ("read_only", "read_write")

# What a login step carries under its method's name, and the longest accepted, in UTF-8
# bytes: codes are short, a longer value is refused before it reaches a softlock or a hash.
STEP_CREDENTIAL_BYTES = {
    "password": limits.MAX_PASSWORD_BYTES,
    "totp": limits.MAX_TOTP_CODE_LEN,
    "backup_code": limits.MAX_BACKUP_CODE_LEN,
}


def _within(key: str, what: str, value: object, most: int | None, unit: Unit) -> str:
    """``value`` as a string of at most ``most`` characters or UTF-8 bytes (``None``: any).

    A ``Secret`` is measured by what it holds (a door wraps credentials as soon as it reads
    them)."""
    if isinstance(value, Secret):
        value = value.reveal()
    if not isinstance(value, str):
        raise InvalidValue(f"{key} must be a string")
    if most is None:
        return value
    # surrogatepass: a lone surrogate is counted, not raised on (the REST door refuses them
    # earlier; another door may not).
    size = len(value) if unit == "characters" else len(value.encode("utf-8", "surrogatepass"))
    if size > most:
        raise InvalidValue(f"{what} may have at most {most} {unit}")
    return value


def validate_login_name(name: object) -> str:
    """The name a login begins with: at most ``MAX_TEXT_LEN`` characters (it need not exist)."""
    return _within("name", "name", name, limits.MAX_TEXT_LEN, "characters")


def validate_step_credential(method: object, credential: object) -> Secret | None:
    """The credential of a login step within its method's byte bound (``None`` passes)."""
    if credential is None:
        return None
    most = STEP_CREDENTIAL_BYTES.get(method) if isinstance(method, str) else None
    return Secret(_within(str(method), f"a {method}", credential, most, "bytes"))


def validate_unix_password(password: object) -> Secret:
    """A unix password to check: at most ``MAX_PASSWORD_BYTES``."""
    text = _within("password", "a password", password, limits.MAX_PASSWORD_BYTES, "bytes")
    return Secret(text)


def validate_unix_totp_code(code: object) -> Secret | None:
    """A unix TOTP code to check (``None``: none sent): at most ``MAX_TOTP_CODE_LEN``."""
    if code is None:
        return None
    return Secret(_within("totp", "a totp code", code, limits.MAX_TOTP_CODE_LEN, "characters"))


def validate_scope(scope: object) -> Scope:
    """An API token's scope: ``read_only`` or ``read_write``."""
    for known in API_TOKEN_SCOPES:
        if scope == known:
            return known
    raise InvalidValue("scope must be read_only or read_write")
