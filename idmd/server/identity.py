"""Who is acting in a transaction: the server itself, or an account (read-only or not).

The https layer builds an ``Identity`` from a verified bearer token; ``INTERNAL`` is for the
server's own work (seeding, recovery, the idm layer's checked internal steps) and bypasses
access control entirely, so it must never be derived from anything a client sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Identity:
    kind: Literal["internal", "account"]
    # The acting account's uuid; None for the internal identity.
    uuid: str | None
    # Invariant: a read-only identity never changes anything (writes raise ReadOnlySession).
    read_only: bool


INTERNAL = Identity("internal", None, False)


def account_identity(uuid: str, *, read_only: bool) -> Identity:
    return Identity("account", uuid, read_only)
