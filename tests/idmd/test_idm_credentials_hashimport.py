"""Imported hashes: PBKDF2 (passlib, Django), OpenLDAP SSHA and crypt(3) verify, are bounded,
and are marked for the upgrade to Argon2id.

Every known-answer vector is made here at test time: PBKDF2 and SSHA with hashlib and the
writers' encodings, crypt(3) by mkpasswd(1) or libxcrypt (``tests.idmd.crypt_hashes``).
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from hermit_common.errors import InvalidValue
from idmd.idm.credentials.hashimport import (
    MAX_BCRYPT_COST,
    MAX_PBKDF2_ITERATIONS,
    scheme_of,
    validate_imported_hash,
)
from idmd.idm.credentials.passwords import hash_password_sync, needs_upgrade, verify_password_sync
from tests.idmd.crypt_hashes import make_hash

PASSWORD = "heron quartz kettle ßtaple"
SALT = b"\x01\x02salt-of-16bytes"


def _ab64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=").replace("+", ".")


def passlib_pbkdf2(digest: str, password: str = PASSWORD, rounds: int = 1000) -> str:
    derived = hashlib.pbkdf2_hmac(digest, password.encode(), SALT, rounds)
    return f"$pbkdf2-{digest}${rounds}${_ab64(SALT)}${_ab64(derived)}"


def django_pbkdf2(password: str = PASSWORD, rounds: int = 1000) -> str:
    salt = "Zk3vQx9LmT2w"
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds)
    return f"pbkdf2_sha256${rounds}${salt}${base64.b64encode(derived).decode()}"


def ssha(scheme: str, digest: str, password: str = PASSWORD) -> str:
    salt = b"\x00\xffsa"
    data = hashlib.new(digest, password.encode() + salt).digest() + salt
    return "{" + scheme + "}" + base64.b64encode(data).decode()


IMPORTED = {
    "pbkdf2-sha256": lambda: passlib_pbkdf2("sha256"),
    "pbkdf2-sha512": lambda: passlib_pbkdf2("sha512"),
    "django": django_pbkdf2,
    "ssha": lambda: ssha("SSHA", "sha1"),
    "ssha256": lambda: ssha("SSHA256", "sha256"),
    "ssha512": lambda: ssha("SSHA512", "sha512"),
    "sha512crypt": lambda: make_hash("$6$", PASSWORD),
    "sha256crypt": lambda: make_hash("$5$", PASSWORD),
    "yescrypt": lambda: make_hash("$y$", PASSWORD),
    "bcrypt": lambda: make_hash("$2b$", PASSWORD),
}


@pytest.mark.parametrize("scheme", sorted(IMPORTED))
def test_verify_password__accepts_imported_hashes(scheme: str) -> None:
    stored = IMPORTED[scheme]()
    assert verify_password_sync(PASSWORD, stored)
    assert validate_imported_hash(stored) == stored


@pytest.mark.parametrize("scheme", sorted(IMPORTED))
def test_verify_password__refuses_a_wrong_password_on_imported_hashes(scheme: str) -> None:
    stored = IMPORTED[scheme]()
    assert not verify_password_sync(PASSWORD + "x", stored)
    assert not verify_password_sync(PASSWORD.upper(), stored)
    assert not verify_password_sync("", stored)


@pytest.mark.parametrize("scheme", sorted(IMPORTED))
def test_needs_upgrade__true_for_imported_hashes(scheme: str) -> None:
    assert needs_upgrade(IMPORTED[scheme]())


@pytest.mark.parametrize("scheme", sorted(IMPORTED))
def test_verify_password__malformed_imported_hash_matches_nothing(scheme: str) -> None:
    stored = IMPORTED[scheme]()
    for broken in (stored[:-1], stored[:-4] + "!!!!", stored + "A", " " + stored):
        assert not verify_password_sync(PASSWORD, broken)
        assert scheme_of(broken) is None


def test_verify_password__ssha_prefix_is_case_insensitive() -> None:
    assert verify_password_sync(PASSWORD, "{ssha}" + ssha("SSHA", "sha1").removeprefix("{SSHA}"))


def test_verify_password__refuses_unsalted_and_weak_schemes() -> None:
    unsalted = "{SHA}" + base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    for stored in (unsalted, make_hash("$1$", PASSWORD), "plain text"):
        assert not verify_password_sync(PASSWORD, stored)
        with pytest.raises(InvalidValue):
            validate_imported_hash(stored)


def test_validate_imported_hash__bounds_the_cost() -> None:
    with pytest.raises(InvalidValue):
        validate_imported_hash(passlib_pbkdf2("sha256", rounds=MAX_PBKDF2_ITERATIONS + 1))
    bcrypt = make_hash("$2b$", PASSWORD)
    too_costly = bcrypt[:4] + f"{MAX_BCRYPT_COST + 1:02d}" + bcrypt[6:]
    with pytest.raises(InvalidValue):
        validate_imported_hash(too_costly)
    assert not verify_password_sync(PASSWORD, too_costly)
    with pytest.raises(InvalidValue):
        validate_imported_hash("$y$jFT$" + make_hash("$y$", PASSWORD)[7:])
    with pytest.raises(InvalidValue):
        validate_imported_hash("$6$rounds=9999999$saltsalt$" + "a" * 86)


def test_validate_imported_hash__accepts_our_argon2id_and_bounds_foreign_ones() -> None:
    ours = hash_password_sync(PASSWORD)
    assert validate_imported_hash(ours) == ours
    huge = ours.replace("m=", "m=9", 1)
    with pytest.raises(InvalidValue):
        validate_imported_hash(huge)


def test_validate_imported_hash__message_never_quotes_the_hash() -> None:
    stored = passlib_pbkdf2("sha256")[:-2]
    with pytest.raises(InvalidValue) as info:
        validate_imported_hash(stored)
    assert stored[-20:] not in info.value.detail
