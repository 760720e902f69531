"""Softlocks: exact delays with an injected clock, the 100-failure lock, TOTP waits, unlock."""

from __future__ import annotations

import pytest

from idmd import limits
from idmd.clock import FakeClock
from idmd.errors import CredentialLocked
from idmd.idm.softlock import IN_FLIGHT_SECONDS, Softlocks, delay_after, unknown_key

ALICE = "00000000-0000-0000-0000-00000000a11c"


@pytest.fixture
def locks(clock: FakeClock) -> Softlocks:
    return Softlocks(clock)


def _locked(locks: Softlocks, account: str = ALICE, credential: str = "password") -> bool:
    try:
        locks.check(account, credential)
    except CredentialLocked:
        return True
    return False


def test_delay_after__doubles_from_one_second_up_to_the_cap() -> None:
    assert [delay_after(n) for n in range(0, 5)] == [0, 1, 2, 4, 8]
    assert delay_after(7) == 60 == limits.SOFTLOCK_MAX_DELAY_SECONDS
    assert delay_after(99) == limits.SOFTLOCK_MAX_DELAY_SECONDS
    assert delay_after(100) == limits.CREDENTIAL_LOCK_SECONDS == 24 * 60 * 60


def test_check__passes_a_credential_without_failures(locks: Softlocks) -> None:
    locks.check(ALICE, "password")
    assert len(locks) == 0


def test_failed__waits_exactly_the_growing_delay(locks: Softlocks, clock: FakeClock) -> None:
    for failures, delay in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 32), (7, 60), (8, 60)):
        locks.failed(ALICE, "password")
        assert locks.failures(ALICE, "password") == failures
        clock.advance(delay - 0.001)
        with pytest.raises(CredentialLocked) as err:
            locks.check(ALICE, "password")
        assert err.value.retry_after == 1
        clock.advance(0.001)
        locks.check(ALICE, "password")


def test_check__says_how_many_seconds_to_wait(locks: Softlocks, clock: FakeClock) -> None:
    for _ in range(4):
        locks.failed(ALICE, "password")
    clock.advance(3)
    with pytest.raises(CredentialLocked) as err:
        locks.check(ALICE, "password")
    assert err.value.retry_after == 5
    assert err.value.detail == (
        "too many failed attempts with this password: try again in 5 seconds"
    )
    assert err.value.status == 429


def test_failed__locks_for_a_day_at_the_hundredth_failure(
    locks: Softlocks, clock: FakeClock
) -> None:
    for _ in range(limits.CREDENTIAL_LOCK_FAILURES - 1):
        locks.failed(ALICE, "password")
        clock.advance(limits.SOFTLOCK_MAX_DELAY_SECONDS)
    locks.check(ALICE, "password")  # 99 failures: still only the capped delay
    locks.failed(ALICE, "password")
    with pytest.raises(CredentialLocked) as err:
        locks.check(ALICE, "password")
    assert err.value.retry_after == limits.CREDENTIAL_LOCK_SECONDS
    assert "locked after 100 failed attempts" in err.value.detail
    assert "ask an admin to unlock it" in err.value.detail
    clock.advance(limits.CREDENTIAL_LOCK_SECONDS - 1)
    assert _locked(locks)
    clock.advance(1)
    assert not _locked(locks)
    # Still 100 consecutive failures: the next one locks for another day at once.
    locks.failed(ALICE, "password")
    clock.advance(limits.CREDENTIAL_LOCK_SECONDS - 1)
    assert _locked(locks)


def test_failed__wait_until_extends_to_the_next_totp_step(
    locks: Softlocks, clock: FakeClock
) -> None:
    next_step = clock.now() + 25
    locks.failed(ALICE, "totp", wait_until=next_step)
    clock.advance(24.5)
    assert _locked(locks, credential="totp")
    clock.advance(0.5)
    assert not _locked(locks, credential="totp")


def test_failed__wait_until_never_shortens_the_delay(locks: Softlocks, clock: FakeClock) -> None:
    for _ in range(6):
        locks.failed(ALICE, "totp")
    locks.failed(ALICE, "totp", wait_until=clock.now() + 1)  # 7th failure: 60 s
    clock.advance(59)
    assert _locked(locks, credential="totp")


def test_succeeded__resets_the_counter(locks: Softlocks, clock: FakeClock) -> None:
    for _ in range(5):
        locks.failed(ALICE, "password")
    clock.advance(16)
    locks.succeeded(ALICE, "password")
    assert locks.failures(ALICE, "password") == 0
    locks.failed(ALICE, "password")
    clock.advance(1)
    assert not _locked(locks)  # back to a one-second delay


def test_failed__leaves_the_other_credentials_alone(locks: Softlocks) -> None:
    for _ in range(limits.CREDENTIAL_LOCK_FAILURES):
        locks.failed(ALICE, "password")
    assert _locked(locks, credential="password")
    for other in ("unix_password", "totp", "unix_totp", "backup_code"):
        assert not _locked(locks, credential=other)
    assert not _locked(locks, account="someone-else")


def test_unlock__ends_every_counter_of_the_account(locks: Softlocks) -> None:
    for _ in range(limits.CREDENTIAL_LOCK_FAILURES):
        locks.failed(ALICE, "password")
    locks.failed(ALICE, "totp")
    locks.failed("bob", "password")
    assert locks.unlock(ALICE) is True
    assert not _locked(locks, credential="password")
    assert not _locked(locks, credential="totp")
    assert locks.failures(ALICE, "password") == 0
    assert _locked(locks, account="bob")
    assert locks.unlock(ALICE) is False


def test_unknown_key__is_slowed_like_a_real_account(locks: Softlocks) -> None:
    key = unknown_key(" Mallory ")
    assert key == "?mallory"
    locks.failed(key, "password")
    assert _locked(locks, account=unknown_key("MALLORY"))


def test_softlocks__hold_at_most_max_entries_dropping_the_oldest_failure(
    clock: FakeClock,
) -> None:
    locks = Softlocks(clock, max_entries=3)
    for account in ("a", "b", "c"):
        locks.failed(account, "password")
    locks.failed("a", "password")  # a is now the most recent
    locks.failed("d", "password")
    assert len(locks) == 3
    assert locks.failures("b", "password") == 0
    assert locks.failures("a", "password") == 2
    assert locks.failures("d", "password") == 1


def test_softlocks__refuse_an_unknown_credential_name(locks: Softlocks) -> None:
    with pytest.raises(ValueError):
        locks.failed(ALICE, "pasword")
    with pytest.raises(ValueError):
        locks.check(ALICE, "pasword")


def test_check__once_failed_lets_one_attempt_through_at_a_time(
    locks: Softlocks, clock: FakeClock
) -> None:
    locks.failed(ALICE, "password")
    clock.advance(1)
    locks.check(ALICE, "password")  # this attempt is now being verified
    with pytest.raises(CredentialLocked) as err:
        locks.check(ALICE, "password")
    assert "being checked" in err.value.detail
    locks.failed(ALICE, "password")  # its verdict: the next wait starts
    clock.advance(2)
    locks.check(ALICE, "password")
    locks.succeeded(ALICE, "password")
    locks.check(ALICE, "password")
    locks.check(ALICE, "password")  # never failed again: parallel attempts pass


def test_check__a_reservation_without_verdict_ends_after_a_bound(
    locks: Softlocks, clock: FakeClock
) -> None:
    locks.failed(ALICE, "password")
    clock.advance(1)
    locks.check(ALICE, "password")
    clock.advance(IN_FLIGHT_SECONDS - 0.5)
    assert _locked(locks)
    clock.advance(0.5)
    assert not _locked(locks)
