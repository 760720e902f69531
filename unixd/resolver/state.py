"""The resolver's online/offline state machine, as a sans-IO table.

This module decides only *whether to try idmd now*; it does no I/O and reads no clock of its
own (the caller passes trio's monotonic time, so tests drive it with ``MockClock``). The
resolver reports what happened (``succeeded``, ``failed``) and asks ``may_try``.

States and transitions (every rule lives in ``_TRANSITIONS``)::

    ONLINE  --failed-->  OFFLINE (retry at now + back-off; back-off doubles, capped)
    OFFLINE --succeeded--> ONLINE (back-off reset)
    OFFLINE --failed-->  OFFLINE (a later retry failed too: the next back-off is longer)
    OFFLINE --network_changed--> OFFLINE with the retry due at once (back-off kept, so a
                                 flapping link still backs off after the next failure)
    ONLINE  --succeeded / network_changed--> ONLINE

While OFFLINE and before the retry time, ``may_try`` is False: lookups answer from the
cache without waiting for a connect timeout each time. The first attempt after the back-off
is a normal request; its outcome moves the machine.

Values: the first back-off is 15 s and doubles to at most 5 minutes. SSSD waits 60 s
(``offline_timeout``) and grows to an hour; hermit retries sooner because a stopped idmd
usually comes back after a restart of seconds, and a retry costs one connect attempt.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

FIRST_BACKOFF_SECONDS = 15.0
MAX_BACKOFF_SECONDS = 300.0


class Connectivity(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"


class Event(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NETWORK_CHANGED = "network_changed"


class OnlineState:
    """Where the resolver stands with idmd; starts OFFLINE with a retry due at once."""

    def __init__(self) -> None:
        self.state = Connectivity.OFFLINE
        # Invariant: ``retry_at`` matters only OFFLINE; ``backoff`` is the next wait to use.
        self.retry_at = float("-inf")
        self.backoff = FIRST_BACKOFF_SECONDS

    @property
    def is_online(self) -> bool:
        return self.state is Connectivity.ONLINE

    def may_try(self, now: float) -> bool:
        """Whether a request to idmd should be made at trio time ``now``."""
        return self.state is Connectivity.ONLINE or now >= self.retry_at

    def succeeded(self) -> None:
        self._handle(Event.SUCCEEDED, 0.0)

    def failed(self, now: float) -> None:
        self._handle(Event.FAILED, now)

    def network_changed(self) -> None:
        """The network came back or the machine resumed: the next request tries idmd."""
        self._handle(Event.NETWORK_CHANGED, 0.0)

    def _handle(self, event: Event, now: float) -> None:
        _TRANSITIONS[(self.state, event)](self, now)


def _go_online(machine: OnlineState, now: float) -> None:
    machine.state = Connectivity.ONLINE
    machine.backoff = FIRST_BACKOFF_SECONDS


def _go_offline(machine: OnlineState, now: float) -> None:
    machine.state = Connectivity.OFFLINE
    machine.retry_at = now + machine.backoff
    machine.backoff = min(machine.backoff * 2, MAX_BACKOFF_SECONDS)


def _retry_now(machine: OnlineState, now: float) -> None:
    machine.retry_at = float("-inf")


def _stay(machine: OnlineState, now: float) -> None:
    return None


_TRANSITIONS: dict[tuple[Connectivity, Event], Callable[[OnlineState, float], None]] = {
    (Connectivity.ONLINE, Event.SUCCEEDED): _stay,
    (Connectivity.ONLINE, Event.FAILED): _go_offline,
    (Connectivity.ONLINE, Event.NETWORK_CHANGED): _stay,
    (Connectivity.OFFLINE, Event.SUCCEEDED): _go_online,
    (Connectivity.OFFLINE, Event.FAILED): _go_offline,
    (Connectivity.OFFLINE, Event.NETWORK_CHANGED): _retry_now,
}
