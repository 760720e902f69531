"""The badlist: seeded once per database, casefolded words, bounds, removal that sticks."""

from __future__ import annotations

import pytest

from hermit_common.clock import FakeClock
from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.idm.policy import badlist
from idmd.server import QueryServer
from idmd.server.identity import INTERNAL


def test_default_words__are_long_enough_casefolded_and_bounded() -> None:
    words = badlist.default_words()
    assert 10_000 < len(words) <= limits.MAX_BADLIST_WORDS
    assert all(len(w) >= limits.ABSOLUTE_MIN_PASSWORD_CHARS for w in words)
    assert all(w == badlist.normalise(w) for w in words)
    assert {"password", "iloveyou", "sunshine"} <= words


def test_seed_default__once_so_a_removed_word_stays_removed(db_path: str) -> None:
    server = QueryServer(db_path, domain="example.com", clock=FakeClock())
    try:
        with server.write() as txn:
            assert badlist.seed_default(txn) is True
            badlist.remove_words(txn, INTERNAL, ["password"])
        with server.write() as txn:
            assert badlist.seed_default(txn) is False
    finally:
        server.close()
    reopened = QueryServer(db_path, domain="example.com", clock=FakeClock())
    try:
        with reopened.write() as txn:
            assert badlist.seed_default(txn) is False
        with reopened.read() as txn:
            words = badlist.words(txn)
        assert "password" not in words and "iloveyou" in words
        assert reopened.verify() == []
    finally:
        reopened.close()


def test_validate_words__casefolds_strips_and_deduplicates() -> None:
    assert badlist.validate_words([" PassWord ", "password", "Straße"]) == ["password", "strasse"]


@pytest.mark.parametrize("raw", [[""], ["  "], ["x" * (limits.MAX_TEXT_LEN + 1)], [3]])
def test_validate_words__refuses_blank_long_and_non_strings(raw: list[object]) -> None:
    with pytest.raises(InvalidValue):
        badlist.validate_words(raw)


def test_add_words__refuses_growing_past_the_bound(
    qs: QueryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_BADLIST_WORDS", 3)
    with qs.write() as txn:
        assert badlist.add_words(txn, INTERNAL, ["one-word", "two-word"]) == (True, 2)
        with pytest.raises(InvalidValue):
            badlist.add_words(txn, INTERNAL, ["three-word", "four-word"])
        assert badlist.add_words(txn, INTERNAL, ["two-word", "three-word"]) == (True, 3)
