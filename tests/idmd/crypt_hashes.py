"""crypt(3) hashes made at test time by tools independent of hermit, for the tests of imported
hashes (and of anything else that needs a real shadow-style hash).

``mkpasswd`` (Debian package ``whois``) when it is installed, else libxcrypt's own
``crypt_gensalt_rn`` + ``crypt_rn``. (Moved here from ``tests/unixd/test_shadow.py`` when
unixd stopped checking local shadow hashes: issue 9.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess

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
