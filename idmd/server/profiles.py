"""The parsed access control profiles, cached between the commits that change none.

One ``ProfileCache`` belongs to one ``QueryServer`` and is handed to every transaction it
opens: a transaction fills it from its own view when it is empty, and the server empties it
after a commit that created, changed or deleted a profile. A write transaction that changed a
profile reads its own uncommitted profiles instead (``WriteTxn``), never the cache.
"""

from __future__ import annotations

from collections.abc import Callable

from idmd.access import AccessProfile


class ProfileCache:
    """The profiles of the last commit, or nothing until a transaction loads them."""

    __slots__ = ("_profiles",)

    def __init__(self) -> None:
        self._profiles: tuple[AccessProfile, ...] | None = None

    def get(self, load: Callable[[], tuple[AccessProfile, ...]]) -> tuple[AccessProfile, ...]:
        """The cached profiles, loaded with ``load`` (the asking transaction's) when empty."""
        if self._profiles is None:
            self._profiles = load()
        return self._profiles

    def clear(self) -> None:
        """Forget the profiles: a commit changed one."""
        self._profiles = None
