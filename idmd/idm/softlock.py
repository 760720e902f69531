"""Softlocks: failed attempts slow down further attempts on the same credential.

This module owns the counters of consecutive failures per (account, credential) and the wait
each one imposes. It does not verify anything: a login path calls ``check`` before it does any
work on a credential (so a locked credential costs no Argon2 run), then ``failed`` or
``succeeded`` with the verdict.

Rules (numbers in ``idmd.limits``):
- ``account`` is the account's uuid; a name that matches no account uses ``unknown_key(name)``
  (``"?"`` + the folded name), so probing an unknown name is slowed exactly like a real one.
  ``credential`` is one of ``CREDENTIALS``; each has its own counter, so a lockout never stops
  the owner's other credentials.
- The n-th consecutive failure makes the credential wait ``2^(n-1)`` seconds, capped at
  ``SOFTLOCK_MAX_DELAY_SECONDS``; the ``CREDENTIAL_LOCK_FAILURES``-th locks it for
  ``CREDENTIAL_LOCK_SECONDS`` (NIST SP 800-63B 5.2.2: at most 100 consecutive failures).
  ``wait_until`` (a wrong TOTP code: the start of the next time step) can only lengthen a wait.
- Once a credential has failed, its attempts go one at a time: a ``check`` that passes
  reserves the credential until ``failed``/``succeeded`` (at most ``IN_FLIGHT_SECONDS``), and
  a concurrent ``check`` must wait. Otherwise N clients racing past one check would get N
  guesses per delay. A credential that never failed is not reserved, so an owner's parallel
  logins are not serialised.
- A success ends the counter; ``unlock`` (an admin) ends every counter of the account.
- Counters live in memory only: a restart forgets them (docs/authentication.md says why). At
  most ``MAX_SOFTLOCKS`` are held; beyond that the one whose last failure is oldest goes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from idmd import limits
from idmd.clock import Clock
from idmd.errors import CredentialLocked
from idmd.names import fold_name

CREDENTIALS = frozenset({"password", "unix_password", "totp", "unix_totp", "backup_code"})
# How long a passed check reserves a credential that has failed before: longer than a
# verification waits for an Argon2 slot under load, short enough that a caller that never
# reports its verdict (a cancelled request) blocks the credential only briefly.
IN_FLIGHT_SECONDS = 10.0


def unknown_key(name: str) -> str:
    """The ``account`` key for a name that matches no account (never a uuid)."""
    return "?" + fold_name(name)


def delay_after(failures: int) -> float:
    """How long a credential waits after ``failures`` consecutive failures (0 for none)."""
    if failures <= 0:
        return 0.0
    if failures >= limits.CREDENTIAL_LOCK_FAILURES:
        return float(limits.CREDENTIAL_LOCK_SECONDS)
    # 2^(n-1) grows past the cap long before n gets large; min() keeps the float small.
    return float(min(2 ** min(failures - 1, 32), limits.SOFTLOCK_MAX_DELAY_SECONDS))


@dataclass
class _Counter:
    failures: int
    wait_until: float
    in_flight_until: float = 0.0


class Softlocks:
    """The in-memory, bounded failure counters of every credential."""

    def __init__(self, clock: Clock, *, max_entries: int = limits.MAX_SOFTLOCKS) -> None:
        self._clock = clock
        self._max_entries = max_entries
        # Invariant: ordered by last failure, oldest first (a failure moves its key to the end).
        self._counters: OrderedDict[tuple[str, str], _Counter] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counters)

    def failures(self, account: str, credential: str) -> int:
        """Consecutive failures counted for this credential now."""
        counter = self._counters.get((account, credential))
        return counter.failures if counter is not None else 0

    def check(self, account: str, credential: str) -> None:
        """Errors: ``CredentialLocked`` while the credential waits (detail says until when)."""
        counter = self._counters.get((account, _known(credential)))
        if counter is None:
            return
        now = self._clock.now()
        label = credential.replace("_", " ")
        left = counter.wait_until - now
        if left <= 0:
            if now < counter.in_flight_until:
                raise CredentialLocked(
                    f"another attempt with this {label} is being checked: try again in 1 second",
                    1,
                )
            counter.in_flight_until = now + IN_FLIGHT_SECONDS
            return
        retry_after = max(1, math.ceil(left))
        if counter.failures >= limits.CREDENTIAL_LOCK_FAILURES:
            when = datetime.fromtimestamp(counter.wait_until, UTC).strftime("%Y-%m-%d %H:%M:%S")
            raise CredentialLocked(
                f"this {label} is locked after {counter.failures} failed attempts: try again "
                f"after {when} UTC, or ask an admin to unlock it",
                retry_after,
            )
        unit = "second" if retry_after == 1 else "seconds"
        raise CredentialLocked(
            f"too many failed attempts with this {label}: try again in {retry_after} {unit}",
            retry_after,
        )

    def failed(self, account: str, credential: str, *, wait_until: float | None = None) -> None:
        """Count one failure; the credential then waits (see the module rules)."""
        key = (account, _known(credential))
        now = self._clock.now()
        counter = self._counters.pop(key, None)
        failures = (counter.failures if counter is not None else 0) + 1
        until = now + delay_after(failures)
        if counter is not None:
            until = max(until, counter.wait_until)
        if wait_until is not None:
            until = max(until, wait_until)
        self._counters[key] = _Counter(failures=failures, wait_until=until)
        while len(self._counters) > self._max_entries:
            self._counters.popitem(last=False)

    def succeeded(self, account: str, credential: str) -> None:
        self._counters.pop((account, _known(credential)), None)

    def unlock(self, account: str) -> bool:
        """End every counter of ``account``; whether there was any."""
        keys = [key for key in self._counters if key[0] == account]
        for key in keys:
            del self._counters[key]
        return bool(keys)


def _known(credential: str) -> str:
    if credential not in CREDENTIALS:
        raise ValueError(f"no softlock for credential {credential!r}")
    return credential
