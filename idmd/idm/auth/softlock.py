"""Softlocks: failed attempts slow down further attempts on the same credential.

This module owns the counters of consecutive failures per (account, credential), the wait
each one imposes, and the rule that attempts on one credential are checked one at a time. It
does not verify anything: a login path runs each check inside ``attempt``, which waits for
the credential's turn and refuses a credential that must wait before any work is done (so a
locked credential costs no Argon2 run), and reports the verdict on the handle it gets.

Rules (numbers in ``idmd.limits``):
- ``account`` is the account's uuid; a name that matches no account (and, for
  ``/v1/unix/auth``, an account the caller may not read) uses ``unknown_key(name)`` (``"?"``
  + the folded name), so probing an unknown name is slowed exactly like a real one.
  ``credential`` is one of ``CREDENTIALS``; each has its own counter, so a lockout never
  stops the owner's other credentials.
- The n-th consecutive failure makes the credential wait ``2^(n-1)`` seconds, capped at
  ``SOFTLOCK_MAX_DELAY_SECONDS``; the ``CREDENTIAL_LOCK_FAILURES``-th locks it for
  ``CREDENTIAL_LOCK_SECONDS`` (NIST SP 800-63B 5.2.2: at most 100 consecutive failures).
  ``wait_until`` (a wrong TOTP code: the start of the next time step) can only lengthen a wait.
- Attempts on one credential go one at a time, from the first one on (issue 9: a credential
  that had not failed yet let 40 parallel guesses through before the first verdict). An
  attempt waits for the one being checked (at most ``MAX_WAITING_ATTEMPTS`` wait, each at most
  ``ATTEMPT_WAIT_SECONDS``; beyond that it is refused at once), then sees its verdict: after a
  failure it is refused unchecked, after a success it is checked in turn. A turn belongs to
  one credential of one account, so a burst on one never delays another account.
- A success ends the counter; ``unlock`` (an admin) ends every counter of the account.
- Counters live in memory only: a restart forgets them (docs/authentication.md says why).
  Real accounts and unknown names have separate tables, so a flood of made-up names never
  pushes out a real account's counter. A counter in its turn is never dropped. Of the others,
  a real account's counter is dropped (past ``MAX_SOFTLOCKS``) only once its wait ended
  ``SOFTLOCK_FORGET_SECONDS`` ago: a waiting, locked or recently failed counter stays. An
  unknown name's counter is dropped (past ``MAX_UNKNOWN_SOFTLOCKS``) once its wait ended; when
  every one still waits, a new unknown name is refused without a check.

Cancellation: ``attempt`` may be cancelled while it waits for its turn (nothing is counted)
or inside it; the turn is always released.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import trio

from hermit_common.clock import Clock
from hermit_common.lru import Lru
from idmd import limits
from idmd.errors import CredentialLocked
from idmd.names import fold_name

CREDENTIALS = frozenset({"password", "unix_password", "totp", "unix_totp", "backup_code"})
UNKNOWN_PREFIX = "?"
# How many counters, oldest first, one bound check looks at for one it may drop: the work of
# one attempt stays constant even when the oldest counters are all locked.
_EVICTION_SCAN = 64

Key = tuple[str, str]


def unknown_key(name: str) -> str:
    """The ``account`` key for a name that matches no account (never a uuid)."""
    return UNKNOWN_PREFIX + fold_name(name)


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
    # Invariant: 0 only for the reserved slot of an attempt in its turn that has no verdict.
    failures: int
    wait_until: float


@dataclass
class _Turn:
    lock: trio.Lock = field(default_factory=trio.Lock)
    # Invariant: the attempts holding or waiting for ``lock``; the turn is dropped at 0.
    users: int = 0


class Attempt:
    """One attempt in its credential's turn: report its verdict on it."""

    def __init__(self, softlocks: Softlocks, account: str, credential: str) -> None:
        self._softlocks = softlocks
        self._account = account
        self._credential = credential

    def succeeded(self) -> None:
        self._softlocks.succeeded(self._account, self._credential)

    def failed(self, *, wait_until: float | None = None) -> None:
        self._softlocks.failed(self._account, self._credential, wait_until=wait_until)


