"""What an entry is: an internal id and its attributes, each a set of normalised strings.

An ``Entry`` is an immutable snapshot. Nothing here validates (``schema`` does) or stores
(``be/`` does); this module only fixes the shape every other layer passes around, and how an
entry is serialised whole under its id.

Invariants:
- attribute names are lowercase and interned, so thousands of cached entries share them;
- every value set is a non-empty ``frozenset[str]``; an absent attribute is simply missing;
- an entry is never mutated after construction (the entry cache hands out the same object to
  every reader).

Wire format (the stored bytes): compact JSON ``{"attr": ["value", ...], ...}`` with sorted keys
and sorted values, so equal entries serialise to equal bytes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping

EMPTY: frozenset[str] = frozenset()

# Attributes whose values repeat across many entries (class names, uuids of groups in
# member/memberof): interning the strings means one copy per directory instead of one per entry.
_INTERNED_VALUE_ATTRS = frozenset(
    {"class", "member", "memberof", "directmemberof", "managed_by", "acp_receiver"}
)
# Whole value sets that repeat: a directory of persons has a handful of distinct class sets.
_SHARED_SETS: dict[frozenset[str], frozenset[str]] = {}
_MAX_SHARED_SETS = 256


def _share(attr: str, values: frozenset[str]) -> frozenset[str]:
    if attr != "class":
        return values
    shared = _SHARED_SETS.get(values)
    if shared is not None:
        return shared
    if len(_SHARED_SETS) < _MAX_SHARED_SETS:
        _SHARED_SETS[values] = values
    return values


def freeze_attrs(attrs: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Return ``attrs`` as interned names mapped to frozensets, dropping empty attributes."""
    frozen: dict[str, frozenset[str]] = {}
    for attr, values in attrs.items():
        if attr in _INTERNED_VALUE_ATTRS:
            vals = frozenset(sys.intern(v) for v in values)
        else:
            vals = frozenset(values)
        if vals:
            frozen[sys.intern(attr)] = _share(attr, vals)
    return frozen


class Entry:
    """An immutable snapshot of a stored entry."""

    __slots__ = ("attrs", "id")

    # Invariant: never mutated; values are non-empty frozensets of normalised strings.
    attrs: Mapping[str, frozenset[str]]
    # The internal id: never shown on the wire, never reused.
    id: int

    def __init__(self, id: int, attrs: Mapping[str, frozenset[str]]) -> None:
        self.id = id
        self.attrs = attrs

    @property
    def uuid(self) -> str:
        return next(iter(self.attrs["uuid"]))

    def get(self, attr: str) -> frozenset[str]:
        """The values of ``attr``; an empty frozenset if the entry has none."""
        return self.attrs.get(attr, EMPTY)

    def first(self, attr: str) -> str | None:
        """The value of a single-valued ``attr`` (the smallest, should there be several)."""
        values = self.attrs.get(attr)
        if not values:
            return None
        if len(values) == 1:
            return next(iter(values))
        return min(values)

    def has_class(self, cls: str) -> bool:
        return cls in self.attrs.get("class", EMPTY)

    def with_attrs(self, attrs: Iterable[str]) -> Entry:
        """A copy reduced to ``attrs`` (what a search returns to a restricted reader)."""
        return Entry(self.id, {a: v for a, v in self.attrs.items() if a in attrs})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return self.id == other.id and dict(self.attrs) == dict(other.attrs)

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        # Only the identifying attributes: a repr must never carry a credential.
        name = self.first("name")
        return f"Entry(id={self.id}, name={name!r}, classes={sorted(self.get('class'))})"


def encode_attrs(attrs: Mapping[str, Iterable[str]]) -> bytes:
    """Serialise attributes (see the wire format in the module docstring)."""
    plain = {attr: sorted(values) for attr, values in sorted(attrs.items()) if values}
    return json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode()


def decode_entry(id: int, data: bytes) -> Entry:
    """Rebuild an entry from its stored bytes."""
    raw = json.loads(data)
    return Entry(id, freeze_attrs(raw))
