"""The one type that holds a secret in hermit: a password, a token, a TOTP secret or code.

It does not read, store or check secrets: it carries them from where they are read to where
they are used, and keeps them out of everything in between. hermit-idmd and the ``hermit``
CLI both use it.

Rules:
- A ``Secret`` never shows its value by accident: ``repr``, ``str``, f-strings, ``format``
  with any spec and log lines (``%s``, ``%r``) all give ``[secure]`` (httpx's word; STYLE.md
  "Error types": secrets are held in a type whose repr is ``[secure]``).
- It is not a ``str``: it cannot be concatenated, encoded, compared with a string or dumped as
  JSON, so every use of the value is a visible ``reveal()``, made only by the code that sends,
  hashes, checks or stores it.
- Two secrets are equal when their values are; the comparison takes the same time wherever
  they differ.
"""

from __future__ import annotations

import hmac

HIDDEN = "[secure]"


class Secret:
    """A secret value; ``reveal()`` is the only way to it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return HIDDEN

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return HIDDEN

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(_bytes(self._value), _bytes(other._value))

    def __hash__(self) -> int:
        return hash(self._value)


def _bytes(value: str) -> bytes:
    # surrogatepass: a password read from JSON may hold a lone surrogate.
    return value.encode("utf-8", "surrogatepass")
