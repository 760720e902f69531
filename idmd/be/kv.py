"""apsw SQLite as a durable, ordered key-value store: a few fixed namespaces of bytes → bytes.

What it does not do: no queries beyond get, put, delete and ordered prefix scans; no schema,
no entries. ``backend`` builds entries and indexes on top.

Rules:
- WAL journal and ``synchronous=FULL``: a commit that returned survives kill -9 and power loss
  (SQLite syncs the WAL on every commit in this mode).
- One ``KVConnection`` carries at most one transaction at a time; a writer begins with
  ``BEGIN IMMEDIATE`` so a second writer fails at once instead of at commit.
- Savepoints let one operation inside a transaction be undone on its own.

Layout: one table per namespace, ``kv_<ns>(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID``, so a
key is stored once, in key order, and a prefix scan is a range scan.
"""

from __future__ import annotations

from collections.abc import Iterator

import apsw

NAMESPACES = ("entry", "eq", "pres", "sub", "meta", "sys")

# The page cache per connection, in KiB (negative cache_size means KiB in SQLite): enough for
# the index pages a busy read path touches, small enough for a Raspberry Pi.
_CACHE_KIB = 4 * 1024
_BUSY_TIMEOUT_MS = 5_000


def _prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with ``prefix`` (None: no bound)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def _statements(template: str) -> dict[str, str]:
    """``template`` with ``{t}`` replaced by each namespace's table, keyed by namespace."""
    # Table names come only from the fixed NAMESPACES tuple, never from input.
    return {ns: template.format(t=f"kv_{ns}") for ns in NAMESPACES}


_CREATE = _statements(
    "CREATE TABLE IF NOT EXISTS {t}(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID"
)


class KVConnection:
    """One SQLite connection to the store."""

    def __init__(self, path: str) -> None:
        self._db = apsw.Connection(path)
        self._db.set_busy_timeout(_BUSY_TIMEOUT_MS)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        self._get = _statements("SELECT v FROM {t} WHERE k = ?")
        self._put = _statements("INSERT OR REPLACE INTO {t}(k, v) VALUES (?, ?)")
        self._del = _statements("DELETE FROM {t} WHERE k = ?")
        self._range = _statements("SELECT k, v FROM {t} WHERE k >= ? AND k < ? ORDER BY k")
        self._from = _statements("SELECT k, v FROM {t} WHERE k >= ? ORDER BY k")
        self._keys_range = _statements("SELECT k FROM {t} WHERE k >= ? AND k < ? ORDER BY k")
        self._keys_from = _statements("SELECT k FROM {t} WHERE k >= ? ORDER BY k")

    def create_tables(self) -> None:
        with self._db:
            for ns in NAMESPACES:
                self._db.execute(_CREATE[ns])

    def close(self) -> None:
        self._db.close()

    # --- transactions ---------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return not self._db.getautocommit()

    def begin_read(self) -> None:
        self._db.execute("BEGIN DEFERRED")

    def begin_write(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        self._db.execute("ROLLBACK")

    def savepoint(self, name: str) -> None:
        self._db.execute(f"SAVEPOINT {name}")

    def release(self, name: str) -> None:
        self._db.execute(f"RELEASE {name}")

    def rollback_to(self, name: str) -> None:
        self._db.execute(f"ROLLBACK TO {name}")
        self._db.execute(f"RELEASE {name}")

    # --- data -----------------------------------------------------------------------------
    def get(self, ns: str, key: bytes) -> bytes | None:
        for (value,) in self._db.execute(self._get[ns], (key,)):
            return bytes(value)
        return None

    def put(self, ns: str, key: bytes, value: bytes) -> None:
        self._db.execute(self._put[ns], (key, value))

    def delete(self, ns: str, key: bytes) -> None:
        self._db.execute(self._del[ns], (key,))

    def scan_prefix(self, ns: str, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        end = _prefix_end(prefix)
        if end is None:
            rows = self._db.execute(self._from[ns], (prefix,))
        else:
            rows = self._db.execute(self._range[ns], (prefix, end))
        for key, value in rows:
            yield bytes(key), bytes(value)

    def keys_prefix(self, ns: str, prefix: bytes) -> list[bytes]:
        """Every key starting with ``prefix``, in key order (the index read path)."""
        end = _prefix_end(prefix)
        if end is None:
            rows = self._db.execute(self._keys_from[ns], (prefix,))
        else:
            rows = self._db.execute(self._keys_range[ns], (prefix, end))
        return [bytes(k) for (k,) in rows]
