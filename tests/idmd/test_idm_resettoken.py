"""Reset tokens: their form, one per account, single use, expiry."""

from __future__ import annotations

import re

import pytest

from idmd.errors import InvalidValue
from idmd.idm import resettoken
from idmd.server import QueryServer
from tests.idmd.conftest import make_person

NOW = 1_800_000_000.0
DAY = 24 * 60 * 60


def test_generate__is_four_groups_of_four_typeable_characters() -> None:
    token = resettoken.generate()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", token)
    assert repr(token) == "[secure]"
    assert resettoken.generate() != token


def test_normalise__ignores_case_dashes_and_spaces() -> None:
    token = resettoken.generate()
    assert resettoken.normalise(token.upper().replace("-", " ")) == token.replace("-", "")
    assert resettoken.normalise("abcd-efgh") is None
    assert resettoken.normalise("0000-0000-0000-0000") is None  # 0 is not in the alphabet


def test_validate_ttl__bounds() -> None:
    assert resettoken.validate_ttl(3600) == 3600
    for bad in (59, 8 * DAY, True, "3600", 1.5):
        with pytest.raises(InvalidValue):
            resettoken.validate_ttl(bad)


def test_redeem__works_once(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        token, record = resettoken.create(txn, alice, issued_by="x", now=NOW, ttl=DAY)
    assert record.expires_at == NOW + DAY
    with qs.read() as txn:
        stored = txn.get(alice.uuid)
        assert stored is not None
        assert token.replace("-", "") not in str(stored.get("reset_token"))
        found = resettoken.find(txn, token.upper())
        assert found is not None and found.uuid == alice.uuid
    with qs.write() as txn:
        redeemed = resettoken.redeem(txn, token, NOW + 60)
        assert redeemed is not None and redeemed.uuid == alice.uuid
        assert not redeemed.get("reset_token")
    with qs.write() as txn:
        assert resettoken.redeem(txn, token, NOW + 61) is None


def test_redeem__refuses_an_expired_token_and_removes_it(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        token, _ = resettoken.create(txn, alice, issued_by="x", now=NOW, ttl=600)
    with qs.write() as txn:
        assert resettoken.redeem(txn, token, NOW + 600) is None
    with qs.read() as txn:
        stored = txn.get(alice.uuid)
        assert stored is not None and not stored.get("reset_token")


def test_create__a_new_token_replaces_the_old(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        bob = make_person(txn, "bob")
        old, _ = resettoken.create(txn, alice, issued_by="x", now=NOW, ttl=DAY)
        new, _ = resettoken.create(txn, alice, issued_by="x", now=NOW, ttl=DAY)
        bobs, _ = resettoken.create(txn, bob, issued_by="x", now=NOW, ttl=DAY)
    with qs.read() as txn:
        assert resettoken.find(txn, old) is None
        new_found, bob_found = resettoken.find(txn, new), resettoken.find(txn, bobs)
        assert new_found is not None and new_found.uuid == alice.uuid
        assert bob_found is not None and bob_found.uuid == bob.uuid
        assert resettoken.find(txn, "garbage") is None
