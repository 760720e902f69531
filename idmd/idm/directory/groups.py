"""Groups: the operations behind ``/v1/group``.

Like ``accounts.py``: synchronous, inside the caller's transaction, as the caller's
``Identity``; idempotent in the sense of docs/api.md.

Rules:
- Members may be accounts (people, service accounts, and the builtin ones: removing
  ``anonymous`` from ``unix_read`` must be possible, and so must putting it back) and groups
  (nesting and cycles are allowed; the storage layer computes ``memberof``). Members are
  named by name, spn or uuid; a name that matches nothing is ``NotFound`` naming it, and
  nothing of the request is applied.
- At most ``MAX_MEMBERS_PER_REQUEST`` members per request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.entry import Entry
from idmd.errors import Conflict, NotFound
from idmd.filter import Eq
from idmd.idm.directory import lookup
from idmd.idm.directory.posix import posix_group_mods
from idmd.idm.directory.views import JSON, group_view
from idmd.idm.values import validate_text
from idmd.names import validate_name
from idmd.server import ReadTxn, WriteTxn
from idmd.server.identity import Identity
from idmd.server.mods import Add, Mod, Remove, Set

MEMBER_CLASSES = ("account", "group")


def list_groups(txn: ReadTxn, ident: Identity) -> list[JSON]:
    entries = txn.search(ident, Eq("class", "group"))
    return sorted((group_view(entry, txn) for entry in entries), key=lambda v: str(v["name"]))


def get_group(txn: ReadTxn, ident: Identity, text: str) -> JSON:
    return group_view(lookup.read_by_id(txn, ident, "group", text), txn)


def _after_write(txn: ReadTxn, ident: Identity, entry: Entry) -> JSON:
    return group_view(lookup.read_as(txn, ident, entry), txn)


def create_group(
    txn: WriteTxn, ident: Identity, *, name: object, description: str | None
) -> tuple[bool, JSON]:
    name = validate_name(name)
    attrs: dict[str, frozenset[str]] = {
        "class": frozenset({"object", "group"}),
        "name": frozenset({name}),
    }
    if description is not None:
        attrs["description"] = frozenset({description})
    existing = txn.resolve(name)
    if existing is not None:
        # Rights first, then compare (as accounts.create_account).
        txn.check_create(ident, attrs)
        same = existing.has_class("group") and (
            description is None or existing.get("description") == attrs["description"]
        )
        if not same:
            raise Conflict(f"the name {name!r} is already taken")
        return False, _after_write(txn, ident, existing)
    entry = txn.create(ident, attrs)
    return True, _after_write(txn, ident, entry)


def validate_changes(raw: Mapping[str, object]) -> dict[str, object]:
    """A PATCH's ``name`` and ``description`` as a door read them, made what ``update_group``
    takes (the name is checked there). Errors: ``InvalidValue`` (``values.validate_text``)."""
    changes: dict[str, object] = {}
    if "name" in raw:
        changes["name"] = raw["name"]
    if "description" in raw:
        changes["description"] = validate_description(raw["description"])
    return changes


def validate_description(raw: object) -> str | None:
    """A group's description (``None``: none, or clear it). Errors: ``InvalidValue``."""
    return None if raw is None else validate_text("description", raw)


def update_group(
    txn: WriteTxn, ident: Identity, text: str, changes: Mapping[str, object]
) -> tuple[bool, JSON]:
    """Apply a PATCH ``validate_changes`` made: ``name`` (str) and ``description`` (str, or
    ``None`` to clear)."""
    entry = lookup.find_or_404(txn, "group", text)
    mods: list[Mod] = []
    for key, value in changes.items():
        if key == "name" and value is not None:
            mods.append(Set("name", frozenset({validate_name(value)})))
        elif key == "description" and (value is None or isinstance(value, str)):
            mods.append(Set("description", frozenset() if value is None else frozenset({value})))
        else:
            raise InvalidValue(f"{key} cannot be set to this value")
    after, changed = txn.modify(ident, entry.uuid, mods)
    return changed, _after_write(txn, ident, after)


def delete_group(txn: WriteTxn, ident: Identity, text: str) -> bool:
    entry = lookup.find(txn, "group", text)
    if entry is None:
        return False
    return txn.delete(ident, entry.uuid)


def _member_uuids(txn: ReadTxn, members: Sequence[str]) -> list[str]:
    if len(members) > limits.MAX_MEMBERS_PER_REQUEST:
        raise InvalidValue(
            f"at most {limits.MAX_MEMBERS_PER_REQUEST} members may be named in one request"
        )
    uuids = []
    for text in members:
        entry = None
        for cls in MEMBER_CLASSES:
            entry = lookup.find(txn, cls, text)
            if entry is not None:
                break
        if entry is None:
            raise NotFound(f"no account or group {text!r}")
        uuids.append(entry.uuid)
    return uuids


def change_members(
    txn: WriteTxn, ident: Identity, text: str, members: Sequence[str], *, add: bool
) -> tuple[bool, JSON]:
    entry = lookup.find_or_404(txn, "group", text)
    uuids = _member_uuids(txn, members)
    # Every member is named in a modification, present or not, so a repeat is a no-op that
    # the access profiles still judge.
    mods: list[Mod] = [
        Add("member", uuid) if add else Remove("member", uuid) for uuid in dict.fromkeys(uuids)
    ]
    after, changed = txn.modify(ident, entry.uuid, mods)
    return changed, _after_write(txn, ident, after)


def set_posix(
    txn: WriteTxn, ident: Identity, text: str, *, gidnumber: int | None
) -> tuple[bool, JSON]:
    entry = lookup.find_or_404(txn, "group", text)
    mods = posix_group_mods(gidnumber=gidnumber)
    after, changed = txn.modify(ident, entry.uuid, mods)
    return changed, _after_write(txn, ident, after)


def set_policy(
    txn: WriteTxn, ident: Identity, text: str, changes: Mapping[str, str | None]
) -> tuple[bool, JSON]:
    """Set (a stored value) or clear (``None``) account policy settings of a group.

    ``changes`` maps ``policy.account.POLICY_ATTRS`` to values
    ``policy.account.validate_policy_changes`` made; the access profiles let only
    ``system_admins`` write them.
    """
    entry = lookup.find_or_404(txn, "group", text)
    mods: list[Mod] = [
        Set(attr, frozenset() if value is None else frozenset({value}))
        for attr, value in changes.items()
    ]
    after, changed = txn.modify(ident, entry.uuid, mods)
    return changed, _after_write(txn, ident, after)
