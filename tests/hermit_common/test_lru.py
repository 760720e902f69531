"""hermit_common.lru: the order, the bound and what trim drops."""

from __future__ import annotations

import pytest

from hermit_common.lru import Lru


def test_entries_are_kept_oldest_first_and_put_makes_a_key_the_newest() -> None:
    table: Lru[str, int] = Lru(10)
    for i, key in enumerate("abc"):
        table.put(key, i)
    table.put("a", 9)  # present: replaced, and now the newest
    assert table.oldest() == [("b", 1), ("c", 2), ("a", 9)]
    assert list(table.items()) == [("b", 1), ("c", 2), ("a", 9)]
    assert table.snapshot() == {"b": 1, "c": 2, "a": 9}


def test_get_leaves_the_order_and_touch_makes_a_key_the_newest() -> None:
    table: Lru[str, int] = Lru(10)
    for i, key in enumerate("abc"):
        table.put(key, i)
    assert table.get("a") == 0
    assert table.oldest(1) == [("a", 0)]
    assert table.touch("a") == 0
    assert table.oldest() == [("b", 1), ("c", 2), ("a", 0)]
    assert table.get("zz") is None
    assert table.touch("zz") is None
    assert "zz" not in table
    assert len(table) == 3


def test_put_never_drops_and_trim_drops_the_oldest_down_to_the_bound() -> None:
    table: Lru[int, str] = Lru(3)
    for i in range(5):
        table.put(i, str(i))
    assert len(table) == 5  # beyond the bound until the owner trims
    table.touch(0)
    assert table.trim() == [(1, "1"), (2, "2")]
    assert table.oldest() == [(3, "3"), (4, "4"), (0, "0")]
    assert table.trim() == []


def test_trim_with_room_leaves_space_for_that_many_more() -> None:
    table: Lru[int, int] = Lru(3)
    for i in range(3):
        table.put(i, i)
    assert table.trim(room=1) == [(0, 0)]
    assert len(table) == 2
    assert table.trim(room=3) == [(1, 1), (2, 2)]
    assert len(table) == 0
    assert table.trim(room=5) == []


def test_pop_and_clear() -> None:
    table: Lru[str, int] = Lru(2)
    table.put("a", 1)
    assert table.pop("a") == 1
    assert table.pop("a") is None
    table.put("b", 2)
    table.clear()
    assert len(table) == 0
    assert table.oldest() == []


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Lru(0)
