"""Per-account counters of wrong offline passwords, and the growing delay they impose.

This module owns one decision: may an offline password check of this account run now, and
what a failure or a success does to that. It checks no password (the resolver does, against
the cache's hash) and logs nothing (``unixd.resolver.authlog``). Issue 9, finding 5: offline,
unixd's cached hash was an unthrottled oracle (26 guesses a second); idmd's softlock only
guards online checks. SSSD's ``offline_failed_login_attempts`` / ``offline_failed_login_delay``
are the precedent.

Rules:
- An account may have ``attempts`` - 1 wrong offline passwords in a row without a delay
  (``attempts`` is at least 1). The failure that reaches ``attempts`` starts a delay of
  ``delay`` seconds; each further one (made once a delay ended) starts one twice as long, at
  most ``max(MAX_DELAY_SECONDS, delay)``. With the defaults (3, 5 s): free, free, 5 s, 10 s,
  20 s, ... 10 minutes.
- Inside a delay a check is refused without being run: the right password is refused too,
  so the delay is no oracle. A refused check does not lengthen the delay (the account's owner
  is not locked out for longer by someone else's tries).
- A right password (offline or online) ends the account's counter.
- Time is the injected wall ``Clock`` (tests pass a fake one). The counters live in memory:
  only root (or unixd's own user) can restart unixd, which is the only way to reset them
  besides the right password. Only accounts with a cached hash ever fail a check, so there
  are at most as many counters as offline hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

from hermit_common.clock import Clock

# The longest delay the doubling reaches (SSSD's offline_failed_login_delay defaults to 5
# minutes, once); a configured first delay longer than this is used as it is.
MAX_DELAY_SECONDS = 600.0


@dataclass
class _Counter:
    failures: int = 0
    # Invariant: 0.0 until ``failures`` reaches the free attempts; then the wall time before
    # which checks are refused.
    wait_until: float = 0.0


class OfflineFailures:
    """The counters of every account (see the module rules)."""

    def __init__(self, clock: Clock, *, attempts: int, delay: float) -> None:
        self._clock = clock
        self._attempts = max(attempts, 1)
        self._delay = delay
        self._max_delay = max(MAX_DELAY_SECONDS, delay)
        self._counters: dict[str, _Counter] = {}

    def waiting(self, uuid: str) -> bool:
        """Whether ``uuid``'s checks are refused now (a delay is running)."""
        counter = self._counters.get(uuid)
        return counter is not None and self._clock.now() < counter.wait_until

    def failed(self, uuid: str) -> None:
        """A wrong password for ``uuid`` was checked offline."""
        counter = self._counters.setdefault(uuid, _Counter())
        counter.failures += 1
        doublings = counter.failures - self._attempts
        if doublings >= 0:
            # min() before the power: a long run of failures must not overflow a float.
            delay = min(self._delay * 2 ** min(doublings, 32), self._max_delay)
            counter.wait_until = self._clock.now() + delay

    def succeeded(self, uuid: str) -> None:
        """The right password for ``uuid``: its counter ends."""
        self._counters.pop(uuid, None)
