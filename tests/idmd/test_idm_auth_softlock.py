"""Softlocks: exact delays with an injected clock, the 100-failure lock, TOTP waits, unlock,
the two bounded tables, and attempts on one credential taking turns."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel
import trio.testing

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.errors import CredentialLocked
from idmd.idm.auth.softlock import Softlocks, delay_after, unknown_key

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


def test_softlocks__drop_only_counters_a_day_past_their_wait(clock: FakeClock) -> None:
    locks = Softlocks(clock, max_entries=3)
    for account in ("a", "b", "c"):
        locks.failed(account, "password")
    clock.advance(1 + limits.SOFTLOCK_FORGET_SECONDS - 1)
    locks.failed("a", "password")  # a is now the most recent
    # Full, and nothing is a day past its wait: the table grows rather than forget a failure.
    locks.failed("d", "password")
    assert len(locks) == 4
    clock.advance(1)
    # b and c ended their wait a day ago: the next new counter drops them, back under the bound.
    locks.failed("e", "password")
    assert len(locks) == 3
    assert locks.failures("b", "password") == 0
    assert locks.failures("c", "password") == 0
    assert locks.failures("e", "password") == 1
    assert locks.failures("a", "password") == 2
    assert locks.failures("d", "password") == 1


def test_softlocks__never_drop_a_locked_counter(clock: FakeClock) -> None:
    locks = Softlocks(clock, max_entries=1)
    for _ in range(limits.CREDENTIAL_LOCK_FAILURES):
        locks.failed(ALICE, "password")
    clock.advance(limits.CREDENTIAL_LOCK_SECONDS - 1)
    locks.failed("bob", "password")
    assert _locked(locks)
    assert locks.failures(ALICE, "password") == limits.CREDENTIAL_LOCK_FAILURES


def test_softlocks__unknown_names_have_a_table_of_their_own(clock: FakeClock) -> None:
    locks = Softlocks(clock, max_entries=1, max_unknown=2)
    locks.failed(ALICE, "password")
    for name in ("x", "y", "z"):
        locks.failed(unknown_key(name), "password")
        clock.advance(1)
    assert locks.unknown_count == 2  # x ended its wait: z took its place
    assert locks.failures(unknown_key("x"), "password") == 0
    assert locks.failures(ALICE, "password") == 1


def test_softlocks__refuse_an_unknown_credential_name(locks: Softlocks) -> None:
    with pytest.raises(ValueError):
        locks.failed(ALICE, "pasword")
    with pytest.raises(ValueError):
        locks.check(ALICE, "pasword")


# --- turns: attempts on one credential go one at a time ------------------------------------


async def test_attempt__from_the_first_one_the_others_wait_for_its_verdict(
    locks: Softlocks,
) -> None:
    order: list[str] = []
    release = trio.Event()

    async def first() -> None:
        async with locks.attempt(ALICE, "password") as attempt:
            order.append("first checks")
            await release.wait()
            attempt.failed()

    async def second() -> None:
        with pytest.raises(CredentialLocked) as err:
            async with locks.attempt(ALICE, "password"):
                order.append("second checks")  # never: the first one's failure holds it
        order.append(f"second refused: {err.value.detail}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(second)
        await trio.testing.wait_all_tasks_blocked()
        assert order == ["first checks"]
        release.set()
    assert order == [
        "first checks",
        "second refused: too many failed attempts with this password: try again in 1 second",
    ]


async def test_attempt__after_a_success_the_next_one_is_checked_in_turn(
    locks: Softlocks,
) -> None:
    checked: list[int] = []
    inside: list[int] = []

    async def right(n: int) -> None:
        async with locks.attempt(ALICE, "password") as attempt:
            inside.append(n)
            assert len(inside) == 1  # never two checks of one credential at once
            checked.append(n)
            await trio.lowlevel.checkpoint()
            inside.remove(n)
            attempt.succeeded()

    async with trio.open_nursery() as nursery:
        for n in range(limits.MAX_WAITING_ATTEMPTS + 1):
            nursery.start_soon(right, n)
    assert sorted(checked) == list(range(limits.MAX_WAITING_ATTEMPTS + 1))
    assert len(locks) == 0


async def test_attempt__beyond_the_waiting_bound_is_refused_at_once(locks: Softlocks) -> None:
    release = trio.Event()
    refused: list[str] = []

    async def hold() -> None:
        async with locks.attempt(ALICE, "password") as attempt:
            await release.wait()
            attempt.succeeded()

    async def one_more() -> None:
        try:
            async with locks.attempt(ALICE, "password") as attempt:
                attempt.succeeded()
        except CredentialLocked as err:
            refused.append(err.detail)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hold)
        await trio.testing.wait_all_tasks_blocked()
        for _ in range(limits.MAX_WAITING_ATTEMPTS):
            nursery.start_soon(one_more)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(one_more)
        await trio.testing.wait_all_tasks_blocked()
        assert refused == [
            "another attempt with this password is being checked: try again in 1 second"
        ]
        # Another credential, and another account, have turns of their own.
        async with locks.attempt(ALICE, "totp") as attempt:
            attempt.succeeded()
        async with locks.attempt("bob", "password") as attempt:
            attempt.succeeded()
        release.set()
    assert len(refused) == 1


async def test_attempt__waits_for_its_turn_only_so_long(
    locks: Softlocks, autojump_clock: trio.testing.MockClock
) -> None:
    refused: list[float] = []

    async def hold() -> None:
        async with locks.attempt(ALICE, "password"):
            await trio.sleep(limits.ATTEMPT_WAIT_SECONDS * 10)

    async def wait() -> None:
        began = trio.current_time()
        with pytest.raises(CredentialLocked):
            async with locks.attempt(ALICE, "password"):
                pass
        refused.append(trio.current_time() - began)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hold)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(wait)
    assert refused == [limits.ATTEMPT_WAIT_SECONDS]


async def test_attempt__cancelled_in_its_turn_counts_nothing_and_frees_it(
    locks: Softlocks,
) -> None:
    with trio.move_on_after(0):
        async with locks.attempt(ALICE, "password"):
            await trio.sleep_forever()
    assert len(locks) == 0
    async with locks.attempt(ALICE, "password") as attempt:
        attempt.failed()
    assert locks.failures(ALICE, "password") == 1


async def test_attempt__a_full_unknown_table_refuses_a_new_name_unchecked(
    clock: FakeClock,
) -> None:
    locks = Softlocks(clock, max_unknown=2)
    for name in ("x", "y"):
        async with locks.attempt(unknown_key(name), "password") as attempt:
            attempt.failed()
    with pytest.raises(CredentialLocked) as err:
        async with locks.attempt(unknown_key("z"), "password"):
            raise AssertionError("checked although no counter could be kept")
    assert err.value.retry_after == 1
    # A real account is not affected by the unknown names' table.
    async with locks.attempt(ALICE, "password") as attempt:
        attempt.failed()
    clock.advance(1)
    async with locks.attempt(unknown_key("z"), "password") as attempt:
        attempt.failed()
    assert locks.unknown_count == 2
