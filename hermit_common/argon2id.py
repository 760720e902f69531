"""Argon2id PHC strings: how hermit hashes a password, on the server and on the host alike.

idmd keeps these strings as password credentials (``idmd.idm.credentials.passwords``);
hermit-unixd keeps one per user for offline logins, keyed by its host secret
(``unixd.resolver.hostsecret``). Both hash at the one cost below and verify at whatever cost
a string carries, so raising the cost later keeps older hashes working (idmd re-hashes them
at the next login: ``is_current``).

- The cost: RFC 9106's second recommended option scaled down to OWASP's minimum for a small
  server (m=19 MiB, t=2, p=1); a Raspberry Pi 4 hashes it in about 100 ms.
- ``secret`` is Argon2's own "secret value" input (RFC 9106, section 3.1): a string made with
  one verifies only with the same secret.
- Hashing and verifying block for the whole cost: callers run them on a worker thread.

The one module of ``hermit_common`` that needs more than stdlib and trio: ``cryptography``'s
Argon2id (a Rust extension, about 7 MiB resident) is imported at the first hash or check, so
importing this module loads nothing, and a host whose users log in with SSH keys never loads
it (docs/unixd.md, "Memory"). PHC parsing (``is_current``) is stdlib only.
"""

from __future__ import annotations

import os
import re

MEMORY_KIB = 19 * 1024
ITERATIONS = 2
LANES = 1

SALT_BYTES = 16
HASH_BYTES = 32
# The PHC string ``hash_password`` writes (salt and hash are unpadded base64).
_PHC = re.compile(
    r"\$argon2id\$v=19\$m=(?P<m>[0-9]{1,10}),t=(?P<t>[0-9]{1,10}),p=(?P<p>[0-9]{1,3})"
    r"\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"
)


def hash_password(password: str, *, secret: bytes | None = None) -> str:
    """The PHC string of ``password`` with a fresh salt, at today's cost."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    kdf = Argon2id(
        salt=os.urandom(SALT_BYTES),
        length=HASH_BYTES,
        iterations=ITERATIONS,
        lanes=LANES,
        memory_cost=MEMORY_KIB,
        secret=secret,
    )
    return kdf.derive_phc_encoded(password.encode("utf-8", "surrogatepass"))


def verify_password(password: str, phc: str, *, secret: bytes | None = None) -> bool:
    """Whether ``password`` matches the Argon2id PHC string ``phc``; a malformed string
    matches nothing."""
    from cryptography.exceptions import InvalidKey
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8", "surrogatepass"), phc,
                                    secret=secret)
    except InvalidKey:
        return False
    return True


def is_current(phc: str) -> bool:
    """Whether ``phc`` is an Argon2id PHC string (``$argon2id$v=19$``) at exactly today's cost."""
    match = _PHC.fullmatch(phc)
    if match is None:
        return False
    return (int(match["m"]), int(match["t"]), int(match["p"])) == (MEMORY_KIB, ITERATIONS, LANES)
