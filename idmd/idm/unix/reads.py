"""The operations behind ``/v1/unix``: listing and reading the unix views as the caller.

Reads go through the caller's search (``unix_read``, which holds anonymous, may read POSIX
entries only), so what hermit-unixd sees is decided by the access profiles like any read.
Password checks for ``POST /v1/unix/auth`` are the facade's (they are slow); this module finds
the account, says whether the caller may read it (asked before any check) and shapes the
answer.

Memberships: unix readers may not read ``memberof`` or ``member`` (issue 9: anonymous could
list who is in system_admins). The views take a user's groups from the stored ``memberof``
and keep the POSIX groups only; a group's members are found with the server's own filter over
``memberof`` among the POSIX accounts the caller may read. So a unix reader learns POSIX
memberships, and nothing else.
"""

from __future__ import annotations

from idmd.entry import Entry
from idmd.errors import NotFound
from idmd.filter import And, Eq, Pres
from idmd.idm.auth.tokens import SIGNING_KEY_META
from idmd.idm.directory import lookup
from idmd.idm.directory.views import JSON
from idmd.idm.unix.views import password_version, unix_group_view, unix_user_view, version_key
from idmd.server import ReadTxn
from idmd.server.identity import Identity

ACCOUNT_CLASS = "posix_account"
GROUP_CLASS = "posix_group"


def _has_unix_mfa(txn: ReadTxn, uuid: str) -> bool:
    """Whether the stored entry has a unix TOTP (a secret: no caller's view shows it)."""
    stored = txn.get(uuid)
    return stored is not None and bool(stored.get("unix_totp"))


def _version_key(txn: ReadTxn) -> bytes:
    pem = txn.get_meta(SIGNING_KEY_META)
    assert pem is not None  # Invariant: Idm made the signing key before serving anything.
    return version_key(pem)


def _password_version(txn: ReadTxn, uuid: str, key: bytes) -> str | None:
    """``password_version`` of the stored entry's unix password (a secret no view shows)."""
    stored = txn.get(uuid)
    return password_version(key, stored.first("unix_password") if stored else None)


def list_users(txn: ReadTxn, ident: Identity) -> list[JSON]:
    # One pass for every holder instead of a read per account (a third of a listing's time).
    holders = frozenset(
        entry.uuid
        for entry in txn.internal_search(And((Eq("class", ACCOUNT_CLASS), Pres("unix_totp"))))
    )
    key = _version_key(txn)
    versions = {
        entry.uuid: password_version(key, entry.first("unix_password"))
        for entry in txn.internal_search(
            And((Eq("class", ACCOUNT_CLASS), Pres("unix_password"))))
    }
    users = [
        unix_user_view(entry, txn, unix_mfa=entry.uuid in holders,
                       password_version=versions.get(entry.uuid),
                       memberof=_memberof(txn, entry))
        for entry in txn.search(ident, Eq("class", ACCOUNT_CLASS))
    ]
    return sorted((user for user in users if user is not None), key=lambda u: str(u["name"]))


def user_view_as(txn: ReadTxn, ident: Identity, entry: Entry) -> JSON:
    """UNIX_USER of ``entry`` as ``ident`` sees it. Errors: ``NotFound``."""
    user = unix_user_view(
        lookup.read_as(txn, ident, entry), txn, unix_mfa=_has_unix_mfa(txn, entry.uuid),
        password_version=_password_version(txn, entry.uuid, _version_key(txn)),
        memberof=_memberof(txn, entry),
    )
    if user is None:
        raise NotFound(f"no unix user {entry.first('name')!r}")
    return user


def may_read_user(txn: ReadTxn, ident: Identity, entry: Entry) -> bool:
    """Whether ``ident`` may read the unix view of ``entry`` (what ``get_user`` would show).

    ``POST /v1/unix/auth`` asks this before it checks a password: whoever may not read an
    account learns nothing of its password either.
    """
    try:
        user_view_as(txn, ident, entry)
    except NotFound:
        return False
    return True


def get_user(txn: ReadTxn, ident: Identity, text: str) -> JSON:
    entry = lookup.find_or_404(txn, ACCOUNT_CLASS, text, allow_gidnumber=True)
    try:
        return user_view_as(txn, ident, entry)
    except NotFound:
        raise NotFound(f"no unix user {text!r}") from None


def _memberof(txn: ReadTxn, entry: Entry) -> frozenset[str]:
    """The stored ``memberof`` of ``entry`` (the view keeps the POSIX groups of it)."""
    stored = txn.get(entry.uuid)
    return stored.get("memberof") if stored is not None else frozenset()


def _group(txn: ReadTxn, ident: Identity, entry: Entry) -> JSON | None:
    """UNIX_GROUP of ``entry``, a POSIX group the caller has read."""
    members = txn.search(
        ident, And((Eq("class", ACCOUNT_CLASS), Eq("memberof", entry.uuid))), server_filter=True
    )
    return unix_group_view(entry, members)


def list_groups(txn: ReadTxn, ident: Identity) -> list[JSON]:
    groups = [_group(txn, ident, entry) for entry in txn.search(ident, Eq("class", GROUP_CLASS))]
    return sorted((group for group in groups if group is not None), key=lambda g: str(g["name"]))


def get_group(txn: ReadTxn, ident: Identity, text: str) -> JSON:
    entry = lookup.read_by_id(txn, ident, GROUP_CLASS, text, allow_gidnumber=True)
    group = _group(txn, ident, entry)
    if group is None:
        raise NotFound(f"no unix group {text!r}")
    return group
