"""Entries stored whole by id, their index tables, and the in-memory cache of decoded entries.

What it does not do: it knows no schema and no entry type. The caller passes a codec (encode,
decode, and how to see an entry's attributes) and which indexes each attribute has.

Index tables (keys only; values are empty), all in ``kv`` namespaces:
- ``eq``   ``attr \\0 value \\0 id``  one row per (attribute, value, entry)
- ``pres`` ``attr \\0 id``            one row per (attribute, entry)
- ``sub``  ``attr \\0 trigram \\0 id``  one row per (attribute, casefolded trigram, entry)
ids are 8-byte big-endian, so a prefix scan yields a sorted id list; a write touches only the
rows of the values that changed.

Cache rules:
- the cache holds committed entries only; a write transaction keeps its own entries in an
  overlay, and hands them to the cache only after SQLite committed (so a rollback, or an
  operation undone with a savepoint, never leaves a trace in the cache);
- there is one writer, so a committed entry read through the writer's connection is still the
  committed one and may be cached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Set
from contextlib import contextmanager
from typing import Generic, TypeVar

from hermit_common.lru import Lru
from idmd.be.files import make_private
from idmd.be.idl import IDL
from idmd.be.kv import KVConnection

E = TypeVar("E")

Attrs = Mapping[str, Set[str]]
IndexSpec = Mapping[str, frozenset[str]]  # attribute → subset of {"eq", "pres", "sub"}


def trigrams(text: str) -> set[str]:
    """The trigrams the substring index holds for ``text`` (casefolded)."""
    folded = text.casefold()
    return {folded[i : i + 3] for i in range(len(folded) - 2)}


def id_key(id: int) -> bytes:
    return id.to_bytes(8, "big")


def _part(text: str) -> bytes:
    raw = text.encode()
    if b"\0" in raw:
        # Syntaxes refuse control characters; a NUL here would merge two index keys.
        raise ValueError("an indexed attribute or value may not contain NUL")
    return raw + b"\0"


def indexable(text: str) -> bool:
    """Whether ``text`` can be part of an index key.

    No stored value fails this (the syntaxes refuse NUL and lone surrogates), so a lookup of a
    value that does can only find nothing; the read paths answer so instead of raising.
    """
    if "\0" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def eq_prefix(attr: str, value: str) -> bytes:
    return _part(attr) + _part(value)


def pres_prefix(attr: str) -> bytes:
    return _part(attr)


def sub_prefix(attr: str, gram: str) -> bytes:
    return _part(attr) + _part(gram)


def index_keys(attrs: Attrs, id: int, spec: IndexSpec) -> dict[str, set[bytes]]:
    """Every index row an entry with ``attrs`` owns, by namespace."""
    rows: dict[str, set[bytes]] = {"eq": set(), "pres": set(), "sub": set()}
    suffix = id_key(id)
    for attr, values in attrs.items():
        kinds = spec.get(attr)
        if not kinds or not values:
            continue
        if "pres" in kinds:
            rows["pres"].add(pres_prefix(attr) + suffix)
        if "eq" in kinds:
            rows["eq"].update(eq_prefix(attr, v) + suffix for v in values)
        if "sub" in kinds:
            grams: set[str] = set()
            for v in values:
                grams |= trigrams(v)
            rows["sub"].update(sub_prefix(attr, g) + suffix for g in grams)
    return rows


def _ids_of(keys: list[bytes]) -> IDL:
    return IDL.from_sorted(int.from_bytes(k[-8:], "big") for k in keys)


class Codec(Generic[E]):
    def __init__(
        self,
        encode: Callable[[E], bytes],
        decode: Callable[[int, bytes], E],
        attrs: Callable[[E], Attrs],
    ) -> None:
        self.encode = encode
        self.decode = decode
        self.attrs = attrs


class Backend(Generic[E]):
    """The store, its connections and the entry cache."""

    def __init__(self, path: str, codec: Codec[E], spec: IndexSpec, cache_size: int) -> None:
        self.path = path
        self.codec = codec
        self.spec = spec
        self._cache: Lru[int, E] = Lru(cache_size)
        self._cache_lock = threading.Lock()
        # Bumped at every commit: a reader whose snapshot predates the last commit must not put
        # what it decoded into the cache (it could be older than the committed entry).
        self._generation = 0
        # Before SQLite first opens it: the file and its WAL then stay 0600 (be/files.py).
        make_private(path)
        self._writer = KVConnection(path)
        self._writer.create_tables()
        self._writer_busy = threading.Lock()
        self._local = threading.local()
        self._readers: list[KVConnection] = []
        self._readers_lock = threading.Lock()

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._writer.close()
        self._cache.clear()

    # --- cache ----------------------------------------------------------------------------
    def cached(self, id: int) -> E | None:
        with self._cache_lock:
            return self._cache.touch(id)

    def remember(self, id: int, entry: E, generation: int) -> None:
        """Cache ``entry`` if it was read at ``generation`` and nothing committed since."""
        with self._cache_lock:
            if generation != self._generation:
                return
            self._cache.put(id, entry)
            self._cache.trim()

    def publish(self, entries: Mapping[int, E | None]) -> None:
        """Show a commit's entries (None: deleted) to the cache; older readers stop caching."""
        with self._cache_lock:
            self._generation += 1
            for id, entry in entries.items():
                if entry is None:
                    self._cache.pop(id)
                else:
                    self._cache.put(id, entry)
            self._cache.trim()

    def cache_snapshot(self) -> dict[int, E]:
        with self._cache_lock:
            return self._cache.snapshot()

    # --- transactions ---------------------------------------------------------------------
    def _reader_conn(self) -> KVConnection:
        conn: KVConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = KVConnection(self.path)
            self._local.conn = conn
            self._local.depth = 0
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def read(self) -> Iterator[BackendRead[E]]:
        """A read transaction on this thread's reader connection (nested reads share it)."""
        conn = self._reader_conn()
        if self._local.depth == 0:
            self._local.generation = self._generation
            conn.begin_read()
        self._local.depth += 1
        try:
            yield BackendRead(self, conn, self._local.generation)
        finally:
            self._local.depth -= 1
            if self._local.depth == 0:
                conn.commit()

    def begin_write(self) -> BackendWrite[E] | None:
        """The write transaction, or None if one is already open (there is one writer)."""
        if not self._writer_busy.acquire(blocking=False):
            return None
        try:
            self._writer.begin_write()
        except BaseException:
            self._writer_busy.release()
            raise
        return BackendWrite(self, self._writer, self._generation)

    def _end_write(self) -> None:
        self._writer_busy.release()


