"""Making a backup: a consistent copy of the live database, compressed into a backup file.

What it does not do: no locking of its own and no scheduling. The caller is the process that
owns the database (the server, through ``service``, or ``hermit-idmd backup`` holding the
database lock); this module only reads the database, through a connection of its own.

Rules:
- The copy is SQLite's online backup API run in one step (``step(-1)``): all pages are read
  inside one read transaction of a fresh connection, so the copy is exactly one committed
  state. In WAL mode that reader blocks no writer; the server goes on serving while it runs.
- Every file made on the way (the copy, the compressed payload, the backup's temporary file)
  is created 0600 in the destination's directory and removed afterwards; the backup itself
  is put in place atomically (``files.write_atomically``).
- Blocking and CPU-bound: the server calls it in a worker thread.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import apsw

from idmd.backup.files import check_destination, scratch_file, write_atomically
from idmd.backup.format import BackupHeader, Compression, compress_into, write_backup

_BUSY_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    header: BackupHeader
    size: int  # bytes of the backup file

    def summary(self) -> str:
        return (
            f"{self.path}: {self.header.entries} entries, {self.size} bytes "
            f"({self.header.compression}), taken at {self.header.created_at}"
        )


def hermit_version() -> str:
    return importlib.metadata.version("hermit-idm")


def utc_timestamp(now: float) -> str:
    """``now`` as ISO 8601 UTC to the second, e.g. ``2026-11-25T14:40:00Z``."""
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_backup(
    db_path: Path,
    dest: Path,
    *,
    domain: str,
    compression: Compression,
    now: float,
    replace: bool = False,
) -> BackupInfo:
    """Write a backup of the database at ``db_path`` to ``dest`` (0600, atomically).

    Errors: ``BackupRefused`` for a destination that must not be written (a symbolic link,
    not a regular file, an existing file without ``replace``); ``OSError``; ``apsw.Error``
    when the database cannot be read. Nothing is left behind on an error.
    """
    check_destination(dest, replace=replace)  # before the work, and again before the rename
    with (
        scratch_file(dest.parent, f"{dest.name}.snapshot") as snapshot,
        scratch_file(dest.parent, f"{dest.name}.payload") as payload_path,
    ):
        entries = copy_database(db_path, snapshot)
        database_bytes = snapshot.stat().st_size
        with snapshot.open("rb") as source, payload_path.open("r+b") as payload:
            payload_bytes, digest = compress_into(source, payload, compression)
            payload.flush()
            header = BackupHeader(
                created_at=utc_timestamp(now),
                entries=entries,
                hermit_version=hermit_version(),
                domain=domain,
                compression=compression,
                database_bytes=database_bytes,
                payload_bytes=payload_bytes,
                payload_sha256=digest,
            )
            payload.seek(0)
            size = write_atomically(
                dest, lambda handle: write_backup(handle, header, payload), replace=replace
            )
    return BackupInfo(dest, header, size)


def copy_database(db_path: Path, dest: Path) -> int:
    """Copy the database at ``db_path`` into the empty file ``dest``; return its entry count.

    Errors: ``apsw.CantOpenError`` when there is no database at ``db_path`` (none is created).
    """
    source = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        source.set_busy_timeout(_BUSY_TIMEOUT_MS)
        target = apsw.Connection(str(dest))
        try:
            with target.backup("main", source, "main") as copy:
                # One step copies every page under one read transaction: one committed state.
                copy.step(-1)
            (count,) = next(target.execute("SELECT count(*) FROM kv_entry"))
            return int(count)
        finally:
            target.close()
    finally:
        source.close()
