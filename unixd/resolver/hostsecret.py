"""The host secret and the offline password hashes keyed by it.

hermit-unixd keeps, for each user who logged in online, a hash of the password to check it
offline (DESIGN.md, "Security invariants": cached offline hashes are additionally keyed by a
host secret readable only by unixd). This module owns the secret's file and the keyed hash;
the cache (``unixd.resolver.cache``) stores the hashes and drops them all when the secret is
new, the resolver decides when to make or check one.

Rules:
- The hash is ``Argon2id(password, salt, secret=K)`` as a PHC string
  (``hermit_common.argon2id``, at idmd's cost), where ``K`` is the host secret: 32 random bytes
  in ``host_secret`` beside the cache, mode 0600, created once. ``K`` is Argon2's own "secret
  value" input (RFC 9106, section 3.1), so a copy of the cache file alone cannot be
  brute-forced: every guess needs ``K`` as well as the Argon2id cost.
- A secret file that is missing, a symlink, malformed, or readable by anyone but its owner is
  replaced by a new secret (written 0600 to a temporary file renamed over it, never through a
  symlink), and ``load`` says so: the hashes kept under the old one could not verify, or the
  old key may have leaked.
- The secret never appears in a repr or a log line.
- Argon2id (``cryptography``'s Rust extension, about 7 MiB resident) is imported at the first
  password that needs it: a host whose users log in with SSH keys never loads it.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from hermit_common import argon2id
from hermit_common.errors import HermitError

log = logging.getLogger(__name__)

HOST_SECRET_NAME = "host_secret"
HOST_SECRET_BYTES = 32
SECRET_MODE = 0o600


class HostSecretError(HermitError):
    """The host secret can be neither read nor replaced (the cache directory is not ours)."""

    code = "cache_error"


@dataclass(frozen=True)
class OfflineHasher:
    """Makes and checks offline password hashes keyed by the host secret ``secret``.

    Blocking: each call costs a whole Argon2id (~50-100 ms, 19 MiB) and touches no file: run
    it in a worker thread.
    """

    secret: bytes = field(repr=False)

    @classmethod
    def load(cls, path: Path) -> tuple[OfflineHasher, bool]:
        """The hasher keyed by the secret at ``path``, and whether that secret is new (see the
        module rules). Errors: ``HostSecretError``."""
        secret, fresh = _load_host_secret(path)
        return cls(secret), fresh

    def hash(self, password: str) -> str:
        """The PHC string to keep for ``password``."""
        return argon2id.hash_password(password, secret=self.secret)

    def check(self, phc: str, password: str) -> bool:
        """Whether ``password`` matches ``phc`` (made under this secret)."""
        return argon2id.verify_password(password, phc, secret=self.secret)


def _load_host_secret(path: Path) -> tuple[bytes, bool]:
    """The host secret at ``path``, and whether it was (re)made just now."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return _make_host_secret(path), True
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            log.warning("host secret %s is a symlink; replacing it", path)
            return _make_host_secret(path), True
        raise HostSecretError(f"{path}: cannot read the host secret: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        secret = handle.read(HOST_SECRET_BYTES + 1)
    if not stat.S_ISREG(st.st_mode) or len(secret) != HOST_SECRET_BYTES:
        log.warning("host secret %s is malformed; making a new one", path)
        return _make_host_secret(path), True
    if st.st_mode & 0o077 or st.st_uid != os.getuid():
        log.warning("host secret %s was readable by others; making a new one", path)
        return _make_host_secret(path), True
    return secret, False


def _make_host_secret(path: Path) -> bytes:
    """Write a new secret atomically: a 0600 temporary file renamed over ``path``."""
    secret = secrets.token_bytes(HOST_SECRET_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    try:
        fd = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            SECRET_MODE,
        )
        try:
            os.fchmod(fd, SECRET_MODE)
            os.write(fd, secret)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise HostSecretError(f"{path}: cannot write the host secret: {exc.strerror}") from exc
    return secret
