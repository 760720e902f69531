"""hermit-unixd's persistent cache: users, groups, negative answers and offline password hashes.

This module owns one apsw SQLite file (the host secret beside it is ``hostsecret``'s). It
stores what the resolver hands it and answers lookups with the stored JSON and its times; it
does not fetch from idmd, decide whether an expired entry may still be served (offline it
may), fold names, or build NSS records (the resolver and the protocol layer do).

Rules:
- Users are keyed by uuid and found by name, uid (= gidnumber), uuid or spn; groups by uuid,
  found by name or gid. Each row holds idmd's UNIX_USER / UNIX_GROUP JSON (docs/api.md, "Unix
  views"), when it was fetched and when it expires (``fetched_at + cache_timeout``), from the
  injected ``Clock``. Expired rows are still returned: offline answers come from them.
- A newer fetch wins: storing an entry drops any other cached entry that claims its name, spn
  or id (a rename or a reused gidnumber on the server), and any negative answer for it.
- Negative answers ("idmd says there is no such user/group") live in two separate tables
  with a short timeout of their own, so a miss for a user never hides a group of the same name
  (DESIGN.md, "Where hermit goes beyond").
- Group references: every group a cached user's view lists (its ``groups`` but the private
  one) is indexed in ``group_refs``, kept in step with the users table. ``group_stub`` builds
  from them a group that was never fetched itself: the name, spn, uuid and gid the most
  recently fetched user naming it gave, and the names of the cached users naming it as
  members. A group in the groups table is never a stub (its fetched entry is the answer), a
  group no cached user names any more has none, and idmd saying a group is gone (a deletion,
  a full listing without it, a negative answer for its key) drops its references.
- File modes: the directory 0750, the database 0600 (the host secret too), whatever the umask;
  symlinks are not followed when creating them.
- The cache is disposable. A file that is corrupt, not a database, of another schema version,
  deleted or replaced while open is rebuilt empty (and a warning logged); the failed operation
  is retried once on the new file. Only a directory we may not use is fatal (``CacheError``).
  In WAL mode, pages still in the write-ahead log keep answering after the main file was
  overwritten in place; the damage is found when a page must come from the file (at the
  latest on the next start) and the file is rebuilt then.
- Not thread-safe by itself: one caller at a time (the resolver serialises its calls).

Offline passwords: after a successful online login the resolver stores a hash of the
password keyed by the host secret beside the cache (``unixd.resolver.hostsecret``, which
makes and checks them); a new host secret drops every stored hash (they could not verify, or
the old key may have leaked).

Each hash is stored with the ``password_version`` of the view its login returned (issue 9,
finding 7). Storing a user's view drops the user's hash when the view's ``password_version``
differs from the stored one, is null (no unix password any more), or the hash has none (a
cache of schema 2 or older); a view without the key at all (an idmd older than password
versions) leaves it to the resolver. Nothing else drops a hash but a deletion, a listing
without the user, a new host secret and ``clear``: a wrong password does not.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import apsw

from hermit_common.clock import Clock
from hermit_common.errors import HermitError, InvalidValue
from unixd.resolver.hostsecret import HOST_SECRET_NAME, OfflineHasher

log = logging.getLogger(__name__)

T = TypeVar("T")

# Bumped when the tables change; a file of another version is rebuilt (it is only a cache),
# except versions 1 (adding group_refs) and 2 (adding passwords.version), which are migrated
# so offline hashes survive upgrades.
SCHEMA_VERSION = 3

# A negative answer is kept briefly: an account created on idmd should appear on hosts within
# seconds, while a burst of lookups for a name that does not exist (a shell prompt, a log
# line) still hits idmd once. SSSD's entry_negative_timeout defaults to 15 s as well.
NEGATIVE_TIMEOUT_SECONDS = 15.0

# SQLite's page cache (its default is 2 MiB): a lookup reads a handful of index and table
# pages, and an enumeration streams the table once, so a small cache costs a few page reads
# from the OS's file cache and keeps unixd's own memory small on a Pi.
PAGE_CACHE_KIB = 256

DIR_MODE = 0o750
FILE_MODE = 0o600

# The groups cached users' views list, one row per (user, group); see the module rules.
_GROUP_REFS = """
CREATE TABLE group_refs (
    user_uuid TEXT NOT NULL, uuid TEXT NOT NULL, name TEXT NOT NULL, spn TEXT NOT NULL,
    gid INTEGER NOT NULL, PRIMARY KEY (user_uuid, uuid));
