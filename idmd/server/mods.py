"""Modifications a client asks for on one entry, applied in order by ``WriteTxn.modify``.

Values are raw (as the client sent them); the write transaction normalises them with the
attribute's syntax before applying, so adding a value already present changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Set:
    """Replace every value of ``attr`` with ``values`` (an empty set removes the attribute)."""

    attr: str
    values: frozenset[str]


@dataclass(frozen=True, slots=True)
class Add:
    attr: str
    value: str


@dataclass(frozen=True, slots=True)
class Remove:
    """Remove one value; removing a value that is not there changes nothing."""

    attr: str
    value: str


@dataclass(frozen=True, slots=True)
class Purge:
    """Remove the attribute with all its values."""

    attr: str


Mod = Set | Add | Remove | Purge