class BackendRead(Generic[E]):
    def __init__(self, backend: Backend[E], conn: KVConnection, generation: int) -> None:
        self.backend = backend
        self.conn = conn
        # The commit generation this transaction's snapshot belongs to.
        self.generation = generation

    def get_entry(self, id: int) -> E | None:
        entry = self.backend.cached(id)
        if entry is not None:
            return entry
        data = self.conn.get("entry", id_key(id))
        if data is None:
            return None
        entry = self.backend.codec.decode(id, data)
        self.backend.remember(id, entry, self.generation)
        return entry

    def eq_ids(self, attr: str, value: str) -> IDL:
        if not indexable(value):
            return _ids_of([])
        return _ids_of(self.conn.keys_prefix("eq", eq_prefix(attr, value)))

    def pres_ids(self, attr: str) -> IDL:
        return _ids_of(self.conn.keys_prefix("pres", pres_prefix(attr)))

    def sub_ids(self, attr: str, gram: str) -> IDL:
        if not indexable(gram):
            return _ids_of([])
        return _ids_of(self.conn.keys_prefix("sub", sub_prefix(attr, gram)))

    def all_ids(self) -> IDL:
        return _ids_of(self.conn.keys_prefix("entry", b""))

    def get_meta(self, ns: str, key: str) -> bytes | None:
        return self.conn.get(ns, key.encode())

    # --- for verify: the stored truth, bypassing cache and overlay --------------------------
    def stored_entries(self) -> Iterator[tuple[int, bytes]]:
        for key, value in self.conn.scan_prefix("entry", b""):
            yield int.from_bytes(key, "big"), value

    def index_rows(self, ns: str) -> set[bytes]:
        return set(self.conn.keys_prefix(ns, b""))


