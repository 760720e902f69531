"""Imported password hashes: the schemes other systems wrote, recognised and verified.

What it owns: which foreign hash formats hermit accepts on import
(``PUT /v1/{kind}/{id}/password`` with ``{"password_hash": ...}``) and checks at login, with
the cost each may carry. It stores nothing: an imported hash is stored as it came, in
``password`` or ``unix_password``, and ``passwords.needs_upgrade`` makes the login flow replace
it with Argon2id after the first successful login.

Accepted formats (each exactly as its writer spells it):
- passlib's ``$pbkdf2-sha256$ROUNDS$SALT$CHECKSUM`` and ``$pbkdf2-sha512$...`` (SALT and
  CHECKSUM in passlib's "ab64": base64 with ``.`` for ``+``, no padding);
- Django's ``pbkdf2_sha256$ITERATIONS$SALT$HASH`` (SALT used as text, HASH padded base64);
- OpenLDAP's ``{SSHA}``, ``{SSHA256}``, ``{SSHA512}`` + base64(digest(password + salt) + salt);
- crypt(3) through libxcrypt: sha512crypt ``$6$``, sha256crypt ``$5$``, yescrypt ``$y$``,
  bcrypt ``$2b$`` (and ``$2y$``, ``$2a$``, which libxcrypt computes the same way);
- Argon2id PHC strings of another system (``$argon2id$v=19$``).

Rules:
- A hash is accepted only whole and well-formed: the right alphabet, the digest's length, a
  salt. Anything else is ``InvalidValue`` on import and matches no password at login.
- The cost is bounded (``MAX_*`` below), on import and again at verification: a hash is
  computed at every login attempt, so a huge cost would be a denial of service any account
  owner could plant (people may set their own password).
- Digests are compared with ``hmac.compare_digest``.
- Unsalted schemes (``{SHA}``, ``{MD5}``), DES and MD5 crypt are refused: an import should
  not carry a hash weaker than what an attacker could invert before the first login.

Blocking: verification runs PBKDF2 or crypt for up to about a second at the bounds; callers run
it on a worker thread (``passwords.Hasher``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from hermit_common.errors import InvalidValue
from hermit_common.libxcrypt import crypt

# Costs an imported hash may carry. Each is a few times what its writer uses by default today
# (passlib pbkdf2-sha256 29,000; Django 1,000,000 for 5.1; sha-crypt 5,000; bcrypt 12;
# yescrypt cost factor 5 = "j9T"), and each verification stays under about a second.
MAX_PBKDF2_ITERATIONS = 2_000_000
MAX_SHACRYPT_ROUNDS = 1_000_000
MAX_BCRYPT_COST = 13
# yescrypt's N is the second parameter character (libxcrypt's itoa64 alphabet); "B" is cost
# factor 7, 64 MiB per hash, and "T" is r = 32, what every libxcrypt cost factor above 1 writes.
_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MAX_YESCRYPT_N_CHAR = "B"
MAX_YESCRYPT_R_CHAR = "T"
# Argon2id of another system: at most 64 MiB, 10 passes, 8 lanes.
MAX_ARGON2_MEMORY_KIB = 64 * 1024
MAX_ARGON2_ITERATIONS = 10
MAX_ARGON2_LANES = 8

_PASSLIB_PBKDF2 = re.compile(
    r"\$pbkdf2-(?P<digest>sha256|sha512)\$(?P<rounds>[1-9][0-9]{0,9})"
    r"\$(?P<salt>[./A-Za-z0-9]{1,128})\$(?P<checksum>[./A-Za-z0-9]{43,86})"
)
_DJANGO_PBKDF2 = re.compile(
    r"pbkdf2_sha256\$(?P<rounds>[1-9][0-9]{0,9})\$(?P<salt>[!-#%-~]{1,128})"
    r"\$(?P<checksum>[A-Za-z0-9+/]{43}=)"
)
_SSHA = re.compile(r"\{(?P<scheme>SSHA|SSHA256|SSHA512)\}(?P<data>[A-Za-z0-9+/]+={0,2})", re.I)
_SSHA_DIGESTS = {"SSHA": "sha1", "SSHA256": "sha256", "SSHA512": "sha512"}
_SHACRYPT = re.compile(
    r"\$(?P<kind>[56])\$(?:rounds=(?P<rounds>[0-9]{1,10})\$)?[./0-9A-Za-z]{1,16}"
    r"\$(?P<checksum>[./0-9A-Za-z]{43}|[./0-9A-Za-z]{86})"
)
_BCRYPT = re.compile(r"\$2[aby]\$(?P<cost>[0-9]{2})\$[./A-Za-z0-9]{53}")
_YESCRYPT = re.compile(
    r"\$y\$j(?P<n>[./0-9A-Za-z])(?P<r>[./0-9A-Za-z])\$[./0-9A-Za-z]{1,86}\$[./0-9A-Za-z]{43}"
)
_ARGON2ID = re.compile(
    r"\$argon2id\$v=19\$m=(?P<m>[0-9]{1,10}),t=(?P<t>[0-9]{1,10}),p=(?P<p>[0-9]{1,3})"
    r"\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}"
)


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        return None


def _pbkdf2_parts(stored: str) -> tuple[str, int, bytes, bytes] | None:
    """(digest, iterations, salt, expected) of a passlib or Django PBKDF2 hash."""
    match = _PASSLIB_PBKDF2.fullmatch(stored)
    if match is not None:
        salt = _b64(match["salt"].replace(".", "+"))
        expected = _b64(match["checksum"].replace(".", "+"))
        digest = match["digest"]
    else:
        match = _DJANGO_PBKDF2.fullmatch(stored)
        if match is None:
            return None
        salt = match["salt"].encode("ascii")
        expected = _b64(match["checksum"])
        digest = "sha256"
    rounds = int(match["rounds"])
    if salt is None or expected is None or rounds > MAX_PBKDF2_ITERATIONS:
        return None
    if len(expected) != hashlib.new(digest).digest_size:
        return None
    return digest, rounds, salt, expected


def _ssha_parts(stored: str) -> tuple[str, bytes, bytes] | None:
    """(digest, salt, expected) of an OpenLDAP salted SHA hash."""
    match = _SSHA.fullmatch(stored)
    if match is None:
        return None
    digest = _SSHA_DIGESTS[match["scheme"].upper()]
    # OpenLDAP writes padded base64: a string cut short is malformed, not re-padded.
    data = _b64(match["data"]) if len(match["data"]) % 4 == 0 else None
    size = hashlib.new(digest).digest_size
    if data is None or len(data) <= size:
        return None
    return digest, data[size:], data[:size]


def _crypt_in_bounds(stored: str) -> bool:
    match = _SHACRYPT.fullmatch(stored)
    if match is not None:
        expected_length = 43 if match["kind"] == "5" else 86
        rounds = match["rounds"]
        return len(match["checksum"]) == expected_length and (
            rounds is None or int(rounds) <= MAX_SHACRYPT_ROUNDS
        )
    match = _BCRYPT.fullmatch(stored)
    if match is not None:
        return 4 <= int(match["cost"]) <= MAX_BCRYPT_COST
    match = _YESCRYPT.fullmatch(stored)
    if match is not None:
        return _ITOA64.index(match["n"]) <= _ITOA64.index(MAX_YESCRYPT_N_CHAR) and _ITOA64.index(
            match["r"]
        ) <= _ITOA64.index(MAX_YESCRYPT_R_CHAR)
    return False


def _argon2id_in_bounds(stored: str) -> bool:
    match = _ARGON2ID.fullmatch(stored)
    return match is not None and (
        0 < int(match["m"]) <= MAX_ARGON2_MEMORY_KIB
        and 0 < int(match["t"]) <= MAX_ARGON2_ITERATIONS
        and 0 < int(match["p"]) <= MAX_ARGON2_LANES
    )


def scheme_of(stored: str) -> str | None:
    """The name of ``stored``'s scheme if it is an accepted, well-formed hash within bounds."""
    if _argon2id_in_bounds(stored):
        return "argon2id"
    if _pbkdf2_parts(stored) is not None:
        return "pbkdf2"
    if _ssha_parts(stored) is not None:
        return "ssha"
    if _crypt_in_bounds(stored):
        return "crypt"
    return None


