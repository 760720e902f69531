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

Implementation: ``idmd.libxcrypt``, the one crypt(3) binding (idmd's imported hashes use it
too).

Blocking: yescrypt costs tens of milliseconds of CPU; call it through
``trio.to_thread.run_sync`` (ctypes releases the GIL during the call).
"""

from __future__ import annotations

import hmac

from idmd.libxcrypt import crypt

ACCEPTED_PREFIXES = ("$y$", "$6$", "$5$")


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
    result = crypt(phrase, setting)
    return result is not None and hmac.compare_digest(result, setting)