class Softlocks:
    """The in-memory, bounded failure counters of every credential, and their turns."""

    def __init__(
        self, clock: Clock, *, max_entries: int | None = None, max_unknown: int | None = None
    ) -> None:
        self._clock = clock
        # Invariant (both tables): ordered by last failure, oldest first (a failure moves its
        # key to the end); keys of ``_unknown`` start with UNKNOWN_PREFIX, of ``_known`` never.
        # Their bounds are kept by ``_make_room``, which drops only what the rules allow.
        self._known: Lru[Key, _Counter] = Lru(
            limits.MAX_SOFTLOCKS if max_entries is None else max_entries
        )
        self._unknown: Lru[Key, _Counter] = Lru(
            limits.MAX_UNKNOWN_SOFTLOCKS if max_unknown is None else max_unknown
        )
        # Invariant: a key is here exactly while an attempt on it holds or waits for its turn.
        self._turns: dict[Key, _Turn] = {}

    def __len__(self) -> int:
        return len(self._known) + len(self._unknown)

    @property
    def unknown_count(self) -> int:
        """Counters held for unknown names."""
        return len(self._unknown)

    def failures(self, account: str, credential: str) -> int:
        """Consecutive failures counted for this credential now."""
        counter = self._table(account).get((account, credential))
        return counter.failures if counter is not None else 0

    def check(self, account: str, credential: str) -> None:
        """Whether the counter lets an attempt be checked now (turns aside: ``attempt``).

        Errors: ``CredentialLocked`` while the credential waits (detail says until when).
        """
        counter = self._table(account).get((account, _known(credential)))
        if counter is None:
            return
        left = counter.wait_until - self._clock.now()
        if left <= 0:
            return
        label = credential.replace("_", " ")
        retry_after = max(1, math.ceil(left))
        if counter.failures >= limits.CREDENTIAL_LOCK_FAILURES:
            when = datetime.fromtimestamp(counter.wait_until, UTC).strftime("%Y-%m-%d %H:%M:%S")
            raise CredentialLocked(
                f"this {label} is locked after {counter.failures} failed attempts: try again "
                f"after {when} UTC, or ask an admin to unlock it",
                retry_after,
            )
        raise _too_many(label, retry_after)

    @asynccontextmanager
    async def attempt(self, account: str, credential: str) -> AsyncIterator[Attempt]:
        """Wait for this credential's turn, then ``check`` it; the body checks the credential
        and reports the verdict on the ``Attempt``.

        Errors: ``CredentialLocked`` when the credential must wait, when too many attempts
        already wait for it or the turn did not come in time (nothing was checked, nothing is
        counted), or when no counter can be kept for an unknown name.
        """
        key = (account, _known(credential))
        label = credential.replace("_", " ")
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        if turn.users > limits.MAX_WAITING_ATTEMPTS:  # the one in its turn, and those waiting
            raise _busy(label)
        turn.users += 1
        try:
            acquired = False
            with trio.move_on_after(limits.ATTEMPT_WAIT_SECONDS):
                await turn.lock.acquire()
                acquired = True
            if not acquired:
                raise _busy(label)
            try:
                self.check(account, credential)
                self._reserve(key, label)
                yield Attempt(self, account, credential)
            finally:
                self._unreserve(key)
                turn.lock.release()
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[key]

    def failed(self, account: str, credential: str, *, wait_until: float | None = None) -> None:
        """Count one failure; the credential then waits (see the module rules)."""
        key = (account, _known(credential))
        table = self._table(account)
        now = self._clock.now()
        counter = table.pop(key)
        if counter is None:
            # Only a failure outside ``attempt`` lands here (its reserved slot is the counter
            # otherwise): room is made where the rules allow, and the counter is kept anyway.
            self._make_room(table, now)
        failures = (counter.failures if counter is not None else 0) + 1
        until = now + delay_after(failures)
        if counter is not None:
            until = max(until, counter.wait_until)
        if wait_until is not None:
            until = max(until, wait_until)
        table.put(key, _Counter(failures=failures, wait_until=until))

    def succeeded(self, account: str, credential: str) -> None:
        self._table(account).pop((account, _known(credential)))

    def unlock(self, account: str) -> bool:
        """End every counter of ``account``; whether there was any."""
        table = self._table(account)
        keys = [key for key, counter in table.items() if key[0] == account and counter.failures]
        for key in keys:
            table.pop(key)
        return bool(keys)

    # -- the tables ------------------------------------------------------------------------

    def _table(self, account: str) -> Lru[Key, _Counter]:
        return self._unknown if account.startswith(UNKNOWN_PREFIX) else self._known

    def _reserve(self, key: Key, label: str) -> None:
        """Hold a counter for an attempt in its turn, so its verdict always has a place.

        Errors: ``CredentialLocked`` when the unknown names' table is full of counters that
        may not be dropped.
        """
        table = self._table(key[0])
        if key in table:
            return
        now = self._clock.now()
        if not self._make_room(table, now) and table is self._unknown:
            waits = [c.wait_until for _, c in table.oldest(_EVICTION_SCAN)]
            left = min((w for w in waits if w > now), default=now + 1) - now
            raise _too_many(label, max(1, math.ceil(left)))
        table.put(key, _Counter(failures=0, wait_until=0.0))

    def _unreserve(self, key: Key) -> None:
        """End a reserved slot no verdict filled (an error or a cancellation in the turn)."""
        table = self._table(key[0])
        counter = table.get(key)
        if counter is not None and counter.failures == 0:
            table.pop(key)

    def _make_room(self, table: Lru[Key, _Counter], now: float) -> bool:
        """Drop counters the rules allow until ``table`` has room for one more; whether it
        has. Looks at the ``_EVICTION_SCAN`` oldest only."""
        unknown = table is self._unknown
        bound = table.maxsize
        if len(table) < bound:
            return True
        forget_after = 0.0 if unknown else limits.SOFTLOCK_FORGET_SECONDS
        droppable = [
            key
            for key, counter in table.oldest(_EVICTION_SCAN)
            if key not in self._turns and now >= counter.wait_until + forget_after
        ]
        for key in droppable[: len(table) - bound + 1]:
            table.pop(key)
        return len(table) < bound


def _too_many(label: str, retry_after: int) -> CredentialLocked:
    unit = "second" if retry_after == 1 else "seconds"
    return CredentialLocked(
        f"too many failed attempts with this {label}: try again in {retry_after} {unit}",
        retry_after,
    )


def _busy(label: str) -> CredentialLocked:
    return CredentialLocked(
        f"another attempt with this {label} is being checked: try again in 1 second", 1
    )


def _known(credential: str) -> str:
    if credential not in CREDENTIALS:
        raise ValueError(f"no softlock for credential {credential!r}")
    return credential
