"""People and service accounts: the operations behind ``/v1/person`` and ``/v1/service_account``.

Every function here runs synchronously inside one transaction the caller opened, as the
caller's ``Identity``: the access control profiles decide what it may read and change. Hashing
passwords is not done here (it is slow and must not hold a transaction open); the facade hashes
first and passes the PHC string in.

Idempotency (docs/api.md "Idempotent writes"):
- creating an account that exists with the same attributes changes nothing; with different
  attributes, or when the name belongs to something else, it is ``Conflict``;
- every modification reports whether anything changed (the storage layer compares values);
- deleting what is not there is ``changed: false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.entry import Entry
from idmd.errors import Conflict, NotFound
from idmd.filter import Eq
from idmd.idm.credentials.staging import PasswordAttr
from idmd.idm.directory import lookup
from idmd.idm.directory.posix import posix_account_mods
from idmd.idm.directory.sshkeys import SshKey, validate_label
from idmd.idm.directory.views import (
    JSON,
    account_view,
    service_account_view,
    ssh_key_view,
    ssh_keys_of,
)
from idmd.idm.values import validate_mail_list, validate_text, validate_time
from idmd.names import validate_name
from idmd.server import ReadTxn, WriteTxn
from idmd.server.identity import Identity
from idmd.server.mods import Add, Mod, Remove, Set

Kind = Literal["person", "service_account"]
# The password attributes: the ones credential updates stage (staging.GUARD's keys).
CredentialAttr = PasswordAttr

# What PATCH may change, and the attribute each key is stored in.
UPDATABLE = frozenset({"name", "displayname", "mail", "valid_from", "expire_at", "managed_by"})


def view(kind: Kind, entry: Entry, txn: ReadTxn) -> JSON:
    if kind == "service_account":
        return service_account_view(entry, txn)
    return account_view(entry, txn)


def _classes(kind: Kind) -> set[str]:
    return {"object", "account", kind}


def list_accounts(txn: ReadTxn, ident: Identity, kind: Kind) -> list[JSON]:
    entries = txn.search(ident, Eq("class", kind))
    return sorted((view(kind, entry, txn) for entry in entries), key=lambda v: str(v["name"]))


def get_account(txn: ReadTxn, ident: Identity, kind: Kind, text: str) -> JSON:
    return view(kind, lookup.read_by_id(txn, ident, kind, text), txn)


def _after_write(txn: ReadTxn, ident: Identity, kind: Kind, entry: Entry) -> JSON:
    return view(kind, lookup.read_as(txn, ident, entry), txn)


def resolve_group(txn: ReadTxn, text: object) -> str:
    """The uuid of the group ``text`` names (for ``managed_by``)."""
    if not isinstance(text, str):
        raise InvalidValue("managed_by must name a group")
    group = lookup.find(txn, "group", text)
    if group is None:
        raise NotFound(f"no group {text!r}")
    return group.uuid


def create_account(
    txn: WriteTxn,
    ident: Identity,
    kind: Kind,
    *,
    name: object,
    displayname: str,
    mail: frozenset[str] | None = None,
    managed_by: object = None,
) -> tuple[bool, JSON]:
    """Create a person or service account (``managed_by``: a group's name, spn or uuid)."""
    name = validate_name(name)
    attrs: dict[str, frozenset[str]] = {
        "class": frozenset(_classes(kind)),
        "name": frozenset({name}),
        "displayname": frozenset({displayname}),
    }
    if mail is not None:
        attrs["mail"] = mail
    if managed_by is not None:
        attrs["managed_by"] = frozenset({resolve_group(txn, managed_by)})
    existing = txn.resolve(name)
    if existing is not None:
        # Rights first, then compare: "unchanged" and 409 must not tell someone who may
        # not create this entry anything about the one that exists (its mail, say).
        txn.check_create(ident, attrs)
        if not existing.has_class(kind) or any(
            existing.get(attr) != values for attr, values in attrs.items() if attr != "class"
        ):
            raise Conflict(f"the name {name!r} is already taken")
        return False, _after_write(txn, ident, kind, existing)
    entry = txn.create(ident, attrs)
    return True, _after_write(txn, ident, kind, entry)


def validate_changes(kind: Kind, raw: Mapping[str, object]) -> dict[str, object]:
    """A PATCH's keys of ``UPDATABLE`` as a door read them, the values made what
    ``update_account`` takes (names and ``managed_by`` are checked there, in the transaction).

    Errors: ``InvalidValue`` (``values.validate_text``, ``validate_mail_list``,
    ``validate_time``), in the order of the keys here whatever the request's order.
    """
    changes: dict[str, object] = {}
    if "name" in raw:
        changes["name"] = raw["name"]
    if "displayname" in raw:
        changes["displayname"] = validate_text("displayname", raw["displayname"])
    if "mail" in raw:
        changes["mail"] = validate_mail_list(raw["mail"])
    for key in ("valid_from", "expire_at"):
        if key in raw:
            changes[key] = None if raw[key] is None else validate_time(key, raw[key])
    if kind == "service_account" and "managed_by" in raw:
        changes["managed_by"] = raw["managed_by"]
    return changes


def update_account(
    txn: WriteTxn, ident: Identity, kind: Kind, text: str, changes: Mapping[str, object]
) -> tuple[bool, JSON]:
    """Apply a PATCH whose values ``validate_changes`` made.

    ``changes`` maps keys of ``UPDATABLE`` to: ``name``/``displayname``: str; ``mail``: a
    frozenset of addresses; ``valid_from``/``expire_at``: a stored time or ``None`` (clear);
    ``managed_by``: a group's id (service accounts only).
    """
    entry = lookup.find_or_404(txn, kind, text)
    mods: list[Mod] = []
    for key, value in changes.items():
        if key == "name":
            mods.append(Set("name", frozenset({validate_name(value)})))
        elif key == "managed_by":
            if kind != "service_account" or not isinstance(value, str):
                raise InvalidValue("managed_by applies to service accounts only")
            mods.append(Set("managed_by", frozenset({resolve_group(txn, value)})))
        elif key == "mail" and isinstance(value, frozenset):
            mods.append(Set("mail", value))
        elif key in UPDATABLE and isinstance(value, str):
            mods.append(Set(key, frozenset({value})))
        elif key in ("valid_from", "expire_at") and value is None:
            mods.append(Set(key, frozenset()))
        else:
            raise InvalidValue(f"{key} cannot be set to this value")
    # An empty PATCH still goes through modify, so the access profiles are asked.
    after, changed = txn.modify(ident, entry.uuid, mods)
    return changed, _after_write(txn, ident, kind, after)


def delete_account(txn: WriteTxn, ident: Identity, kind: Kind, text: str) -> bool:
    entry = lookup.find(txn, kind, text)
    if entry is None:
        return False
    return txn.delete(ident, entry.uuid)


def set_posix(
    txn: WriteTxn,
    ident: Identity,
    kind: Kind,
    text: str,
    *,
    gidnumber: int | None,
    loginshell: str | None,
) -> tuple[bool, JSON]:
    entry = lookup.find_or_404(txn, kind, text)
    mods = posix_account_mods(gidnumber=gidnumber, loginshell=loginshell)
    after, changed = txn.modify(ident, entry.uuid, mods)
    return changed, _after_write(txn, ident, kind, after)


def set_credential(
    txn: WriteTxn, ident: Identity, kind: Kind, text: str, attr: CredentialAttr, phc: str
) -> tuple[str, bool]:
    """Replace a password credential with the PHC string ``phc``; the account's uuid and
    whether it changed."""
    entry = lookup.find_or_404(txn, kind, text)
    _, changed = txn.modify(ident, entry.uuid, [Set(attr, frozenset({phc}))])
    return entry.uuid, changed


def list_ssh_keys(txn: ReadTxn, ident: Identity, kind: Kind, text: str) -> list[JSON]:
    entry = lookup.read_by_id(txn, ident, kind, text)
    return [ssh_key_view(key) for key in ssh_keys_of(entry)]


def put_ssh_key(
    txn: WriteTxn, ident: Identity, kind: Kind, text: str, key: SshKey
) -> tuple[bool, JSON]:
    """Store ``key`` under its label, replacing a different key with the same label."""
    entry = _ssh_keys_to_modify(txn, ident, kind, text)
    current = {stored.label: stored for stored in ssh_keys_of(entry)}
    old = current.get(key.label)
    if old is not None and old.line == key.line:
        # Unchanged; the no-op still goes through modify so the access profiles are asked.
        _, changed = txn.modify(ident, entry.uuid, [Add("ssh_publickey", old.stored())])
        return changed, ssh_key_view(key)
    if old is None and len(current) >= limits.MAX_SSH_KEYS_PER_ACCOUNT:
        raise InvalidValue(
            f"an account may have at most {limits.MAX_SSH_KEYS_PER_ACCOUNT} SSH keys"
        )
    mods: list[Mod] = [Remove("ssh_publickey", value) for value in _stored_values(entry, key.label)]
    mods.append(Add("ssh_publickey", key.stored()))
    _, changed = txn.modify(ident, entry.uuid, mods)
    return changed, ssh_key_view(key)


def delete_ssh_key(txn: WriteTxn, ident: Identity, kind: Kind, text: str, label: str) -> bool:
    entry = _ssh_keys_to_modify(txn, ident, kind, text)
    values = _stored_values(entry, validate_label(label))
    if not values:
        return False
    _, changed = txn.modify(ident, entry.uuid, [Remove("ssh_publickey", v) for v in values])
    return changed


def _ssh_keys_to_modify(txn: ReadTxn, ident: Identity, kind: Kind, text: str) -> Entry:
    """The account, once ``ident`` is known to be allowed to change its SSH keys: rights
    first, so an "unchanged" (or a key count) never answers someone who may not."""
    return lookup.find_to_modify(
        txn, ident, kind, text, ["ssh_publickey"], "you may not modify ssh_publickey of this entry"
    )


def _stored_values(entry: Entry, label: str) -> list[str]:
    return [v for v in entry.get("ssh_publickey") if v.partition(":")[0] == label]
