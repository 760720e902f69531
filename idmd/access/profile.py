"""An access control profile as the decision functions see it, parsed from its entry.

An access control profile entry (class ``access_control_profile``) grants its receivers
(members of the ``acp_receiver`` groups, nested membership counting, or with
``acp_receiver_all`` every account but anonymous) rights over the entries its ``acp_target``
filter matches: search (read) some attributes, modify some attributes and class values, create
entries of some classes with some attributes, delete.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from idmd.entry import Entry
from idmd.filter import Filter, normalise_values, parse_filter
from idmd.schema import normalise_lenient


@dataclass(frozen=True, slots=True)
class AccessProfile:
    uuid: str
    name: str
    receivers: frozenset[str]
    receiver_all: bool
    # Values already in their stored form, so matching compares like with like.
    target: Filter
    search_attrs: frozenset[str]
    modify_attrs: frozenset[str]
    modify_classes: frozenset[str]
    create_classes: frozenset[str]
    create_attrs: frozenset[str]
    delete: bool

    @property
    def grants_write(self) -> bool:
        """Whether the profile lets its receivers change anything (modify, create, delete)."""
        return bool(self.modify_attrs or self.modify_classes or self.create_classes
                    or self.delete)


def write_receivers(profiles: Iterable[AccessProfile]) -> frozenset[str]:
    """Every group (or account) named as a receiver of a profile that grants a write right:
    the privileged groups of ``plugins/privileged.py`` beside the builtin ones."""
    return frozenset(r for p in profiles if p.grants_write for r in p.receivers)


def parse_profile(entry: Entry) -> AccessProfile:
    """The profile an entry describes (the entry already passed the schema check)."""
    raw_target = entry.first("acp_target") or '{"or":[]}'
    target = normalise_values(parse_filter(json.loads(raw_target), allow_self=True),
                              normalise_lenient)
    return AccessProfile(
        uuid=entry.uuid,
        name=entry.first("name") or "",
        receivers=entry.get("acp_receiver"),
        receiver_all=entry.first("acp_receiver_all") == "true",
        target=target,
        search_attrs=entry.get("acp_search_attr"),
        modify_attrs=entry.get("acp_modify_attr"),
        modify_classes=entry.get("acp_modify_class"),
        create_classes=entry.get("acp_create_class"),
        create_attrs=entry.get("acp_create_attr"),
        delete=entry.first("acp_delete") == "true",
    )
