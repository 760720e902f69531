"""Who is acting in a transaction: the server itself, or an account (read-only or not).

The https layer builds an ``Identity`` from a verified bearer token; ``INTERNAL`` is for the
server's own work (seeding, recovery, login bookkeeping) and bypasses access control and the
invariants that judge an actor, so it must never be derived from anything a client sent.

``on_behalf_of(uuid)`` is the internal identity for a write the idm layer has already judged
against the access profiles itself (a credential update's commit, an API token's or reset
token's record, all in secret attributes no profile grants): the profiles are not asked
again, but the plugins see the account as the actor, so the invariants that hold for every
account (``plugins/privileged.py``) hold for these writes too.
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
    # Only for kind "internal": the account the server writes for (None: the server's own).
    acting_for: str | None = None


INTERNAL = Identity("internal", None, False)


def account_identity(uuid: str, *, read_only: bool) -> Identity:
    return Identity("account", uuid, read_only)


def on_behalf_of(uuid: str) -> Identity:
    """The server writing for account ``uuid`` after judging its right itself."""
    return Identity("internal", None, False, acting_for=uuid)
