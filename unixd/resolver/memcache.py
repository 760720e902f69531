"""The NSS memory cache: snapshot files of unixd's fresh answers, mapped by libnss_hermit.

hermit-unixd publishes what it would answer right now for ``user_by_name``/``user_by_uid``
(``passwd.mc``), ``group_by_name``/``group_by_gid`` (``group.mc``) and ``initgroups``
(``initgroups.mc``), beside the client socket, so the NSS module can answer a warm lookup
without a round trip (docs/native-modules.md "The memory cache"; STYLE.md "C thin-client
rules"). This module builds and publishes the files; it decides nothing the resolver does not
(it reads the cache and applies the same shadowing and shaping: ``records``, ``local``), and
it does not read them (``nss_module/memcache.c`` does).

Rules:
- Only entries that are fresh now go in, each with the wall time past which the reader must
  ask the socket instead: the resolver's background-refresh point (``REFRESH_AT_FRACTION`` of
  the entry's life), so refreshing still happens through ordinary lookups.
- User-private groups go in too (``id`` asks for them), unless a cached group, fresh or not,
  has the name or gid (unixd would look at that group first).
- Local identities win here as they do in the resolver: a shadowed user, group, uid or gid is
  left out (then the reader asks unixd, which answers ``notfound``), and groups never list a
  shadowed member. A miss in a file is never "not found": the reader asks the socket.
- Nothing is published before hermit-unixd-tasks has sent the local identities
  (``TaskLink.received``): until then nobody knows what they shadow, and the socket answers
  ``unavail``; the files an earlier unixd left are flushed at start.
- Files are immutable: each is written whole to a temporary file in the same directory and
  renamed over the old one, so a reader maps either the old or the new file, never a torn
  one. ``flush`` (cache invalidated or cleared, local identities changed, unixd starting)
  unlinks them at once and schedules a rebuild; a rebuild that started before a flush is
  thrown away, never published.
- Rebuilds are debounced (one at once, at most one per ``REBUILD_INTERVAL_SECONDS``); the
  cache's rows are read under the resolver's lock, then parsed, built and written in worker
  threads without it.

Format (little-endian, all offsets from the start of the file, 0 = none):
  header, HEADER_SIZE bytes: magic "hermitmc", u32 version, u32 kind (1 passwd, 2 group,
    3 initgroups), u32 total size, u32 crc32 of the header with this field zero,
    u32 bucket count, u32 offset of the by-name table, u32 offset of the by-id table
    (0 for initgroups), u32 offset of the first record, u32 record count, 4 bytes zero.
  tables: bucket count u32 offsets of the first record of each chain; a key's bucket is its
    FNV-1a 32 hash (of the name's bytes, or of the id's 4 little-endian bytes) modulo the
    bucket count.
  records, each 4-aligned, RECORD_HEAD bytes then data: u32 record size (head, data and
    padding), u32 crc32 of the record's bytes from offset 8 to its end, u32 next record in
    the by-name chain, u32 next in the by-id chain (each strictly after this record, so a
    chain cannot loop), i64 expiry (wall seconds), u32 id1, u32 id2, u32 count,
    u32 data length; then the data:
      passwd:     id1 uid, id2 gid, count 4: name, gecos, dir, shell, each NUL-terminated
      group:      id1 gid, count 1 + members: name, then each member, NUL-terminated
      initgroups: id1 number of gids, count 1: the gids (u32 each), then the name
"""

from __future__ import annotations

import enum
import logging
import os
import secrets
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from hermit_common.errors import HermitError
from unixd.proto import limits
from unixd.proto.messages import Group, Passwd
from unixd.resolver import records
from unixd.resolver.cache import entry_of
from unixd.resolver.local import LocalIdentities
from unixd.resolver.resolver import (
    REFRESH_AT_FRACTION,
    Resolver,
    shadowed_member_names,
    without_members,
)

log = logging.getLogger(__name__)

