"""Shaping idmd's unix views into what NSS, sshd and PAM see: passwd and group records, homes.

This module is pure: it turns a UNIX_USER / UNIX_GROUP (docs/api.md "Unix views") and the
host's configuration into ``unixd.proto.messages`` records, and judges an account's validity
and login groups. It fetches nothing and knows no cache; the resolver hands it the data.

Rules (DESIGN.md "Data model", docs/unixd.md):
- ``name_format`` chooses the name NSS shows: the short ``name`` or the ``spn``; group
  members follow the same format (an spn is the member's name plus the group's domain).
- uid = gid = gidnumber; the password field is always ``*``; gecos is the display name with
  ``:`` and control characters replaced by spaces (they would break /etc/passwd's format).
- The shell is the account's ``shell`` if it is listed in /etc/shells and executable on this
  host, else ``default_shell`` (a shell that does not exist here would lock the user out).
- The home directory is ``home_prefix/<home_attr>``; NSS shows ``home_prefix/<home_alias>``
  (the readable symlink) unless ``home_alias`` is ``none``.
- Each account has a user-private group: its own name and gidnumber, no listed members.
- ``allowed_login_groups`` names groups: the user-private group (the view's group entry with
  the account's own uuid) never counts, or an account named like an allowed group, or one
  whose uuid is listed, would pass without being a member.
- An account is valid from ``valid_from`` (inclusive) until ``expire_at`` (exclusive).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from unixd.config import UnixdConfig
from unixd.proto import limits
from unixd.proto.messages import Group, Passwd, safe_gecos


class ShellList:
    """/etc/shells, re-read when its modification time changes."""

    def __init__(self, path: Path = Path("/etc/shells")) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._shells: frozenset[str] = frozenset()

    def shells(self) -> frozenset[str]:
        try:
            st = os.stat(self._path)
        except OSError:
            self._stamp, self._shells = None, frozenset()
            return self._shells
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp != self._stamp:
            self._shells = _read_shells(self._path)
            self._stamp = stamp
        return self._shells


def _read_shells(path: Path) -> frozenset[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line.startswith("/"))


@dataclass(frozen=True)
class Shaping:
    """What the host configuration says about how records look."""

    name_format: str
    default_shell: str
    home_prefix: Path
    home_attr: str
    home_alias: str
    allowed_login_groups: frozenset[str]
    shells: ShellList = field(compare=False)

    @classmethod
    def from_config(cls, cfg: UnixdConfig, shells: ShellList) -> Shaping:
        return cls(
            name_format=cfg.name_format,
            default_shell=cfg.default_shell,
            home_prefix=cfg.home_prefix,
            home_attr=cfg.home_attr,
            home_alias=cfg.home_alias,
            allowed_login_groups=frozenset(cfg.allowed_login_groups),
            shells=shells,
        )


def _text(entry: Mapping[str, object], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _gidnumber(entry: Mapping[str, object]) -> int:
    value = entry.get("gidnumber")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a unix view without an integer gidnumber")
    return value


def shown_name(entry: Mapping[str, object], shaping: Shaping) -> str:
    """The name NSS shows for a cached user or group."""
    return _text(entry, "spn" if shaping.name_format == "spn" else "name")


def _member_name(member: str, group: Mapping[str, object], shaping: Shaping) -> str:
    if shaping.name_format != "spn":
        return member
    _, _, domain = _text(group, "spn").partition("@")
    return f"{member}@{domain}" if domain else member


def shell_of(user: Mapping[str, object], shaping: Shaping) -> str:
    shell = _text(user, "shell")
    if shell and shell in shaping.shells.shells() and os.access(shell, os.X_OK):
        return shell
    return shaping.default_shell


def home_paths(user: Mapping[str, object], shaping: Shaping) -> tuple[str, str | None]:
    """The real home directory and the alias symlink (or None), both under the prefix."""
    home = str(shaping.home_prefix / _text(user, shaping.home_attr))
    if shaping.home_alias == "none":
        return home, None
    return home, str(shaping.home_prefix / _text(user, shaping.home_alias))


def passwd_of(user: Mapping[str, object], shaping: Shaping) -> Passwd:
    """The passwd record of a UNIX_USER. Errors: ``ValueError`` / ``InvalidField`` for a
    view no record can be made of (the caller treats that as idmd's bug, not the user's)."""
    gid = _gidnumber(user)
    home, alias = home_paths(user, shaping)
    return Passwd(
        name=shown_name(user, shaping),
        uid=gid,
        gid=gid,
        gecos=safe_gecos(_text(user, "displayname")),
        dir=alias or home,
        shell=shell_of(user, shaping),
    )


def group_of(group: Mapping[str, object], shaping: Shaping) -> Group:
    raw = group.get("members")
    members = [m for m in raw if isinstance(m, str)] if isinstance(raw, list) else []
    return Group(
        name=shown_name(group, shaping),
        gid=_gidnumber(group),
        members=tuple(_member_name(member, group, shaping) for member in members),
    )


def private_group_of(user: Mapping[str, object], shaping: Shaping) -> Group:
    """The user-private group: the account's own name and gidnumber, no listed members."""
    return Group(name=shown_name(user, shaping), gid=_gidnumber(user), members=())


def group_refs(user: Mapping[str, object]) -> list[Mapping[str, object]]:
    raw = user.get("groups")
    return [ref for ref in raw if isinstance(ref, dict)] if isinstance(raw, list) else []


def supplementary_gids(user: Mapping[str, object], excluded: frozenset[int]) -> tuple[int, ...]:
    """The gids of the user's groups without its primary gid and without ``excluded``."""
    primary = _gidnumber(user)
    gids: list[int] = []
    for ref in group_refs(user):
        gid = ref.get("gidnumber")
        is_id = isinstance(gid, int) and not isinstance(gid, bool)
        if is_id and gid != primary and gid not in excluded and gid not in gids:
            gids.append(gid)  # type: ignore[arg-type]
    return tuple(gids)


def _time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def is_valid_at(user: Mapping[str, object], now: float) -> bool:
    """Whether the account may log in at wall time ``now`` (valid_from <= now < expire_at).

    A time idmd sent that cannot be read counts as outside validity: refusing a login is
    the safe reading of a value we do not understand.
    """
    for key, before in (("valid_from", True), ("expire_at", False)):
        raw = user.get(key)
        if raw is None:
            continue
        when = _time(raw)
        if when is None:
            return False
        if (before and now < when) or (not before and now >= when):
            return False
    return True


def in_login_groups(user: Mapping[str, object], allowed: frozenset[str]) -> bool:
    """Whether one of the user's groups, other than its user-private group, is named (name,
    spn or uuid) in ``allowed``."""
    if not allowed:
        return False
    own = user.get("uuid")
    for ref in group_refs(user):
        if ref.get("uuid") == own:
            continue  # the user-private group: the account itself, not a group it is in
        for key in ("name", "spn", "uuid"):
            value = ref.get(key)
            if isinstance(value, str) and value.lower() in allowed:
                return True
    return False


def ssh_keys_of(user: Mapping[str, object]) -> tuple[str, ...]:
    raw = user.get("ssh_keys")
    keys: Sequence[object] = raw if isinstance(raw, list) else []
    lines = tuple(key for key in keys if isinstance(key, str) and key and "\n" not in key)
    return lines[: limits.MAX_SSH_KEYS]
