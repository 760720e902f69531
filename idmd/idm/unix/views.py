"""The unix views of docs/api.md: what hermit-unixd fetches for NSS, PAM and sshd.

This module shapes POSIX entries into UNIX_USER and UNIX_GROUP. It does not decide who may read
them (the caller's search does: ``unix_read`` holds anonymous) and knows nothing of caching.

Rules (DESIGN.md "Data model"):
- A user's ``groups`` begin with its user-private group: same name, uuid and gidnumber as the
  account. Then every POSIX group it belongs to, directly or through nesting (``memberof`` is
  the stored closure), sorted by name; non-POSIX groups are left out.
- A group's ``members`` are the names of the POSIX accounts in it, directly or through nesting,
  sorted.
- ``ssh_keys`` are bare key lines (what sshd's AuthorizedKeysCommand prints), sorted by label.
- ``unix_mfa`` says whether the unix credential carries a TOTP (PAM then asks for a code as
  well). Secrets are never readable, so the caller, which may read the whole entry, says it.
- ``password_version`` (issue 9, finding 7) changes whenever the stored ``unix_password``
  does, and only then; null when the account has none. hermit-unixd keeps it beside its
  offline hash and drops the hash only when a view says another version, so a wrong guess by
  anyone no longer erases an account's offline login. It is computed when the view is
  rendered (no write path knows of it) as the first 16 hex digits of HMAC-SHA-256, keyed by
  a key derived from the server's token signing key (``version_key``), over a
  domain-separated encoding of the stored PHC string. Keyed, because the view is readable
  by anonymous and an imported hash may have a short salt: an unkeyed digest of the stored
  hash would let anyone test password guesses against it; without the key, a guess cannot
  be turned into a version.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from idmd.entry import Entry
from idmd.idm.directory.views import JSON, Lookup, gidnumber_of, ssh_keys_of

# Domain separation: the key and the digest are each used for this purpose only.
_VERSION_KEY_CONTEXT = b"hermit unix password_version key v1\x00"
_VERSION_CONTEXT = b"hermit unix password_version v1\x00"
# 64 bits: a change goes unnoticed with probability 2**-64; the value is no secret.
PASSWORD_VERSION_HEX_DIGITS = 16


def version_key(signing_key_pem: bytes) -> bytes:
    """The key of ``password_version``, derived one-way from the token signing key's PEM (the
    server's own secret, the same on every server of a cluster and kept by backups)."""
    return hashlib.sha256(_VERSION_KEY_CONTEXT + signing_key_pem).digest()


def password_version(key: bytes, phc: str | None) -> str | None:
    """The ``password_version`` of a stored unix password hash ``phc`` (None: no password)."""
    if phc is None:
        return None
    digest = hmac.new(key, _VERSION_CONTEXT + phc.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:PASSWORD_VERSION_HEX_DIGITS]


def _group_ref(entry: Entry, gidnumber: int) -> JSON:
    return {
        "uuid": entry.uuid,
        "name": entry.first("name"),
        "spn": entry.first("spn"),
        "gidnumber": gidnumber,
    }


def unix_user_view(
    entry: Entry,
    lookup: Lookup,
    *,
    unix_mfa: bool,
    password_version: str | None,
    memberof: Iterable[str],
) -> JSON | None:
    """UNIX_USER, or ``None`` for an entry that is not a readable POSIX account.

    ``unix_mfa``: whether the stored entry has a ``unix_totp``; ``password_version``: that of
    its stored ``unix_password``; ``memberof``: the stored entry's (``entry`` is the caller's
    reduced view of it, without secrets and, for a unix reader, without memberships: only the
    POSIX groups of ``memberof`` are shown).
    """
    gidnumber = gidnumber_of(entry)
    if not entry.has_class("posix_account") or gidnumber is None:
        return None
    groups = []
    for uuid in memberof:
        group = lookup.get(uuid)
        if group is None or not group.has_class("posix_group"):
            continue
        group_gid = gidnumber_of(group)
        if group_gid is not None:
            groups.append(_group_ref(group, group_gid))
    groups.sort(key=lambda group: str(group["name"]))
    return {
        "uuid": entry.uuid,
        "name": entry.first("name"),
        "spn": entry.first("spn"),
        "displayname": entry.first("displayname"),
        "gidnumber": gidnumber,
        "shell": entry.first("loginshell"),
        "ssh_keys": [key.line for key in ssh_keys_of(entry)],
        "valid_from": entry.first("valid_from"),
        "expire_at": entry.first("expire_at"),
        "groups": [_group_ref(entry, gidnumber), *groups],
        "unix_mfa": unix_mfa,
        "password_version": password_version,
    }


def unix_group_view(entry: Entry, members: Iterable[Entry]) -> JSON | None:
    """UNIX_GROUP, or ``None`` for an entry that is not a readable POSIX group.

    ``members`` are the entries whose ``memberof`` names this group (the caller searches them).
    """
    gidnumber = gidnumber_of(entry)
    if not entry.has_class("posix_group") or gidnumber is None:
        return None
    names = sorted(
        name
        for member in members
        if member.has_class("posix_account") and (name := member.first("name")) is not None
    )
    return {
        "uuid": entry.uuid,
        "name": entry.first("name"),
        "spn": entry.first("spn"),
        "gidnumber": gidnumber,
        "members": names,
    }