MAGIC = b"hermitmc"
VERSION = 1
HEADER = struct.Struct("<8sIIIIIIIII4x")
HEADER_SIZE = HEADER.size
RECORD = struct.Struct("<IIIIqIIII")
RECORD_HEAD = RECORD.size
_CRC_AT = 20  # offset of the header's crc32 field
# Debounce: a burst of fetches (a first `getent passwd` stores thousands) costs one rebuild.
REBUILD_INTERVAL_SECONDS = 1.0
# u32 offsets address 4 GiB; far below that, a file this large (about a million accounts)
# means something is wrong, and the socket still answers.
MAX_FILE_BYTES = 256 * 1024 * 1024
# A record larger than one socket answer could not have been sent either.
MAX_RECORD_BYTES = limits.MAX_RESPONSE_FRAME_BYTES
# Fewer buckets than this save nothing worth the extra chain walking.
MIN_BUCKETS = 64
FILE_MODE = 0o644  # every process on the host reads them, as every process may ask the socket


class Kind(enum.IntEnum):
    PASSWD = 1
    GROUP = 2
    INITGROUPS = 3

    @property
    def file_name(self) -> str:
        return f"{self.name.lower()}.mc"


@dataclass(frozen=True)
class Record:
    """One answer: the key name, the id it is also found by (None: by name only), the
    numbers and data of the format above."""

    name: str
    id: int | None
    expires: int
    id1: int
    id2: int
    count: int
    data: bytes


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def id_hash(value: int) -> int:
    return fnv1a(value.to_bytes(4, "little"))


