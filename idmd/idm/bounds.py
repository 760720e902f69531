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

from idmd import limits
from idmd.errors import InvalidValue
from idmd.idm.passwords import Secret

Scope = Literal["read_only", "read_write"]
API_TOKEN_SCOPES: tuple[Scope, ...] = ("read_only", "read_write")

# What a login step carries under its method's name, and the longest accepted, in UTF-8
# bytes: codes are short, a longer value is refused before it reaches a softlock or a hash.
STEP_CREDENTIAL_BYTES = {
    "password": limits.MAX_PASSWORD_BYTES,
    "totp": limits.MAX_TOTP_CODE_LEN,
    "backup_code": limits.MAX_BACKUP_CODE_LEN,
}


def _utf8_len(text: str) -> int:
    # surrogatepass: a lone surrogate is counted, not raised on (the REST door refuses them
    # earlier; another door may not).
    return len(text.encode("utf-8", "surrogatepass"))


def _string(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{what} must be a string")
    return value


def validate_login_name(name: object) -> str:
    """The name a login begins with: at most ``MAX_TEXT_LEN`` characters (it need not exist)."""
    text = _string("name", name)
    if len(text) > limits.MAX_TEXT_LEN:
        raise InvalidValue(f"name may have at most {limits.MAX_TEXT_LEN} characters")
    return text


def validate_step_credential(method: object, credential: object) -> str | None:
    """The credential of a login step within its method's byte bound (``None`` passes)."""
    if credential is None:
        return None
    text = _string(str(method), credential)
    most = STEP_CREDENTIAL_BYTES.get(str(method)) if isinstance(method, str) else None
    if most is not None and _utf8_len(text) > most:
        raise InvalidValue(f"a {method} may have at most {most} bytes")
    return text


def validate_unix_password(password: object) -> Secret:
    """A unix password to check: at most ``MAX_PASSWORD_BYTES``."""
    text = _string("password", password)
    if _utf8_len(text) > limits.MAX_PASSWORD_BYTES:
        raise InvalidValue(f"a password may have at most {limits.MAX_PASSWORD_BYTES} bytes")
    return Secret(text)


def validate_unix_totp_code(code: object) -> Secret | None:
    """A unix TOTP code to check (``None``: none sent): at most ``MAX_TOTP_CODE_LEN``."""
    if code is None:
        return None
    text = _string("totp", code)
    if len(text) > limits.MAX_TOTP_CODE_LEN:
        raise InvalidValue(
            f"a totp code may have at most {limits.MAX_TOTP_CODE_LEN} characters"
        )
    return Secret(text)


def validate_scope(scope: object) -> Scope:
    """An API token's scope: ``read_only`` or ``read_write``."""
    for known in API_TOKEN_SCOPES:
        if scope == known:
            return known
    raise InvalidValue("scope must be read_only or read_write")
