"""What a plugin may see and do inside a write operation (implemented by ``server``).

Plugins never open transactions and never see an identity: the server tells them whether
the server itself is acting (``internal``), and otherwise which account acts, the groups it is
in and whether they hold system_admins, which attributes the operation's modifications named,
and which groups are privileged (``plugins/privileged.py``): all the invariants need.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Protocol

from idmd.be.idl import IDL
from idmd.entry import Entry


@dataclass(frozen=True, slots=True)
class Change:
    """One staged change: ``before`` None is a create, ``after`` None a delete."""

    before: Entry | None
    after: Entry | None


class PluginContext(Protocol):
    domain: str
    # The server itself acts (seeding, recovery, the idm layer's own bookkeeping).
    internal: bool
    actor_is_system_admin: bool
    # Invariant: None exactly when ``internal``. The acting account (or the one the server
    # writes for, ``identity.on_behalf_of``).
    actor_uuid: str | None
    # The actor's uuid and every group it is in, nested included (empty when internal).
    actor_groups: frozenset[str]
    # The attributes a modification named, changed or not (empty for create and delete).
    touched: frozenset[str]

    def privileged_groups(self) -> frozenset[str]:
        """system_admins, idm_admins and every receiver of a profile granting a write."""
        ...

    def get(self, uuid: str) -> Entry | None: ...

    def get_by_id(self, id: int) -> Entry | None: ...

    def eq_ids(self, attr: str, value: str) -> IDL: ...

    def stage_internal(self, id: int, attrs: Mapping[str, Set[str]]) -> Entry:
        """Write a plugin's own change to entry ``id`` (no plugin hooks run for it, but it is
        appended to the operation's changes so later plugins and the schema check see it)."""
        ...

    def get_sys(self, key: str) -> bytes | None: ...

    def put_sys(self, key: str, value: bytes) -> None: ...
