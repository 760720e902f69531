"""Waiting for a condition in the tests and harnesses: polled, bounded, never a bare sleep.

``wait_until(predicate, what)`` returns once ``predicate()`` is true and fails with
``timed out waiting for WHAT`` after ``bound`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BOUND_S = 30.0
POLL_S = 0.05


def wait_until(predicate: Callable[[], object], what: str, bound: float = BOUND_S) -> None:
    deadline = time.monotonic() + bound
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL_S)