CREATE INDEX group_refs_uuid ON group_refs (uuid);
CREATE INDEX group_refs_name ON group_refs (name);
CREATE INDEX group_refs_spn ON group_refs (spn);
CREATE INDEX group_refs_gid ON group_refs (gid);
"""

_SCHEMA = f"""
BEGIN;
CREATE TABLE users (
    uuid TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, spn TEXT NOT NULL UNIQUE,
    uid INTEGER NOT NULL UNIQUE, data TEXT NOT NULL,
    fetched_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE groups (
    uuid TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, spn TEXT NOT NULL UNIQUE,
    gid INTEGER NOT NULL UNIQUE, data TEXT NOT NULL,
    fetched_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE user_misses (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE group_misses (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE passwords (uuid TEXT PRIMARY KEY, phc TEXT NOT NULL, stored_at REAL NOT NULL,
    version TEXT);
{_GROUP_REFS}PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""

# The columns a group reference can be found by (``group_stub``'s ``column``).
STUB_COLUMNS = ("uuid", "name", "spn", "gid")

# What SQLite raises for a file that is damaged or not a database at all.
_BROKEN = (apsw.CorruptError, apsw.NotADBError)


class CacheError(HermitError):
    """The cache cannot be kept at its path (a directory we do not own, a path that is not a
    regular file); rebuilding would not help."""

    code = "cache_error"


@dataclass(frozen=True)
class CachedEntry:
    """A cached UNIX_USER or UNIX_GROUP and its times (seconds since the epoch)."""

    data: Mapping[str, object]
    fetched_at: float
    expires_at: float

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at


class Cache:
    """The cache file at ``path`` (opened, created or rebuilt at construction).

    Resources: holds an open SQLite connection until ``close()``.
    Errors: ``CacheError`` when the directory or file cannot be made ours,
    ``HostSecretError`` when the host secret beside it cannot be.
    """

    def __init__(
        self,
        path: Path,
        clock: Clock,
        *,
        cache_timeout: float,
        negative_timeout: float = NEGATIVE_TIMEOUT_SECONDS,
    ) -> None:
        self._path = path
        self._clock = clock
        self._cache_timeout = cache_timeout
        self._negative_timeout = negative_timeout
        # Invariant: (st_dev, st_ino) of the file ``_conn`` has open; a different answer from
        # stat(path) means the file was deleted or replaced under us.
        self._identity: tuple[int, int] = (0, 0)
        self._conn = self._open()
        self._hasher, fresh_secret = OfflineHasher.load(path.with_name(HOST_SECRET_NAME))
        if fresh_secret:
            self._run(lambda conn: conn.execute("DELETE FROM passwords"))

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        self._conn.close()

    # Users --------------------------------------------------------------------------------

    def put_user(self, user: Mapping[str, object]) -> None:
        """Store a UNIX_USER as fetched now. Errors: ``InvalidValue`` for a malformed one."""
        self.replace_users([user], complete=False)

    def replace_users(
        self, users: Sequence[Mapping[str, object]], *, complete: bool = True
    ) -> None:
        """Store many UNIX_USERs as fetched now, in one transaction.

        With ``complete`` the list is everything idmd has (an enumeration): cached users not in
        it are dropped with their offline password hashes. Errors: ``InvalidValue`` for a
        malformed user (then nothing is stored).
        """
        rows = [(_identity_of(user, "user"), json.dumps(user, separators=(",", ":")))
                for user in users]
        now = self._clock.now()

        def put(conn: apsw.Connection) -> None:
            with conn:
                if complete:
                    _drop_all_but(conn, "users", [uuid for (uuid, *_), _ in rows])
                    conn.execute(
                        "DELETE FROM passwords WHERE uuid NOT IN (SELECT uuid FROM users)"
                    )
                    conn.execute(
                        "DELETE FROM group_refs WHERE user_uuid NOT IN (SELECT uuid FROM users)"
                    )
                for ((uuid, name, spn, uid), data), user in zip(rows, users, strict=True):
                    conn.execute(
                        "DELETE FROM group_refs WHERE user_uuid IN (SELECT uuid FROM users"
                        " WHERE uuid != ? AND (name = ? OR spn = ? OR uid = ?))",
                        (uuid, name, spn, uid),
                    )
                    conn.execute(
                        "DELETE FROM users WHERE uuid != ? AND (name = ? OR spn = ? OR uid = ?)",
                        (uuid, name, spn, uid),
                    )
                    _put_group_refs(conn, uuid, user)
                    _drop_outdated_hash(conn, uuid, user)
                    conn.execute(
                        "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (uuid, name, spn, uid, data, now, now + self._cache_timeout),
                    )
                    conn.executemany(
                        "DELETE FROM user_misses WHERE key = ?",
                        [(_miss_key(key),) for key in (uuid, name, spn, uid)],
                    )

        self._run(put)

    def user_by_name(self, name: str) -> CachedEntry | None:
        return self._one("SELECT data, fetched_at, expires_at FROM users WHERE name = ?", name)

    def user_by_uid(self, uid: int) -> CachedEntry | None:
        return self._one("SELECT data, fetched_at, expires_at FROM users WHERE uid = ?", uid)

    def user_by_uuid(self, uuid: str) -> CachedEntry | None:
        return self._one("SELECT data, fetched_at, expires_at FROM users WHERE uuid = ?", uuid)

    def user_by_spn(self, spn: str) -> CachedEntry | None:
        return self._one("SELECT data, fetched_at, expires_at FROM users WHERE spn = ?", spn)

    def users(self) -> list[CachedEntry]:
        """Every cached user, in uid order."""
        return [entry_of(row) for row in self.user_rows()]

    def user_rows(self) -> list[tuple[object, ...]]:
        """``users`` as stored, unparsed (``entry_of`` parses a row): a caller holding a lock
        around cache calls parses thousands of rows after releasing it."""
        return self._rows("SELECT data, fetched_at, expires_at FROM users ORDER BY uid")

    def fold_users(self, build: Callable[[Iterator[Mapping[str, object]]], T]) -> T:
        """``build`` over every cached user's data in uid order, parsed one row at a time (an
        enumeration never holds every user as a dict); its result."""
        return self._fold("SELECT data FROM users ORDER BY uid", build)

    def user_names_with_uids(self, uids: frozenset[int]) -> frozenset[str]:
        """The names of the cached users whose uid is one of ``uids``."""
        if not uids:
            return frozenset()
        rows = self._run(lambda conn: conn.execute(
            "SELECT name FROM users WHERE uid IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(uids)),),
        ).fetchall())
        return frozenset(str(name) for (name,) in rows)

    def delete_user(self, uuid: str) -> None:
        """Forget a user idmd no longer has, with its offline password hash."""

        def delete(conn: apsw.Connection) -> None:
            with conn:
                conn.execute("DELETE FROM users WHERE uuid = ?", (uuid,))
                conn.execute("DELETE FROM passwords WHERE uuid = ?", (uuid,))
                conn.execute("DELETE FROM group_refs WHERE user_uuid = ?", (uuid,))

        self._run(delete)

    # Groups -------------------------------------------------------------------------------

    def put_group(self, group: Mapping[str, object]) -> None:
        """Store a UNIX_GROUP as fetched now. Errors: ``InvalidValue`` for a malformed one."""
        self.replace_groups([group], complete=False)

    def replace_groups(
        self, groups: Sequence[Mapping[str, object]], *, complete: bool = True
    ) -> None:
        """Store many UNIX_GROUPs in one transaction; see ``replace_users``."""
        rows = [(_identity_of(group, "group"), json.dumps(group, separators=(",", ":")))
                for group in groups]
        now = self._clock.now()

        def put(conn: apsw.Connection) -> None:
            with conn:
                if complete:
                    # Groups idmd did not list are gone, whatever older user views said.
                    _drop_all_but(conn, "groups", [uuid for (uuid, *_), _ in rows])
                    conn.execute(
                        "DELETE FROM group_refs WHERE uuid NOT IN (SELECT uuid FROM groups)"
                    )
                for (uuid, name, spn, gid), data in rows:
                    conn.execute(
                        "DELETE FROM groups WHERE uuid != ? AND (name = ? OR spn = ? OR gid = ?)",
                        (uuid, name, spn, gid),
                    )
                    conn.execute(
                        "INSERT OR REPLACE INTO groups VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (uuid, name, spn, gid, data, now, now + self._cache_timeout),
                    )
                    conn.executemany(
                        "DELETE FROM group_misses WHERE key = ?",
                        [(_miss_key(key),) for key in (uuid, name, spn, gid)],
                    )

        self._run(put)

    def group_by_name(self, name: str) -> CachedEntry | None:
        return self._one("SELECT data, fetched_at, expires_at FROM groups WHERE name = ?", name)

    def group_by_gid(self, gid: int) -> CachedEntry | None:
        return self._one("SELECT data, fetched_at, expires_at FROM groups WHERE gid = ?", gid)

    def group_by_uuid(self, uuid: str) -> CachedEntry | None:
        return self._one("SELECT data, fetched_at, expires_at FROM groups WHERE uuid = ?", uuid)

    def group_by_spn(self, spn: str) -> CachedEntry | None:
        return self._one("SELECT data, fetched_at, expires_at FROM groups WHERE spn = ?", spn)

    def groups(self) -> list[CachedEntry]:
        """Every cached group, in gid order."""
        return [entry_of(row) for row in self.group_rows()]

    def group_rows(self) -> list[tuple[object, ...]]:
        """``groups`` as stored, unparsed; see ``user_rows``."""
        return self._rows("SELECT data, fetched_at, expires_at FROM groups ORDER BY gid")

    def fold_groups(self, build: Callable[[Iterator[Mapping[str, object]]], T]) -> T:
        """``build`` over every cached group's data in gid order; see ``fold_users``."""
        return self._fold("SELECT data FROM groups ORDER BY gid", build)

    def delete_group(self, uuid: str) -> None:
        """Forget a group idmd no longer has, and the references older user views made."""

        def delete(conn: apsw.Connection) -> None:
            with conn:
                conn.execute("DELETE FROM groups WHERE uuid = ?", (uuid,))
                conn.execute("DELETE FROM group_refs WHERE uuid = ?", (uuid,))

        self._run(delete)

    def group_stub(self, column: str, key: str | int) -> dict[str, object] | None:
        """A UNIX_GROUP made of cached users' views for a group never fetched itself, found
        by ``column`` (one of ``STUB_COLUMNS``); None when no cached user names such a group.

        Its identity is what the most recently fetched user naming it says; its members are
        the cached users naming it (by their current names, in name order).
        """
        if column not in STUB_COLUMNS:
            raise ValueError(f"group_stub: no column {column!r}")

        def stub(conn: apsw.Connection) -> dict[str, object] | None:
            found = conn.execute(
                "SELECT r.uuid, r.name, r.spn, r.gid FROM group_refs AS r"  # noqa: S608
                " JOIN users AS u ON u.uuid = r.user_uuid"
                f" WHERE r.{column} = ? AND r.uuid NOT IN (SELECT uuid FROM groups)"
                " ORDER BY u.fetched_at DESC LIMIT 1",
                (key,),
            ).fetchall()
            if not found:
                return None
            (uuid, name, spn, gid), = found
            members = conn.execute(
                "SELECT u.name FROM group_refs AS r JOIN users AS u ON u.uuid = r.user_uuid"
                " WHERE r.uuid = ? ORDER BY u.name",
                (uuid,),
            ).fetchall()
            return {"uuid": uuid, "name": name, "spn": spn, "gidnumber": gid,
                    "members": [member for (member,) in members]}

        return self._run(stub)

    # Negative answers ---------------------------------------------------------------------

    def put_user_miss(self, key: str | int) -> None:
        """Remember that idmd has no user with this name, spn, uuid or uid."""
        self._put_miss("user_misses", key)

    def is_user_miss(self, key: str | int) -> bool:
        return self._is_miss("user_misses", key)

    def put_group_miss(self, key: str | int) -> None:
        """Remember that idmd has no group with this name, spn, uuid or gid; references to
        it in older user views are dropped (idmd's answer is the newer one)."""
        self._put_miss("group_misses", key)
        # One indexed term per column (SQLite's OR optimisation), not a scan of every ref.
        where = "gid = ?" if isinstance(key, int) else "uuid = ?1 OR name = ?1 OR spn = ?1"
        self._run(lambda conn: conn.execute(
            f"DELETE FROM group_refs WHERE {where}", (key,)))  # noqa: S608 - fixed clauses

    def is_group_miss(self, key: str | int) -> bool:
        return self._is_miss("group_misses", key)

    def _put_miss(self, table: str, key: str | int) -> None:
        expires_at = self._clock.now() + self._negative_timeout
        self._run(
            lambda conn: conn.execute(
                f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",  # noqa: S608 - fixed names
                (_miss_key(key), expires_at),
            )
        )

    def _is_miss(self, table: str, key: str | int) -> bool:
        now = self._clock.now()
        rows = self._run(
            lambda conn: conn.execute(
                f"SELECT 1 FROM {table} WHERE key = ? AND expires_at > ?",  # noqa: S608
                (_miss_key(key), now),
            ).fetchall()
        )
        return bool(rows)

    # Offline passwords --------------------------------------------------------------------

    def store_password(self, uuid: str, password: str, version: str | None = None) -> None:
        """Keep a hash of a password idmd just accepted for ``uuid`` (``version``: the view's
        ``password_version`` then). Blocks ~50-100 ms."""
        self.put_password_hash(uuid, self.hash_password(password), version)

    def verify_password(self, uuid: str, password: str) -> bool:
        """Whether ``password`` matches the hash kept for ``uuid``; no hash matches nothing.

        Blocks ~50-100 ms when a hash exists; returns at once when none does (the resolver
        decides whether to spend the same time on a dummy check).
        """
        phc = self.password_hash(uuid)
        return phc is not None and self.check_password_hash(phc, password)

    # The two halves of store_password and verify_password, so a caller can run the slow
    # Argon2id part in a worker thread and the SQLite part where it serialises cache calls.

    def hash_password(self, password: str) -> str:
        """The PHC string to keep for ``password``. Touches no file: safe in any thread."""
        return self._hasher.hash(password)

    def check_password_hash(self, phc: str, password: str) -> bool:
        """Whether ``password`` matches ``phc``. Touches no file: safe in any thread."""
        return self._hasher.check(phc, password)

    def put_password_hash(self, uuid: str, phc: str, version: str | None) -> None:
        now = self._clock.now()
        self._run(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO passwords VALUES (?, ?, ?, ?)", (uuid, phc, now, version)
            )
        )

    def password_version(self, uuid: str) -> str | None:
        """The ``password_version`` kept with ``uuid``'s hash (None: no hash, or none kept)."""
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT version FROM passwords WHERE uuid = ?", (uuid,)
            ).fetchall()
        )
        version = rows[0][0] if rows else None
        return version if isinstance(version, str) else None

    def password_hash(self, uuid: str) -> str | None:
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT phc FROM passwords WHERE uuid = ?", (uuid,)
            ).fetchall()
        )
        if not rows:
            return None
        phc = rows[0][0]
        assert isinstance(phc, str)  # Invariant: the column is written by put_password_hash.
        return phc

    def forget_password(self, uuid: str) -> None:
        """Drop the offline hash of ``uuid`` (a new one is being made, or an idmd without
        password versions refused the password)."""
        self._run(lambda conn: conn.execute("DELETE FROM passwords WHERE uuid = ?", (uuid,)))

    # The whole cache ----------------------------------------------------------------------

    def invalidate(self) -> None:
        """Mark every entry expired and forget every negative answer (hashes stay)."""
        now = self._clock.now()

        def invalidate(conn: apsw.Connection) -> None:
            with conn:
                conn.execute("UPDATE users SET expires_at = MIN(expires_at, ?)", (now,))
                conn.execute("UPDATE groups SET expires_at = MIN(expires_at, ?)", (now,))
                conn.execute("DELETE FROM user_misses")
                conn.execute("DELETE FROM group_misses")

        self._run(invalidate)

    def clear(self) -> None:
        """Forget everything: entries, negative answers and offline password hashes."""

        def clear(conn: apsw.Connection) -> None:
            with conn:
                for table in ("users", "groups", "user_misses", "group_misses", "passwords",
                              "group_refs"):
                    conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names

        self._run(clear)

    def counts(self) -> tuple[int, int]:
        """How many users and groups are cached (for the ``status`` op)."""

        def count(conn: apsw.Connection) -> tuple[int, int]:
            (users, groups), = conn.execute(
                "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM groups)"
            ).fetchall()
            assert isinstance(users, int) and isinstance(groups, int)
            return users, groups

        return self._run(count)

    # The file -----------------------------------------------------------------------------

    def _one(self, sql: str, key: str | int) -> CachedEntry | None:
        rows = self._run(lambda conn: conn.execute(sql, (key,)).fetchall())
        return entry_of(rows[0]) if rows else None

    def _rows(self, sql: str) -> list[tuple[object, ...]]:
        return self._run(lambda conn: conn.execute(sql).fetchall())

    def _fold(self, sql: str, build: Callable[[Iterator[Mapping[str, object]]], T]) -> T:
        def rows(conn: apsw.Connection) -> Iterator[Mapping[str, object]]:
            for (data,) in conn.execute(sql):
                parsed = json.loads(data)
                assert isinstance(parsed, dict)  # Invariant: rows are written by put_*.
                yield parsed

        # A file found broken midway is rebuilt and ``build`` runs again on the new rows.
        return self._run(lambda conn: build(rows(conn)))

    def _run(self, operation: Callable[[apsw.Connection], T]) -> T:
        """Run ``operation`` on the file at ``path``, rebuilding it once if it is broken."""
        if self._replaced():
            log.warning("cache %s was deleted or replaced; rebuilding it empty", self._path)
            self._conn.close()
            # A log left by the old file must not be replayed into the new one.
            _unlink_files(self._path, ("-wal", "-shm"))
            self._conn = self._open()
        try:
            return operation(self._conn)
        except _BROKEN as exc:
            log.warning("cache %s is damaged (%s); rebuilding it empty", self._path, exc)
            self._conn.close()
            self._conn = self._rebuild()
            return operation(self._conn)

    def _replaced(self) -> bool:
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return True
        return (st.st_dev, st.st_ino) != self._identity

    def _open(self) -> apsw.Connection:
        """Open the file, creating or rebuilding it as needed."""
        _ensure_private_dir(self._path.parent)
        self._identity = _ensure_private_file(self._path)
        conn = apsw.Connection(str(self._path), flags=apsw.SQLITE_OPEN_READWRITE)
        try:
            _configure(conn)
            (version,) = conn.execute("PRAGMA user_version").fetchall()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()[0][0]
        except _BROKEN as exc:
            log.warning("cache %s is damaged (%s); rebuilding it empty", self._path, exc)
            conn.close()
            return self._rebuild()
        if version == SCHEMA_VERSION:
            return conn
        if version in (1, 2):
            try:
                if version == 1:
                    _migrate_from_1(conn)
                _migrate_from_2(conn)
            except _BROKEN as exc:
                log.warning("cache %s is damaged (%s); rebuilding it empty", self._path, exc)
                conn.close()
                return self._rebuild()
            log.info("cache %s migrated to schema %d", self._path, SCHEMA_VERSION)
            return conn
        if version != 0 or tables:
            log.warning("cache %s has another schema; rebuilding it empty", self._path)
            conn.close()
            return self._rebuild()
        conn.execute(_SCHEMA)
        return conn

    def _rebuild(self) -> apsw.Connection:
        """Replace the file by an empty cache of the current schema (the caller closed it)."""
        _unlink_files(self._path, ("", "-journal", "-wal", "-shm"))
        self._identity = _ensure_private_file(self._path)
        conn = apsw.Connection(str(self._path), flags=apsw.SQLITE_OPEN_READWRITE)
        _configure(conn)
        conn.execute(_SCHEMA)
        return conn