def validate_imported_hash(raw: object) -> str:
    """``raw`` as a hash to store. Errors: ``InvalidValue`` (never quoting the hash)."""
    if not isinstance(raw, str) or scheme_of(raw) is None:
        raise InvalidValue(
            "password_hash must be a well-formed hash of an accepted scheme within its cost "
            "bounds: PBKDF2 (passlib or Django), {SSHA}/{SSHA256}/{SSHA512}, crypt(3) "
            "($6$, $5$, $y$, $2b$) or $argon2id$"
        )
    return raw


def verify_imported_sync(password: str, stored: str) -> bool:
    """Whether ``password`` matches the imported (non-Argon2id) hash ``stored``.

    A hash that is malformed, out of bounds or of an unknown scheme matches nothing.
    """
    try:
        phrase = password.encode("utf-8")
    except UnicodeEncodeError:
        return False
    pbkdf2 = _pbkdf2_parts(stored)
    if pbkdf2 is not None:
        digest, rounds, salt, expected = pbkdf2
        derived = hashlib.pbkdf2_hmac(digest, phrase, salt, rounds, len(expected))
        return hmac.compare_digest(derived, expected)
    ssha = _ssha_parts(stored)
    if ssha is not None:
        digest, salt, expected = ssha
        return hmac.compare_digest(hashlib.new(digest, phrase + salt).digest(), expected)
    if _crypt_in_bounds(stored):
        setting = stored.encode("ascii")
        result = crypt(phrase, setting)
        return result is not None and hmac.compare_digest(result, setting)
    return False