_MISSING = object()


class BackendWrite(BackendRead[E]):
    """The one write transaction: an overlay of staged entries over the committed ones.

    Each operation runs inside ``operation()``: if it raises, SQLite rolls back to the
    operation's savepoint and the overlay is restored, so the transaction stays usable.
    """

    def __init__(self, backend: Backend[E], conn: KVConnection, generation: int) -> None:
        super().__init__(backend, conn, generation)
        # Invariant: holds every entry staged in this transaction (None: deleted).
        self.overlay: dict[int, E | None] = {}
        self._undo: dict[int, object] | None = None
        self._open = True

    def get_entry(self, id: int) -> E | None:
        if id in self.overlay:
            return self.overlay[id]
        return super().get_entry(id)

    def stage(self, id: int, before: E | None, after: E | None) -> None:
        """Write ``after`` (None: delete) over ``before`` and update the index rows."""
        codec, spec = self.backend.codec, self.backend.spec
        old_attrs = codec.attrs(before) if before is not None else {}
        new_attrs = codec.attrs(after) if after is not None else {}
        # Only attributes whose values changed touch the indexes (memberof updates rewrite
        # many entries, each changing one or two attributes).
        changed = [
            attr for attr in old_attrs.keys() | new_attrs.keys()
            if attr in spec and old_attrs.get(attr) != new_attrs.get(attr)
        ]
        old = index_keys({a: old_attrs[a] for a in changed if a in old_attrs}, id, spec)
        new = index_keys({a: new_attrs[a] for a in changed if a in new_attrs}, id, spec)
        for ns in ("eq", "pres", "sub"):
            for key in old[ns] - new[ns]:
                self.conn.delete(ns, key)
            for key in new[ns] - old[ns]:
                self.conn.put(ns, key, b"")
        if after is None:
            self.conn.delete("entry", id_key(id))
        else:
            self.conn.put("entry", id_key(id), codec.encode(after))
        if self._undo is not None and id not in self._undo:
            self._undo[id] = self.overlay.get(id, _MISSING)
        self.overlay[id] = after

    def allocate_id(self) -> int:
        raw = self.conn.get("sys", b"next_id")
        next_id = int.from_bytes(raw, "big") if raw else 1
        self.conn.put("sys", b"next_id", id_key(next_id + 1))
        return next_id

    def put_meta(self, ns: str, key: str, value: bytes) -> None:
        self.conn.put(ns, key.encode(), value)

    @contextmanager
    def operation(self) -> Iterator[None]:
        """Make the enclosed staging all-or-nothing."""
        self._undo = {}
        self.conn.savepoint("op")
        try:
            yield
        except BaseException:
            self.conn.rollback_to("op")
            for id, prev in self._undo.items():
                if prev is _MISSING:
                    self.overlay.pop(id, None)
                else:
                    self.overlay[id] = prev  # type: ignore[assignment]
            raise
        else:
            self.conn.release("op")
        finally:
            self._undo = None

    def commit(self) -> None:
        """Make the transaction durable, then show its entries to the cache."""
        try:
            self.conn.commit()
            self.backend.publish(self.overlay)
        finally:
            self._finish()

    def rollback(self) -> None:
        try:
            self.conn.rollback()
        finally:
            self._finish()

    def _finish(self) -> None:
        self.overlay = {}
        if self.conn.in_transaction:  # a failed COMMIT leaves the transaction open
            self.conn.rollback()
        if self._open:
            self._open = False
            self.backend._end_write()
