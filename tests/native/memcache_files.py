"""Memory-cache files for the NSS module's tests: records (``passwd_rec``, ``group_rec``) published
into a socket directory as unixd publishes them (``publish``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unixd.proto.messages import Group, Passwd
from unixd.resolver import memcache as mc
from unixd.resolver.memcache import Kind

FUTURE = 4_000_000_000  # a wall time long after the test (a u32 would end in 2106)


def passwd_rec(user: dict[str, Any], expires: int = FUTURE) -> mc.Record:
    return mc.passwd_record(Passwd(user["name"], user["uid"], user["gid"], user["gecos"],
                                   user["dir"], user["shell"]), expires)


def group_rec(group: dict[str, Any], expires: int = FUTURE) -> mc.Record:
    return mc.group_record(Group(group["name"], group["gid"], tuple(group["members"])), expires)


def publish(socket_dir: Path, kind: Kind, recs: list[mc.Record], name: str | None = None) -> Path:
    path = socket_dir / (name or kind.file_name)
    path.write_bytes(mc.encode(kind, recs))
    return path

