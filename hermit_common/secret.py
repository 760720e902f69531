"""The one type that holds a secret (a password or a token) inside the CLI.

It does not read or store secrets; ``prompt.py`` reads them and ``tokens.py`` stores tokens.

Rule: a ``Secret`` never shows its value by accident — ``repr`` and ``str`` are ``[secure]``;
only ``reveal()`` gives it out, and only code that sends it to the server or writes it to the
token file calls that (STYLE.md "Error types": secrets are held in a type whose repr is
``[secure]``).
"""

from __future__ import annotations


class Secret:
    """A password or a token; ``reveal()`` is the only way to the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "[secure]"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
