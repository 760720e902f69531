"""Restoring a backup: the database is replaced only by a backup that passed every check.

What it does not do: it does not decide whether a server runs; the database lock does
(``QueryServer`` takes the same ``flock`` on ``DB.lock``), and it is held from before the
first change until the new database is in place, so no server can open the file meanwhile.

Order (each step only after the one before succeeded; until step 5 nothing of the existing
database is touched, byte for byte):
1. the whole backup file is checked (``format.open_backup``): magic, version, sizes, digests;
   its domain must be the configured one;
2. the database lock is taken (refused while a server holds it);
3. the payload is decompressed into a 0600 temporary file beside the database (bounded by the
   declared size, hashed again on the way) and fsynced;
4. the temporary database is opened with ``QueryServer`` and ``verify()`` must find nothing;
5. the old database's WAL is checkpointed into it and its ``-wal``/``-shm`` removed (a stale
   WAL must never be replayed into the restored file), then the temporary file is renamed
   over the database and the directory fsynced.
A crash at any point leaves either the old database or the restored one, whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import apsw

from hermit_common.clock import Clock
from idmd.backup.errors import BackupRefused, InvalidBackup
from idmd.backup.files import fsync_directory, scratch_file
from idmd.backup.format import BackupHeader, open_backup
from idmd.errors import Unavailable
from idmd.server import QueryServer
from idmd.server.query import lock_database

# How many of verify's problems the refusal names (the rest are counted).
_PROBLEMS_SHOWN = 3


@dataclass(frozen=True)
class RestoreInfo:
    source: Path
    db_path: Path
    header: BackupHeader

    def summary(self) -> str:
        return (
            f"restored {self.db_path} from {self.source}: {self.header.entries} entries, "
            f"taken at {self.header.created_at}"
        )


def restore_backup(source: Path, db_path: Path, *, domain: str, clock: Clock) -> RestoreInfo:
    """Replace the database at ``db_path`` with the backup at ``source``.

    Errors: ``InvalidBackup`` (damaged, truncated, altered, another domain, or a database
    that fails verify); ``BackupRefused`` while a server holds the database; ``OSError``. On
    any error the existing database is left exactly as it was.
    """
    with open_backup(source) as backup:
        header = backup.header
        if header.domain != domain:
            raise InvalidBackup(
                f"{source}: the backup is of domain {header.domain!r}; this configuration's "
                f"domain is {domain!r}"
            )
        lock_fd = _lock_database(db_path)
        try:
            with scratch_file(db_path.parent, f"{db_path.name}.restore") as temp:
                with temp.open("r+b") as out:
                    backup.extract(out)
                    out.flush()
                    os.fsync(out.fileno())
                _verify(temp, source, domain, clock)
                _retire(db_path)
                os.replace(temp, db_path)
                fsync_directory(db_path.parent)
        finally:
            os.close(lock_fd)
    return RestoreInfo(source, db_path, header)


def _lock_database(db_path: Path) -> int:
    """Take the lock a server holds on the database (see ``idmd.server.query``)."""
    try:
        return lock_database(str(db_path))
    except Unavailable:
        raise BackupRefused(
            f"a running hermit-idmd holds {db_path}; stop it first "
            f"(systemctl stop hermit-idmd), then restore"
        ) from None


def _verify(temp: Path, source: Path, domain: str, clock: Clock) -> None:
    try:
        server = QueryServer(str(temp), domain=domain, clock=clock)
    except apsw.Error as exc:
        raise InvalidBackup(f"{source}: the payload is not a usable database ({exc})") from exc
    try:
        problems = server.verify()
    finally:
        server.close()
    if problems:
        shown = "; ".join(problems[:_PROBLEMS_SHOWN])
        hidden = len(problems) - _PROBLEMS_SHOWN
        more = f" (and {hidden} more)" if hidden > 0 else ""
        raise InvalidBackup(f"{source}: the restored database fails verify: {shown}{more}")


def _retire(db_path: Path) -> None:
    """Fold the old database's WAL into it and remove its -wal and -shm files."""
    if db_path.exists():
        try:
            old = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READWRITE)
            try:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                old.close()
        except apsw.Error:
            pass  # a database too damaged to open is replaced as it is: that is why we restore
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)

