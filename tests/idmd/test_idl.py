"""Id lists: set algebra agrees with Python sets, and the order invariant holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from idmd.be.idl import IDL

ids = st.sets(st.integers(min_value=0, max_value=2**40), max_size=200)


def _ok(idl: IDL, expected: set[int]) -> None:
    assert list(idl) == sorted(expected)
    assert len(idl) == len(expected)


@given(ids, ids)
def test_idl__and_matches_set_intersection(a: set[int], b: set[int]) -> None:
    _ok(IDL(a).and_(IDL(b)), a & b)


@given(ids, ids)
def test_idl__or_matches_set_union(a: set[int], b: set[int]) -> None:
    _ok(IDL(a).or_(IDL(b)), a | b)


@given(ids, ids)
def test_idl__andnot_matches_set_difference(a: set[int], b: set[int]) -> None:
    _ok(IDL(a).andnot(IDL(b)), a - b)


@given(st.lists(ids, max_size=5))
def test_idl__intersect_all_and_union_all(lists: list[set[int]]) -> None:
    idls = [IDL(s) for s in lists]
    _ok(IDL.union_all(idls), set().union(*lists))
    _ok(IDL.intersect_all(idls), set.intersection(*lists) if lists else set())


@given(ids, st.integers(min_value=0, max_value=2**40))
def test_idl__contains(a: set[int], probe: int) -> None:
    assert (probe in IDL(a)) == (probe in a)


def test_idl__gallop_path_on_very_unequal_sizes() -> None:
    big = IDL(range(0, 10_000, 3))
    small = IDL([3, 4, 9, 9999])
    assert list(small.and_(big)) == [3, 9, 9999]
    assert list(big.and_(small)) == [3, 9, 9999]


def test_idl__equality_and_empty() -> None:
    assert IDL([3, 1, 2, 2]) == IDL.from_sorted([1, 2, 3])
    assert not IDL.empty()
