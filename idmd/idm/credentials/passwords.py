"""Passwords: Argon2id hashing and verification, checked and generated passwords.

This module does not store anything and knows no accounts; ``directory.accounts`` and the auth
flow put the PHC strings it makes into the ``password`` and ``unix_password`` attributes.

Rules:
- Hashes are PHC strings (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) made by
  ``hermit_common.argon2id`` (shared with hermit-unixd's offline hashes); verification reads
  the cost from the string, so a later change of cost keeps old hashes working.
- Hashes imported from other systems (PBKDF2, SSHA, crypt: ``hashimport``) verify too, and
  ``needs_upgrade`` tells the login flow to replace them with Argon2id once a password matched.
- Hashing is CPU- and memory-heavy: the async functions run it on a worker thread behind one
  process-wide ``CapacityLimiter(ARGON2_CONCURRENCY)``, so a burst of logins cannot exhaust
  memory or stall the trio loop.
- A password never appears in a repr, a log line or an error message: it travels as a
  ``hermit_common.secret.Secret``; the ``*_sync`` functions take the revealed value, at the
  last moment.

Implements DESIGN.md "Security invariants": passwords are hashed with Argon2id.
"""

from __future__ import annotations

import secrets

import trio

from hermit_common import argon2id
from hermit_common.errors import InvalidValue
from hermit_common.secret import Secret
from idmd import limits
from idmd.idm.credentials import hashimport

# NIST SP 800-63B 5.1.1.2: "Memorized secrets SHALL be at least 8 characters in length".
MIN_PASSWORD_CHARS = 8

# Generated passwords: letters and digits without the look-alikes 0/O, 1/l/I, so a password
# read aloud or copied from a terminal survives. 20 characters of this 55-symbol alphabet carry
# about 115 bits.
GENERATED_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 20



def validate_password(raw: object) -> Secret:
    """Return ``raw`` as a ``Secret`` or raise ``InvalidValue`` (the message never quotes it).

    ``raw`` is a ``Secret`` from a door, or a plain string."""
    if isinstance(raw, Secret):
        raw = raw.reveal()
    if not isinstance(raw, str):
        raise InvalidValue("a password must be a string")
    if len(raw) < MIN_PASSWORD_CHARS:
        raise InvalidValue(f"a password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(raw.encode("utf-8", "surrogatepass")) > limits.MAX_PASSWORD_BYTES:
        raise InvalidValue(f"a password may have at most {limits.MAX_PASSWORD_BYTES} bytes")
    return Secret(raw)


def generate_password() -> Secret:
    return Secret("".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_LENGTH)))


def hash_password_sync(password: str) -> str:
    """The PHC string of ``password`` with a fresh salt. Blocks for ~50-100 ms."""
    return argon2id.hash_password(password)


def needs_upgrade(phc: str) -> bool:
    """Whether a stored hash should be replaced by a fresh Argon2id hash at the next login.

    True for anything but Argon2id (``$argon2id$v=19$``) at exactly today's cost
    (``limits.ARGON2_*``): imported hashes, and Argon2id made at an older cost. The caller
    re-hashes only after the password verified, so it never stores a hash of a wrong password.
    """
    return not argon2id.is_current(phc)


def verify_password_sync(password: str, phc: str) -> bool:
    """Whether ``password`` matches ``phc``; a malformed PHC string matches nothing.

    ``phc`` is our Argon2id, or a hash imported from another system (``hashimport``).
    """
    if not phc.startswith("$argon2id$"):
        return hashimport.verify_imported_sync(password, phc)
    return argon2id.verify_password(password, phc)


class Hasher:
    """Runs Argon2id off the trio loop, at most ``ARGON2_CONCURRENCY`` at once.

    Cancellation: a cancelled caller stops waiting for a thread slot; a hash already running
    finishes on its thread and its result is dropped (nothing is half-written).
    """

    def __init__(self) -> None:
        self._limiter = trio.CapacityLimiter(limits.ARGON2_CONCURRENCY)
        # Verifying an unknown name or a missing credential against this hash costs the same
        # as a real verification, so timing does not tell whether a name exists.
        self._dummy_hash = hash_password_sync(generate_password().reveal())

    async def hash(self, password: Secret) -> str:
        return await trio.to_thread.run_sync(
            hash_password_sync, password.reveal(), limiter=self._limiter
        )

    async def verify(self, password: Secret, phc: str | None) -> bool:
        """Whether ``password`` matches ``phc``; ``None`` (no credential) costs a dummy check."""
        if phc is None:
            await trio.to_thread.run_sync(
                verify_password_sync, password.reveal(), self._dummy_hash, limiter=self._limiter
            )
            return False
        return await trio.to_thread.run_sync(
            verify_password_sync, password.reveal(), phc, limiter=self._limiter
        )