def _unlink_files(path: Path, suffixes: tuple[str, ...]) -> None:
    for suffix in suffixes:
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def _configure(conn: apsw.Connection) -> None:
    # WAL with synchronous=NORMAL: a commit costs no fsync (the cache is written on every
    # fetch), and a power loss can drop the last commits but never corrupts the file
    # (sqlite.org/wal.html, "Performance Considerations").
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")


def _identity_of(entry: Mapping[str, object], what: str) -> tuple[str, str, str, int]:
    """The keys a UNIX_USER / UNIX_GROUP is stored under: uuid, name, spn, gidnumber."""
    values = [entry.get(key) for key in ("uuid", "name", "spn")]
    gidnumber = entry.get("gidnumber")
    for key, value in zip(("uuid", "name", "spn"), values, strict=True):
        if not isinstance(value, str) or not value:
            raise InvalidValue(f"a cached {what} needs {key!r} as a non-empty string")
    if isinstance(gidnumber, bool) or not isinstance(gidnumber, int):
        raise InvalidValue(f"a cached {what} needs 'gidnumber' as an integer")
    uuid, name, spn = (str(value) for value in values)
    return uuid, name, spn, gidnumber


def _group_ref_rows(
    user_uuid: str, user: Mapping[str, object]
) -> list[tuple[str, str, str, str, int]]:
    """The rows of ``group_refs`` for a UNIX_USER: each listed group but its private one, and
    only those with every key (a malformed reference is not worth failing the user for)."""
    raw = user.get("groups")
    rows: list[tuple[str, str, str, str, int]] = []
    for ref in raw if isinstance(raw, list) else []:
        if not isinstance(ref, dict):
            continue
        uuid, name, spn, gid = (ref.get(key) for key in ("uuid", "name", "spn", "gidnumber"))
        texts = (uuid, name, spn)
        if not all(isinstance(text, str) and text for text in texts) or uuid == user_uuid:
            continue
        if isinstance(gid, bool) or not isinstance(gid, int):
            continue
        rows.append((user_uuid, str(uuid), str(name), str(spn), gid))
    return rows