def _z(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def passwd_record(p: Passwd, expires: int) -> Record:
    data = b"".join(_z(s) for s in (p.name, p.gecos, p.dir, p.shell))
    return Record(p.name, p.uid, expires, p.uid, p.gid, 4, data)


def group_record(g: Group, expires: int) -> Record:
    data = b"".join(_z(s) for s in (g.name, *g.members))
    return Record(g.name, g.gid, expires, g.gid, 0, 1 + len(g.members), data)


def initgroups_record(name: str, gids: Sequence[int], expires: int) -> Record:
    data = b"".join(gid.to_bytes(4, "little") for gid in gids) + _z(name)
    return Record(name, None, expires, len(gids), 0, 1, data)


def _unique(recs: Iterable[Record]) -> list[Record]:
    """The records whose name and id no other record has: for a key two entries claim, the
    reader asks unixd rather than guess."""
    recs = list(recs)
    names: dict[str, int] = {}
    ids: dict[int, int] = {}
    for rec in recs:
        names[rec.name] = names.get(rec.name, 0) + 1
        if rec.id is not None:
            ids[rec.id] = ids.get(rec.id, 0) + 1
    return [r for r in recs if names[r.name] == 1 and (r.id is None or ids[r.id] == 1)]


def encode(kind: Kind, recs: Sequence[Record]) -> bytes:
    """The file of ``kind`` holding ``recs`` (keys assumed unique, see ``_unique``)."""
    nbuckets = MIN_BUCKETS
    while nbuckets < len(recs):
        nbuckets *= 2
    by_id = kind is not Kind.INITGROUPS
    name_table = HEADER_SIZE
    id_table = name_table + 4 * nbuckets if by_id else 0
    first = name_table + 4 * nbuckets * (2 if by_id else 1)
    offsets: list[int] = []
    at = first
    for rec in recs:
        offsets.append(at)
        at += (RECORD_HEAD + len(rec.data) + 3) & ~3
    total = at
    if total > MAX_FILE_BYTES:
        raise SnapshotTooLarge(f"{kind.file_name} would need {total} bytes")
    name_buckets = [0] * nbuckets
    id_buckets = [0] * nbuckets
    next_name = [0] * len(recs)
    next_id = [0] * len(recs)
    # Prepending from the last record keeps every chain in increasing offset order.
    for i in reversed(range(len(recs))):
        b = fnv1a(recs[i].name.encode("utf-8")) % nbuckets
        next_name[i], name_buckets[b] = name_buckets[b], offsets[i]
        rid = recs[i].id
        if by_id and rid is not None:
            b = id_hash(rid) % nbuckets
            next_id[i], id_buckets[b] = id_buckets[b], offsets[i]
    out = bytearray(total)
    struct.pack_into(f"<{nbuckets}I", out, name_table, *name_buckets)
    if by_id:
        struct.pack_into(f"<{nbuckets}I", out, id_table, *id_buckets)
    for i, rec in enumerate(recs):
        off = offsets[i]
        size = (RECORD_HEAD + len(rec.data) + 3) & ~3
        RECORD.pack_into(out, off, size, 0, next_name[i], next_id[i], rec.expires, rec.id1,
                         rec.id2, rec.count, len(rec.data))
        out[off + RECORD_HEAD: off + RECORD_HEAD + len(rec.data)] = rec.data
        struct.pack_into("<I", out, off + 4, zlib.crc32(out[off + 8: off + size]))
    HEADER.pack_into(out, 0, MAGIC, VERSION, kind, total, 0, nbuckets, name_table, id_table,
                     first, len(recs))
    struct.pack_into("<I", out, _CRC_AT, zlib.crc32(out[:HEADER_SIZE]))
    return bytes(out)


class SnapshotTooLarge(HermitError):
    code = "memcache_too_large"


@dataclass(frozen=True)
class CacheView:
    """What a rebuild reads from the cache, under its lock."""

    users: list[tuple[Mapping[str, object], float, float]]  # data, fetched_at, expires_at
    groups: list[tuple[Mapping[str, object], float, float]]
    hidden_members: frozenset[str]


def _parsed(rows: list[tuple[object, ...]]) -> list[tuple[Mapping[str, object], float, float]]:
    return [(e.data, e.fetched_at, e.expires_at) for e in map(entry_of, rows)]


def _until(fetched_at: float, expires_at: float) -> int:
    """The wall second past which the reader asks the socket (the module rules)."""
    return int(fetched_at + REFRESH_AT_FRACTION * (expires_at - fetched_at))


def build(view: CacheView, shaping: records.Shaping, local: LocalIdentities,
          now: float) -> dict[Kind, list[Record]]:
    """The records of every file: what unixd answers now for each fresh, unshadowed entry."""
    out: dict[Kind, list[Record]] = {kind: [] for kind in Kind}
    # A cached group, even an expired one, is what unixd looks at first for its name or gid.
    group_keys: set[str | int] = set()
    for group, _, _ in view.groups:
        for key in ("name", "spn", "gidnumber"):
            value = group.get(key)
            if isinstance(value, (str, int)):
                group_keys.add(value)
    for user, fetched_at, expires_at in view.users:
        until = _until(fetched_at, expires_at)
        if until <= now:
            continue
        try:
            passwd = records.passwd_of(user, shaping)
            gids = records.supplementary_gids(user, local.gids)
            private = records.private_group_of(user, shaping)
        except (ValueError, HermitError):
            continue  # unixd would not answer with it either
        if local.has_user(passwd.name) or local.shadows_user(user):
            continue
        out[Kind.PASSWD].append(passwd_record(passwd, until))
        out[Kind.INITGROUPS].append(initgroups_record(passwd.name, gids, until))
        # The user-private group, which unixd answers when no group has the name or gid
        # (idmd keeps names and gidnumbers unique across accounts and groups).
        if not (local.has_group(private.name) or local.shadows_group(user)) and not (
                group_keys & {private.name, private.gid, user.get("name")}):
            out[Kind.GROUP].append(group_record(private, until))
    for group, fetched_at, expires_at in view.groups:
        until = _until(fetched_at, expires_at)
        if until <= now:
            continue
        try:
            shaped = records.group_of(without_members(group, view.hidden_members), shaping)
        except (ValueError, HermitError):
            continue
        if local.has_group(shaped.name) or local.shadows_group(group):
            continue
        out[Kind.GROUP].append(group_record(shaped, until))
    for kind, recs in out.items():
        out[kind] = _unique(r for r in recs if RECORD_HEAD + len(r.data) <= MAX_RECORD_BYTES)
    return out


def write_file(directory: Path, kind: Kind, content: bytes) -> Path:
    """Write ``content`` to a new temporary file in ``directory`` (mode 0644); its path."""
    tmp = directory / f".{kind.file_name}.{secrets.token_hex(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW,
                 FILE_MODE)
    written = False
    try:
        os.fchmod(fd, FILE_MODE)  # whatever the umask took away
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        written = True
    finally:
        os.close(fd)
        if not written:
            os.unlink(tmp)
    return tmp


