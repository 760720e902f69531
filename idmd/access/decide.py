"""Access decisions: pure functions of the profiles, the acting account and the entry.

What it does not do: it loads nothing and knows no identity kinds. The server passes the
parsed profiles and an ``Actor``; the internal identity never reaches these functions, and
read-only sessions are refused by the server before any write is decided.

Rules:
- a profile applies to an actor who is a receiver: ``acp_receiver_all`` and not anonymous, or
  one of ``acp_receiver`` is the actor or a group the actor is in (directly or nested);
- the profile's target is matched against the entry, ``{"self": true}`` meaning the actor;
- search: the readable attributes are the union of ``acp_search_attr`` over the applicable
  profiles whose target matches, minus the secret attributes, which no search returns;
- modify: every attribute touched needs an applicable, matching profile listing it in
  ``acp_modify_attr``; each class value added or removed also in ``acp_modify_class``;
- create: one applicable profile must match the new entry, list all its classes in
  ``acp_create_class`` and all the attributes the caller supplied in ``acp_create_attr``;
- delete: an applicable, matching profile with ``acp_delete``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from idmd.access.profile import AccessProfile
from idmd.entry import Entry
from idmd.errors import AccessDenied
from idmd.filter import matches
from idmd.schema import SECRET_ATTRS


@dataclass(frozen=True, slots=True)
class Actor:
    uuid: str
    # The actor's own uuid and every group it is in, directly or nested.
    groups: frozenset[str]
    anonymous: bool


def applicable(profiles: Iterable[AccessProfile], actor: Actor) -> list[AccessProfile]:
    """The profiles whose receivers include ``actor``."""
    return [
        p for p in profiles
        if (p.receiver_all and not actor.anonymous) or not p.receivers.isdisjoint(actor.groups)
    ]


def _targeting(
    profiles: Iterable[AccessProfile], actor: Actor, entry: Entry
) -> list[AccessProfile]:
    return [p for p in profiles if matches(p.target, entry, actor.uuid)]


def readable_attrs(
    profiles: Iterable[AccessProfile], actor: Actor, entry: Entry
) -> frozenset[str]:
    """What ``actor`` may read of ``entry`` (``profiles``: those ``applicable`` to it)."""
    readable: set[str] = set()
    for p in _targeting(profiles, actor, entry):
        readable |= p.search_attrs
    return frozenset(readable - SECRET_ATTRS)


def check_modify(
    profiles: Iterable[AccessProfile],
    actor: Actor,
    entry: Entry,
    touched: Mapping[str, Set[str]],
) -> None:
    """Raise ``AccessDenied`` unless ``actor`` may make the modification.

    ``touched`` maps each attribute the modification writes to the values it adds or removes
    (only the values of ``class`` are judged).
    """
    granting = _targeting(profiles, actor, entry)
    for attr, values in touched.items():
        allowed = [p for p in granting if attr in p.modify_attrs]
        if not allowed:
            raise AccessDenied(f"you may not modify {attr} of this entry")
        if attr == "class":
            classes = frozenset().union(*(p.modify_classes for p in allowed))
            refused = set(values) - classes
            if refused:
                raise AccessDenied(f"you may not add or remove the class {sorted(refused)[0]}")


def may_modify(
    profiles: Iterable[AccessProfile], actor: Actor, entry: Entry, touched: Mapping[str, Set[str]]
) -> bool:
    try:
        check_modify(profiles, actor, entry, touched)
    except AccessDenied:
        return False
    return True


def check_create(
    profiles: Iterable[AccessProfile], actor: Actor, entry: Entry, supplied: Set[str]
) -> None:
    """Raise ``AccessDenied`` unless ``actor`` may create ``entry`` from ``supplied`` attrs."""
    classes = entry.get("class")
    for p in _targeting(profiles, actor, entry):
        if classes <= p.create_classes and supplied <= p.create_attrs:
            return
    raise AccessDenied("you may not create this entry")


def check_delete(profiles: Iterable[AccessProfile], actor: Actor, entry: Entry) -> None:
    if not any(p.delete for p in _targeting(profiles, actor, entry)):
        raise AccessDenied("you may not delete this entry")
