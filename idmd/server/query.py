"""The QueryServer: owns the database file, the entry cache and the one writer.

Rules:
- one database file belongs to exactly one server process: an exclusive ``flock`` on
  ``PATH.lock`` is taken at open (a second QueryServer on the file raises ``Unavailable``);
- one write transaction at a time: a second ``write()`` while one is open raises
  ``WriteInProgress`` (a bug in the caller, not a client error); reads never wait;
- transactions are synchronous: the trio server does no ``await`` while one is open, so a
  reader never sees half of a write (the entry cache is updated only after a commit);
- the builtin entries are seeded in the first write transaction of a new database, and the
  ones a newer hermit added are created (and the ones it changed upgraded, once) when an
  older database is opened.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

from hermit_common.clock import Clock
from idmd import schema
from idmd.be.backend import Backend, Codec
from idmd.entry import Entry, decode_entry, encode_attrs
from idmd.errors import Unavailable
from idmd.limits import ENTRY_CACHE_SIZE
from idmd.server import builtin
from idmd.server.profiles import ProfileCache
from idmd.server.txn import ReadTxn, WriteTxn
from idmd.server.verify import verify_store

CODEC: Codec[Entry] = Codec(
    encode=lambda e: encode_attrs(e.attrs),
    decode=decode_entry,
    attrs=lambda e: e.attrs,
)


class WriteInProgress(RuntimeError):
    """``write()`` was called while a write transaction is open (there is one writer)."""


class QueryServer:
    def __init__(self, path: str, *, domain: str, clock: Clock) -> None:
        """Open (creating if needed) the database at ``path`` and seed it on first open.

        Errors: ``Unavailable`` if another QueryServer holds the file.
        """
        self.path = path
        self.domain = domain.lower()
        self.clock = clock
        self._lock_fd = lock_database(path)
        self._profiles = ProfileCache()
        try:
            self._backend = Backend(path, CODEC, schema.INDEXES, ENTRY_CACHE_SIZE)
            # A new database lacks every builtin entry; one made by an older hermit, those
            # added since.
            with self.read() as txn:
                missing = any(
                    txn.get(attrs["uuid"][0]) is None for attrs in builtin.builtin_entries()
                )
                outdated = builtin.outdated(txn)
            if missing or outdated:
                with self.write() as txn:
                    builtin.seed(txn)
                    builtin.upgrade(txn)
        except BaseException:
            os.close(self._lock_fd)
            raise

    def close(self) -> None:
        self._backend.close()
        os.close(self._lock_fd)

    @contextmanager
    def read(self) -> Iterator[ReadTxn]:
        """A read transaction: a consistent view of the last commit."""
        with self._backend.read() as be:
            yield ReadTxn(be, self.domain, self._profiles)

    @contextmanager
    def write(self) -> Iterator[WriteTxn]:
        """The write transaction: commits on a clean exit, rolls back on an exception.

        Errors: ``WriteInProgress`` if a write transaction is already open.
        """
        be = self._backend.begin_write()
        if be is None:
            raise WriteInProgress("a write transaction is already open")
        txn = WriteTxn(be, self.domain, self._profiles)
        try:
            yield txn
        except BaseException:
            be.rollback()
            raise
        be.commit()
        if txn.profiles_changed:
            self._profiles.clear()

    def verify(self) -> list[str]:
        """Check every invariant of the stored database; [] when all hold."""
        with self._backend.read() as be:
            return verify_store(be, self._backend.cache_snapshot(), self.domain)


def lock_database(path: str) -> int:
    """Take the exclusive lock on ``PATH.lock`` that marks the database as in use.

    Returns the lock's file descriptor (closing it releases the lock). Errors: ``Unavailable``
    when another process holds it.
    """
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        # Created 0600; one an older hermit made under a wide umask is narrowed too.
        if stat.S_IMODE(os.fstat(fd).st_mode) != 0o600:
            os.fchmod(fd, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Unavailable(f"the database {path} is in use by another server") from None
    return fd
