"""crypt(3) through libxcrypt: the one binding hermit has, for idmd's imported hashes.

This module computes a crypt string and nothing else: which schemes are accepted, and what a
match means, is decided by its caller (``idmd.idm.credentials.hashimport``). hermit-unixd no longer
uses it: local passwords are pam_unix's (issue 9). It imports only the standard library.

Implementation: libxcrypt's ``crypt_rn`` through ctypes (Python's ``crypt`` module is
deprecated by PEP 594 and gone in 3.13). ``crypt_rn`` is the re-entrant ``crypt_r`` with the
size of ``struct crypt_data`` passed explicitly and NULL, not a ``*0`` token, on failure
(crypt(3) of libxcrypt), so no struct layout is assumed and each call has its own buffer.

Blocking: yescrypt and bcrypt cost tens of milliseconds of CPU or more; call ``crypt`` through
``trio.to_thread.run_sync`` (ctypes releases the GIL during the call).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

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


def crypt(phrase: bytes, setting: bytes) -> bytes | None:
    """The crypt string of ``phrase`` under ``setting`` (a full hash or just its salt part),
    or ``None`` when libxcrypt refuses either (unknown scheme, malformed setting, a phrase with
    NUL or longer than ``MAX_PASSPHRASE_BYTES``).

    Errors: ``CryptUnavailable`` if libcrypt cannot be loaded.
    """
    if b"\x00" in phrase or b"\x00" in setting or len(phrase) > MAX_PASSPHRASE_BYTES:
        return None
    data = ctypes.create_string_buffer(CRYPT_DATA_BYTES)
    try:
        return _crypt_rn()(phrase, setting, data, CRYPT_DATA_BYTES)
    finally:
        # The buffer holds the phrase and intermediate state; do not leave it for the heap.
        ctypes.memset(data, 0, CRYPT_DATA_BYTES)
