"""The JSON shapes of docs/api.md for people, service accounts and groups, built from entries.

This module only shapes: it takes entries already reduced to what the caller may read (the
server's search does that) and never reads the database itself, except through the ``Lookup``
it is given to show references (``member``, ``memberof``, ``managed_by`` hold uuids) by spn.
The unix views live in ``idm/unix/views.py``.

Rules:
- An attribute the caller may not read is shown as absent: ``null`` or ``[]``.
- Lists are sorted, so equal entries give equal JSON.
- ``memberof`` lists direct and nested groups (the stored, computed closure); ``members`` lists
  direct members only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from idmd.entry import Entry
from idmd.idm.directory.sshkeys import SshKey, decode_stored

JSON = dict[str, Any]


class Lookup(Protocol):
    def get(self, uuid: str) -> Entry | None: ...


def spns_of(lookup: Lookup, uuids: Iterable[str]) -> list[str]:
    """The spns of the entries ``uuids`` name, sorted; dangling references are skipped."""
    spns = []
    for uuid in uuids:
        entry = lookup.get(uuid)
        spn = entry.first("spn") if entry is not None else None
        if spn is not None:
            spns.append(spn)
    return sorted(spns)


def ssh_keys_of(entry: Entry) -> list[SshKey]:
    keys = [key for key in map(decode_stored, entry.get("ssh_publickey")) if key is not None]
    return sorted(keys, key=lambda key: key.label)


def ssh_key_view(key: SshKey) -> JSON:
    return {"label": key.label, "key": key.line, "fingerprint": key.fingerprint}


def gidnumber_of(entry: Entry) -> int | None:
    value = entry.first("gidnumber")
    return int(value) if value is not None else None


def _common(entry: Entry) -> JSON:
    return {
        "uuid": entry.uuid,
        "name": entry.first("name"),
        "spn": entry.first("spn"),
        "classes": sorted(entry.get("class")),
    }


def account_view(entry: Entry, lookup: Lookup) -> JSON:
    """PERSON of docs/api.md (also the base of SERVICE_ACCOUNT)."""
    posix: JSON | None = None
    gidnumber = gidnumber_of(entry)
    if entry.has_class("posix_account") and gidnumber is not None:
        posix = {"gidnumber": gidnumber, "loginshell": entry.first("loginshell")}
    return {
        **_common(entry),
        "displayname": entry.first("displayname"),
        "mail": sorted(entry.get("mail")),
        "memberof": spns_of(lookup, entry.get("memberof")),
        "posix": posix,
        "ssh_keys": [ssh_key_view(key) for key in ssh_keys_of(entry)],
        "valid_from": entry.first("valid_from"),
        "expire_at": entry.first("expire_at"),
    }


def service_account_view(entry: Entry, lookup: Lookup) -> JSON:
    """SERVICE_ACCOUNT of docs/api.md: PERSON plus ``managed_by``."""
    managed_by = entry.first("managed_by")
    spns = spns_of(lookup, [managed_by]) if managed_by is not None else []
    return {**account_view(entry, lookup), "managed_by": spns[0] if spns else None}


def _int_of(entry: Entry, attr: str) -> int | None:
    value = entry.first(attr)
    return int(value) if value is not None else None


def group_policy_view(entry: Entry) -> JSON | None:
    """The account policy a group carries (docs/password-policy.md), ``None`` when none."""
    policy: JSON = {
        "min_credential": entry.first("policy_min_credential"),
        "session_lifetime": _int_of(entry, "policy_session_lifetime"),
        "privilege_lifetime": _int_of(entry, "policy_privilege_lifetime"),
        "password_min_length": _int_of(entry, "policy_password_min_length"),
    }
    return policy if any(value is not None for value in policy.values()) else None


def group_view(entry: Entry, lookup: Lookup) -> JSON:
    """GROUP of docs/api.md."""
    posix: JSON | None = None
    gidnumber = gidnumber_of(entry)
    if entry.has_class("posix_group") and gidnumber is not None:
        posix = {"gidnumber": gidnumber}
    return {
        **_common(entry),
        "description": entry.first("description"),
        "members": spns_of(lookup, entry.get("member")),
        "memberof": spns_of(lookup, entry.get("memberof")),
        "posix": posix,
        "policy": group_policy_view(entry),
    }
