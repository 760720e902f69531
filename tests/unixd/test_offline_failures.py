"""unixd.resolver.offline_failures: free attempts, a doubling delay with a cap, a success that
ends the counter, accounts kept apart; time from a fake wall clock."""

from __future__ import annotations

from hermit_common.clock import FakeClock
from unixd.resolver.offline_failures import MAX_DELAY_SECONDS, OfflineFailures


def delays(failures: OfflineFailures, clock: FakeClock, uuid: str, count: int) -> list[float]:
    """The delay each of ``count`` failures (each made once the last delay ended) started."""
    seen = []
    for _ in range(count):
        failures.failed(uuid)
        start = clock.now()
        while failures.waiting(uuid):
            clock.advance(0.5)
        seen.append(clock.now() - start)
    return seen


def test_offline_failures__free_attempts_then_a_doubling_delay_up_to_the_cap() -> None:
    clock = FakeClock()
    failures = OfflineFailures(clock, attempts=3, delay=5)
    assert delays(failures, clock, "u", 10) == [0, 0, 5, 10, 20, 40, 80, 160, 320, 600]
    assert delays(failures, clock, "u", 2) == [MAX_DELAY_SECONDS] * 2


def test_offline_failures__a_success_ends_the_counter_and_accounts_are_apart() -> None:
    clock = FakeClock()
    failures = OfflineFailures(clock, attempts=1, delay=7)
    failures.failed("a")
    assert failures.waiting("a") and not failures.waiting("b")
    failures.succeeded("a")
    assert not failures.waiting("a")
    assert delays(failures, clock, "a", 2) == [7, 14]


def test_offline_failures__a_first_delay_beyond_the_cap_is_kept() -> None:
    clock = FakeClock()
    failures = OfflineFailures(clock, attempts=1, delay=3600)
    assert delays(failures, clock, "u", 3) == [3600] * 3


def test_offline_failures__a_long_run_never_overflows() -> None:
    clock = FakeClock()
    failures = OfflineFailures(clock, attempts=1, delay=1)
    for _ in range(5000):
        failures.failed("u")
    assert failures.waiting("u")
    clock.advance(MAX_DELAY_SECONDS)
    assert not failures.waiting("u")
