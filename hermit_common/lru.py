"""A table in recency order with a size bound: the one type behind every bounded in-memory store.

idmd keeps several such stores (verified tokens, pending auth sessions, credential update
sessions, softlock counters, the entry cache); each used to keep an ``OrderedDict`` by hand.
This module owns the order and the bound; what an entry is, when it expires and which entries
may be dropped stay with the store that uses it.

Rules:
- Entries are kept oldest first. ``put`` makes its key the newest (also when it was there);
  ``touch`` makes a present key the newest; ``get`` and ``peek`` never change the order.
- ``put`` never drops anything: the owner says when with ``trim`` (down to ``maxsize``, or to
  leave ``room`` for entries it is about to add), so a store that must keep an entry beyond the
  bound (softlock counters) can, and a store with its own rule of what may go (the same) reads
  the oldest ones with ``oldest`` and pops them itself.
- ``trim`` drops the oldest first and returns what it dropped, for owners that index their
  entries elsewhere too.
- Not thread-safe: an owner shared between threads holds its own lock (the entry cache does).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from itertools import islice
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """Entries in recency order (oldest first), bounded by ``maxsize`` at each ``trim``."""

    __slots__ = ("_entries", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("an Lru holds at least one entry")
        self.maxsize = maxsize
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        """The value of ``key`` or None; the order is left as it is."""
        return self._entries.get(key)

    def touch(self, key: K) -> V | None:
        """The value of ``key`` or None; a present key becomes the newest."""
        if key not in self._entries:
            return None
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` as the newest entry. Drops nothing (``trim`` does)."""
        self._entries[key] = value
        self._entries.move_to_end(key)

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value, or None when it was not there."""
        return self._entries.pop(key, None)

    def oldest(self, count: int | None = None) -> list[tuple[K, V]]:
        """The ``count`` oldest entries (all without ``count``), oldest first."""
        items = self._entries.items()
        return list(items if count is None else islice(items, count))

    def items(self) -> Iterator[tuple[K, V]]:
        """Every entry, oldest first. The table must not change during the iteration."""
        return iter(self._entries.items())

    def trim(self, room: int = 0) -> list[tuple[K, V]]:
        """Drop the oldest entries until ``room`` more fit under ``maxsize``; the dropped ones,
        oldest first."""
        dropped = []
        while self._entries and len(self._entries) + room > self.maxsize:
            dropped.append(self._entries.popitem(last=False))
        return dropped

    def clear(self) -> None:
        self._entries.clear()

    def snapshot(self) -> dict[K, V]:
        """A copy of the entries, oldest first."""
        return dict(self._entries)
