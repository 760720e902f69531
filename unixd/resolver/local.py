"""The host's own identities (/etc/passwd, /etc/group) as unixd last heard them.

hermit-unixd-tasks (root) reads the files and sends them over the task socket as
``local_identities`` (docs/protocol.md "Task socket", checked by ``unixd.proto.tasks``); this
module keeps what shadowing needs of it and answers "is this name or id local?". It does not
read the files (the tasks daemon does, with ``unixd.tasks.localfiles``). It never holds a
password hash: local passwords are pam_unix's, and a message that carries ``shadow`` is
refused (issue 9, finding 1).

Rules (DESIGN.md "Where hermit goes beyond": local users always win):
- A local user name or uid shadows every directory user with that name or uid; a local group
  name or gid shadows every directory group with it. The resolver then answers ``notfound``
  (the files module answers first in nsswitch.conf) and prints no SSH keys for the name.
- Each message replaces the previous set entirely; until the first one arrives the set is
  empty.
- Only what shadowing needs is kept: names and ids. An entry that lacks them is skipped (the
  files are root's, but a malformed line must not stop the rest from shadowing).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from unixd.proto.tasks import LocalIdentitiesUpdate, parse_op

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalIdentities:
    user_names: frozenset[str] = frozenset()
    uids: frozenset[int] = frozenset()
    group_names: frozenset[str] = frozenset()
    gids: frozenset[int] = frozenset()

    def has_user(self, key: str | int) -> bool:
        return key in self.uids if isinstance(key, int) else key in self.user_names

    def has_group(self, key: str | int) -> bool:
        return key in self.gids if isinstance(key, int) else key in self.group_names

    def shadows_user(self, entry: Mapping[str, object]) -> bool:
        """Whether a local user has the name or uid (gidnumber) of directory entry ``entry``."""
        name, uid = entry.get("name"), entry.get("gidnumber")
        return (isinstance(name, str) and self.has_user(name)) or (
            isinstance(uid, int) and self.has_user(uid))

    def shadows_group(self, entry: Mapping[str, object]) -> bool:
        """Whether a local group has the name or gid (gidnumber) of directory entry ``entry``."""
        name, gid = entry.get("name"), entry.get("gidnumber")
        return (isinstance(name, str) and self.has_group(name)) or (
            isinstance(gid, int) and self.has_group(gid))


def _name_and_id(
    entries: tuple[Mapping[str, object], ...], id_key: str
) -> tuple[set[str], set[int]]:
    names: set[str] = set()
    ids: set[int] = set()
    skipped = 0
    for entry in entries:
        name, number = entry.get("name"), entry.get(id_key)
        if not isinstance(name, str) or not name:
            skipped += 1
            continue
        names.add(name)
        if isinstance(number, int) and not isinstance(number, bool):
            ids.add(number)
    if skipped:
        log.warning("local_identities: skipped %d entries without a name", skipped)
    return names, ids


def parse_local_identities(obj: Mapping[str, object]) -> LocalIdentities:
    """The identities of a ``local_identities`` request's fields. Errors: ``InvalidField``."""
    return local_identities_of(parse_op(obj, LocalIdentitiesUpdate))


def local_identities_of(update: LocalIdentitiesUpdate) -> LocalIdentities:
    """What shadowing needs of ``update``: names and ids."""
    user_names, uids = _name_and_id(update.passwd, "uid")
    group_names, gids = _name_and_id(update.group, "gid")
    return LocalIdentities(
        user_names=frozenset(user_names),
        uids=frozenset(uids),
        group_names=frozenset(group_names),
        gids=frozenset(gids),
    )
