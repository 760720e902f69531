"""Checking a password against a local /etc/shadow hash (crypt(3) through libxcrypt).

This module owns one decision: does this password match this shadow hash. It reads no file
(hermit-unixd-tasks sends the hashes, ``unixd.localfiles`` parses them) and knows nothing of
accounts, lockouts or PAM (the resolver does).

Rules:
- Only the schemes Debian's and Fedora's ``passwd`` write today verify: yescrypt (``$y$``),
  sha512crypt (``$6$``) and sha256crypt (``$5$``). DES, MD5 (``$1$``), bcrypt and anything
  else never verify: they are either weak or not what a current host writes, and refusing
  them is the safe way to be wrong.
- A locked or disabled field never verifies: empty, ``*``, ``!``, ``!!``, and any hash with
  ``!`` prepended (``passwd -l``), because none starts with an accepted prefix.
- A password holding NUL, or longer than libxcrypt's 512-byte limit, never verifies.
- The computed hash is compared with ``hmac.compare_digest`` (constant time).

Implementation: libxcrypt's ``crypt_rn`` through ctypes (Python's ``crypt`` module is
deprecated by PEP 594 and gone in 3.13). ``crypt_rn`` is the re-entrant ``crypt_r`` with the
size of ``struct crypt_data`` passed explicitly and NULL, not a ``*0`` token, on failure
(crypt(3) of libxcrypt), so no struct layout is assumed and each call has its own buffer.

Blocking: yescrypt costs tens of milliseconds of CPU; call it through
``trio.to_thread.run_sync`` (ctypes releases the GIL during the call).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hmac
from collections.abc import Callable

ACCEPTED_PREFIXES = ("$y$", "$6$", "$5$")

# libxcrypt: CRYPT_MAX_PASSPHRASE_SIZE; a longer phrase is refused by crypt itself.
MAX_PASSPHRASE_BYTES = 512
# sizeof(struct crypt_data) in libxcrypt (crypt.h: 384 + 384 + 512 + 767 + 1 + 30720).
CRYPT_DATA_BYTES = 32768


class CryptUnavailable(RuntimeError):
    """libcrypt (libxcrypt) cannot be loaded on this host."""


@functools.cache
def _crypt_rn() -> Callable[[bytes, bytes, ctypes.Array[ctypes.c_char], int], bytes | None]:
    name = ctypes.util.find_library("crypt")
    if name is None:
        raise CryptUnavailable("libcrypt is not installed (Debian: libcrypt1)")
    try:
        library = ctypes.CDLL(name, use_errno=True)
        function = library.crypt_rn
    except (OSError, AttributeError) as exc:
        raise CryptUnavailable(f"{name} has no crypt_rn (hermit needs libxcrypt)") from exc
    function.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int)
    function.restype = ctypes.c_char_p
    return function


def verify_shadow_hash(hash: str, password: str) -> bool:
    """Whether ``password`` matches the shadow field ``hash`` (see the module rules).

    Errors: ``CryptUnavailable`` if libcrypt cannot be loaded. Never raises for any value of
    ``hash`` or ``password``: what cannot verify is ``False``.
    """
    if not hash.startswith(ACCEPTED_PREFIXES):
        return False
    try:
        setting = hash.encode("ascii")
        phrase = password.encode("utf-8")
    except UnicodeEncodeError:
        return False
    if b"\x00" in phrase or b"\x00" in setting or len(phrase) > MAX_PASSPHRASE_BYTES:
        return False
    data = ctypes.create_string_buffer(CRYPT_DATA_BYTES)
    result = _crypt_rn()(phrase, setting, data, CRYPT_DATA_BYTES)
    if result is None:
        return False
    try:
        return hmac.compare_digest(result, setting)
    finally:
        # The buffer holds the phrase and intermediate state; do not leave it for the heap.
        ctypes.memset(data, 0, CRYPT_DATA_BYTES)
