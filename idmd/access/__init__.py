"""Access control: pure decisions over access control profiles (see ``decide``)."""

from __future__ import annotations

from idmd.access.decide import (
    Actor,
    applicable,
    check_create,
    check_delete,
    check_modify,
    may_modify,
    readable_attrs,
)
from idmd.access.profile import AccessProfile, parse_profile, write_receivers

__all__ = [
    "AccessProfile",
    "Actor",
    "applicable",
    "check_create",
    "check_delete",
    "check_modify",
    "may_modify",
    "parse_profile",
    "readable_attrs",
    "write_receivers",
]