class MemCache:
    """Publishes the files in ``directory`` for ``resolver``; ``run`` must be started.

    Resources: files in ``directory`` (left in place at exit: they expire on their own, and
    the next unixd flushes them at start).
    """

    def __init__(self, directory: Path, resolver: Resolver) -> None:
        self.directory = directory
        self._resolver = resolver
        self._dirty = trio.Event()
        # Invariant: changes on every flush; a rebuild publishes only if it is unchanged.
        self._generation = 0
        self.rebuilds = 0

    def changed(self) -> None:
        """The cache changed: rebuild soon."""
        self._dirty.set()

    def flush(self) -> None:
        """Unlink every file now (what they hold may be wrong), then rebuild soon."""
        self._generation += 1
        for kind in Kind:
            (self.directory / kind.file_name).unlink(missing_ok=True)
        self._dirty.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Rebuild after changes until cancelled; flushes first (an earlier unixd's files may
        not match this configuration)."""
        self.flush()
        task_status.started()
        while True:
            await self._dirty.wait()
            self._dirty = trio.Event()
            try:
                await self.rebuild()
            except Exception:
                # A task's top: the files stay flushed or old-but-expiring; the socket answers.
                log.exception("rebuilding the NSS memory cache failed")
            await trio.sleep(REBUILD_INTERVAL_SECONDS)

    async def rebuild(self) -> None:
        """Publish the files for what unixd answers now.

        Cancellation: a temporary file is always removed or renamed into place.
        """
        r = self._resolver
        if not r.tasks.received:
            return  # the next flush (the local identities arriving) asks again
        generation, local, now = self._generation, r.tasks.local, r.clock.now()
        cache = r.cache

        def read() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], frozenset[str]]:
            return cache.user_rows(), cache.group_rows(), shadowed_member_names(cache, local)

        user_rows, group_rows, hidden = await r.db_in_thread(read)

        def write() -> dict[Kind, Path | None]:
            # The rows are parsed here, outside the cache lock: lookups do not wait for it.
            view = CacheView(users=_parsed(user_rows), groups=_parsed(group_rows),
                             hidden_members=hidden)
            written: dict[Kind, Path | None] = {}
            complete = False
            try:
                for kind, recs in build(view, r.shaping, local, now).items():
                    try:
                        written[kind] = write_file(self.directory, kind, encode(kind, recs))
                    except SnapshotTooLarge as exc:
                        log.warning("NSS memory cache: %s; left out", exc.detail)
                        written[kind] = None
                complete = True
            finally:
                if not complete:  # a full disk, say: no temporary file stays behind
                    for tmp in written.values():
                        if tmp is not None:
                            tmp.unlink(missing_ok=True)
            return written

        written = await trio.to_thread.run_sync(write)
        current = generation == self._generation and local is r.tasks.local
        for kind, tmp in written.items():
            target = self.directory / kind.file_name
            if tmp is None:
                target.unlink(missing_ok=True)
            elif current:
                os.replace(tmp, target)
            else:
                tmp.unlink(missing_ok=True)
        if current:
            self.rebuilds += 1
        else:
            self._dirty.set()  # flushed meanwhile: build again from what holds now