def _put_group_refs(conn: apsw.Connection, user_uuid: str, user: Mapping[str, object]) -> None:
    conn.execute("DELETE FROM group_refs WHERE user_uuid = ?", (user_uuid,))
    conn.executemany(
        "INSERT OR REPLACE INTO group_refs VALUES (?, ?, ?, ?, ?)",
        _group_ref_rows(user_uuid, user),
    )


def _migrate_from_1(conn: apsw.Connection) -> None:
    """Add ``group_refs`` to a version 1 file, filled from its users, keeping everything."""
    with conn:
        conn.execute(_GROUP_REFS)
        for uuid, data in conn.execute("SELECT uuid, data FROM users").fetchall():
            assert isinstance(uuid, str) and isinstance(data, str)  # written by put_*
            _put_group_refs(conn, uuid, json.loads(data))
        conn.execute("PRAGMA user_version = 2")


def _migrate_from_2(conn: apsw.Connection) -> None:
    """Add ``passwords.version`` to a version 2 file: its hashes have none, so the first view
    with a ``password_version`` drops them (their password may have changed meanwhile)."""
    with conn:
        conn.execute("ALTER TABLE passwords ADD COLUMN version TEXT")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _drop_outdated_hash(conn: apsw.Connection, uuid: str, user: Mapping[str, object]) -> None:
    """The module's rule for a stored view: drop ``uuid``'s hash unless ``user`` says the
    password_version kept with it (no key at all: an older idmd, nothing is decided here)."""
    if "password_version" not in user:
        return
    version = user["password_version"]
    if isinstance(version, str):
        conn.execute(
            "DELETE FROM passwords WHERE uuid = ? AND (version IS NULL OR version != ?)",
            (uuid, version),
        )
    else:
        conn.execute("DELETE FROM passwords WHERE uuid = ?", (uuid,))


