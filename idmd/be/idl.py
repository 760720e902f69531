"""Id lists: the sorted, duplicate-free sets of entry ids that the indexes yield.

An ``IDL`` is immutable and held as a compact ``array('q')`` (8 bytes an id instead of a
Python int object's 28 and a list slot's 8). Set algebra (and, or, andnot) returns new lists.

Invariant: ``_ids`` is strictly increasing.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

# Below this size ratio a merge by binary search beats building a set of the larger list.
_GALLOP_RATIO = 16


class IDL:
    __slots__ = ("_ids",)

    _ids: array[int]

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._ids = array("q", sorted(set(ids)))

    @classmethod
    def from_sorted(cls, ids: Iterable[int]) -> IDL:
        """Wrap ids the caller guarantees are strictly increasing (index scans yield them so)."""
        idl = cls.__new__(cls)
        idl._ids = array("q", ids)
        return idl

    @classmethod
    def empty(cls) -> IDL:
        return cls.from_sorted(())

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __bool__(self) -> bool:
        return len(self._ids) > 0

    def __contains__(self, id: object) -> bool:
        if not isinstance(id, int):
            return False
        i = bisect_left(self._ids, id)
        return i < len(self._ids) and self._ids[i] == id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IDL):
            return NotImplemented
        return self._ids == other._ids

    def __hash__(self) -> int:
        return hash(self._ids.tobytes())

    def __repr__(self) -> str:
        return f"IDL({list(self._ids)!r})"

    def and_(self, other: IDL) -> IDL:
        small, big = (self, other) if len(self) <= len(other) else (other, self)
        if not small:
            return IDL.empty()
        if len(big) > _GALLOP_RATIO * len(small):
            return IDL.from_sorted(i for i in small._ids if i in big)
        keep = set(big._ids)
        return IDL.from_sorted(i for i in small._ids if i in keep)

    def or_(self, other: IDL) -> IDL:
        if not other:
            return self
        if not self:
            return other
        return IDL.from_sorted(sorted(set(self._ids).union(other._ids)))

    def andnot(self, other: IDL) -> IDL:
        if not self or not other:
            return self
        drop = set(other._ids)
        return IDL.from_sorted(i for i in self._ids if i not in drop)

    @staticmethod
    def intersect_all(lists: Sequence[IDL]) -> IDL:
        """The intersection of ``lists`` (pass them shortest first for speed)."""
        if not lists:
            return IDL.empty()
        result = lists[0]
        for other in lists[1:]:
            if not result:
                break
            result = result.and_(other)
        return result

    @staticmethod
    def union_all(lists: Sequence[IDL]) -> IDL:
        ids: set[int] = set()
        for idl in lists:
            ids.update(idl._ids)
        return IDL.from_sorted(sorted(ids))
