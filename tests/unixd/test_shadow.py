"""Tests of unixd.resolver.shadow: shadow hashes made by mkpasswd(1) and openssl-passwd(1).

The hashes are produced here, at test time, by tools independent of hermit: ``mkpasswd``
(Debian package ``whois``) when it is installed, else libxcrypt's own ``crypt_gensalt_rn`` +
``crypt_rn``; ``openssl passwd`` is a second, unrelated sha256crypt/sha512crypt implementation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess

import pytest

from unixd.resolver.shadow import verify_shadow_hash

PASSWORD = "correct horse ßtaple"
MKPASSWD_METHODS = {"$y$": "yescrypt", "$6$": "sha512crypt", "$5$": "sha256crypt",
                    "$1$": "md5crypt", "$2b$": "bcrypt"}


def _libxcrypt_hash(prefix: str, password: str) -> str:
    library = ctypes.CDLL(ctypes.util.find_library("crypt"))
    setting = ctypes.create_string_buffer(256)
    made = library.crypt_gensalt_rn(prefix.encode(), 0, None, 0, setting, 256)
    assert made, prefix
    library.crypt_rn.restype = ctypes.c_char_p
    data = ctypes.create_string_buffer(32768)
    result = library.crypt_rn(password.encode(), setting.value, data, 32768)
    return str(result.decode())


def make_hash(prefix: str, password: str = PASSWORD) -> str:
    """A crypt(3) hash of ``password`` with scheme ``prefix``, made outside hermit."""
    if shutil.which("mkpasswd"):
        done = subprocess.run(
            ["mkpasswd", "-m", MKPASSWD_METHODS[prefix], "-s"],
            input=password + "\n", capture_output=True, text=True, check=True,
        )
        made = done.stdout.strip()
    else:
        made = _libxcrypt_hash(prefix, password)
    assert made.startswith(prefix)
    return made


@pytest.mark.parametrize("prefix", ["$y$", "$6$", "$5$"])
def test_verify_shadow_hash__accepts_the_right_password(prefix: str) -> None:
    assert verify_shadow_hash(make_hash(prefix), PASSWORD) is True


@pytest.mark.parametrize("prefix", ["$y$", "$6$", "$5$"])
def test_verify_shadow_hash__refuses_a_wrong_password(prefix: str) -> None:
    hashed = make_hash(prefix)
    assert verify_shadow_hash(hashed, PASSWORD + "x") is False
    assert verify_shadow_hash(hashed, "") is False
    assert verify_shadow_hash(hashed, PASSWORD.upper()) is False


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize("flag", ["-5", "-6"])
def test_verify_shadow_hash__reads_openssl_sha_crypt(flag: str) -> None:
    done = subprocess.run(
        ["openssl", "passwd", flag, "-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, check=True,
    )
    assert verify_shadow_hash(done.stdout.strip(), PASSWORD) is True
    assert verify_shadow_hash(done.stdout.strip(), "nope") is False


@pytest.mark.parametrize("field", ["", "*", "!", "!!", "*LK*", "x"])
def test_verify_shadow_hash__locked_and_disabled_fields_never_verify(field: str) -> None:
    assert verify_shadow_hash(field, "") is False
    assert verify_shadow_hash(field, field) is False
    assert verify_shadow_hash(field, PASSWORD) is False


@pytest.mark.parametrize("prefix", ["$y$", "$6$"])
def test_verify_shadow_hash__a_locked_hash_never_verifies(prefix: str) -> None:
    # passwd -l prepends "!" to the hash: the right password must stop working.
    assert verify_shadow_hash("!" + make_hash(prefix), PASSWORD) is False


@pytest.mark.parametrize("prefix", ["$1$", "$2b$"])
def test_verify_shadow_hash__weak_or_foreign_schemes_never_verify(prefix: str) -> None:
    assert verify_shadow_hash(make_hash(prefix), PASSWORD) is False


def test_verify_shadow_hash__password_with_nul_never_verifies() -> None:
    # crypt(3) would stop at the NUL: "pw\0anything" must not pass for "pw".
    hashed = make_hash("$6$", "pw")
    assert verify_shadow_hash(hashed, "pw") is True
    assert verify_shadow_hash(hashed, "pw\x00anything") is False


def test_verify_shadow_hash__oversized_or_unencodable_input_is_false() -> None:
    hashed = make_hash("$6$")
    assert verify_shadow_hash(hashed, "a" * 513) is False
    assert verify_shadow_hash(hashed, "\ud800") is False
    assert verify_shadow_hash("$6$é$x", PASSWORD) is False
    assert verify_shadow_hash("$6$", PASSWORD) is False