def _drop_all_but(conn: apsw.Connection, table: str, uuids: list[str]) -> None:
    """Delete every row of ``table`` whose uuid is not in ``uuids`` (a full listing)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS keep (uuid TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM keep")
    conn.executemany("INSERT OR IGNORE INTO keep VALUES (?)", [(uuid,) for uuid in uuids])
    conn.execute(f"DELETE FROM {table} WHERE uuid NOT IN (SELECT uuid FROM keep)")  # noqa: S608
    conn.execute("DELETE FROM keep")


def _miss_key(key: str | int) -> str:
    # Ids and names share one table; the prefix keeps the name "1000" apart from uid 1000.
    return f"id:{key}" if isinstance(key, int) else f"name:{key}"


def entry_of(row: tuple[object, ...]) -> CachedEntry:
    """A stored row (data, fetched_at, expires_at) parsed."""
    data, fetched_at, expires_at = row
    assert isinstance(data, str) and isinstance(fetched_at, float)
    assert isinstance(expires_at, float)
    return CachedEntry(data=json.loads(data), fetched_at=fetched_at, expires_at=expires_at)


def _ensure_private_dir(directory: Path) -> None:
    try:
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
        st = os.stat(directory, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            raise CacheError(f"{directory}: the cache directory is not a directory")
        if stat.S_IMODE(st.st_mode) != DIR_MODE:
            os.chmod(directory, DIR_MODE)
    except OSError as exc:
        raise CacheError(f"{directory}: cannot use as the cache directory: {exc.strerror}") from exc


def _ensure_private_file(path: Path) -> tuple[int, int]:
    """Create ``path`` 0600 if missing (never through a symlink); its (st_dev, st_ino)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise CacheError(f"{path}: cannot open the cache file: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CacheError(f"{path}: the cache file is not a regular file")
        if stat.S_IMODE(st.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        return st.st_dev, st.st_ino
    finally:
        os.close(fd)
