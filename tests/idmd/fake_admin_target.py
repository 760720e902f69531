"""A fake of what idmd's admin socket serves (``AdminTarget``), for the admin socket's tests."""

from __future__ import annotations

from hermit_common.secret import Secret
from idmd.errors import NotFound


class FakeIdm:
    """Implements ``AdminTarget``: ``alice`` exists; ``boom`` makes recovery fail as a bug."""

    def __init__(self) -> None:
        self.recovered: list[str] = []
        self.problems: list[str] = []

    async def recover_account(self, name: str) -> tuple[Secret, int]:
        if name == "boom":
            raise RuntimeError("a bug in the identity layer")
        if name != "alice":
            raise NotFound(f"no account {name}")
        self.recovered.append(name)
        return Secret("new-password-for-alice"), 2

    def verify(self) -> list[str]:
        return self.problems

