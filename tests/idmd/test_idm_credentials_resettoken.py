"""Reset tokens: their form, one per account, single use, expiry."""

from __future__ import annotations

import re

import pytest

from hermit_common.clock import FakeClock
from hermit_common.errors import InvalidValue
from idmd.idm.credentials import resettoken
from idmd.server import QueryServer
from idmd.server.identity import INTERNAL
from tests.idmd.entries import make_person

DAY = 24 * 60 * 60


def test_generate__is_four_groups_of_four_typeable_characters() -> None:
    secret = resettoken.generate()
    token = secret.reveal()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", token)
    assert repr(secret) == "[secure]"
    assert resettoken.generate().reveal() != token


def test_normalise__ignores_case_dashes_and_spaces() -> None:
    token = resettoken.generate().reveal()
    assert resettoken.normalise(token.upper().replace("-", " ")) == token.replace("-", "")
    assert resettoken.normalise("abcd-efgh") is None
    assert resettoken.normalise("0000-0000-0000-0000") is None  # 0 is not in the alphabet


def test_validate_ttl__bounds() -> None:
    assert resettoken.validate_ttl(3600) == 3600
    for bad in (59, 8 * DAY, True, "3600", 1.5):
        with pytest.raises(InvalidValue):
            resettoken.validate_ttl(bad)


def test_redeem__works_once(qs: QueryServer, clock: FakeClock) -> None:
    tokens = resettoken.ResetTokens(clock)
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        token, record = tokens.create(txn, alice, issued_by="x", by=INTERNAL, ttl=DAY)
        token = token.reveal()
    assert record.expires_at == clock.now() + DAY
    with qs.read() as txn:
        stored = txn.get(alice.uuid)
        assert stored is not None
        assert token.replace("-", "") not in str(stored.get("reset_token"))
        found = tokens.find(txn, token.upper())
        assert found is not None and found.uuid == alice.uuid
    clock.advance(60)
    with qs.write() as txn:
        redeemed = tokens.redeem(txn, token)
        assert redeemed is not None and redeemed.uuid == alice.uuid
        assert not redeemed.get("reset_token")
    with qs.write() as txn:
        assert tokens.redeem(txn, token) is None


def test_redeem__refuses_an_expired_token_and_removes_it(
    qs: QueryServer, clock: FakeClock
) -> None:
    tokens = resettoken.ResetTokens(clock)
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        token, _ = tokens.create(txn, alice, issued_by="x", by=INTERNAL, ttl=600)
        token = token.reveal()
    clock.advance(600)
    with qs.write() as txn:
        assert tokens.redeem(txn, token) is None
    with qs.read() as txn:
        stored = txn.get(alice.uuid)
        assert stored is not None and not stored.get("reset_token")


def test_create__a_new_token_replaces_the_old(qs: QueryServer, clock: FakeClock) -> None:
    tokens = resettoken.ResetTokens(clock)
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        bob = make_person(txn, "bob")
        old, _ = tokens.create(txn, alice, issued_by="x", by=INTERNAL, ttl=DAY)
        old = old.reveal()
    with qs.write() as txn:
        alice_now = txn.get(alice.uuid)
        assert alice_now is not None
        new, _ = tokens.create(txn, alice_now, issued_by="x", by=INTERNAL, ttl=DAY)
        new = new.reveal()
        bobs, _ = tokens.create(txn, bob, issued_by="x", by=INTERNAL, ttl=DAY)
        bobs = bobs.reveal()
    with qs.read() as txn:
        assert tokens.find(txn, old) is None
        new_found, bob_found = tokens.find(txn, new), tokens.find(txn, bobs)
        assert new_found is not None and new_found.uuid == alice.uuid
        assert bob_found is not None and bob_found.uuid == bob.uuid
        assert tokens.find(txn, "garbage") is None


def test_find__a_token_made_elsewhere_is_found_by_a_rescan_rationed_in_time(
    qs: QueryServer, clock: FakeClock
) -> None:
    # A token from before a restart: another ResetTokens made it, this one never saw it.
    before_restart = resettoken.ResetTokens(clock)
    tokens = resettoken.ResetTokens(clock, rescan_seconds=60)
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        bob = make_person(txn, "bob")
        token, _ = before_restart.create(txn, alice, issued_by="x", by=INTERNAL, ttl=DAY)
        token = token.reveal()
    with qs.read() as txn:
        found = tokens.find(txn, token)  # the first miss rebuilds the index
        assert found is not None and found.uuid == alice.uuid
    with qs.write() as txn:
        later, _ = before_restart.create(txn, bob, issued_by="x", by=INTERNAL, ttl=DAY)
        later = later.reveal()
    with qs.read() as txn:
        assert tokens.find(txn, later) is None  # no second scan within the minute
    clock.advance(60)
    with qs.read() as txn:
        found = tokens.find(txn, later)
        assert found is not None and found.uuid == bob.uuid
