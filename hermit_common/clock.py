"""Wall-clock time, passed in.

Expiry (tokens, auth sessions, validity) depends on the wall clock; every component that needs
it takes a ``Clock`` so tests can move time by hand. Deadlines inside the trio loop use trio's
own clock, not this one.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to; for tests."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds
