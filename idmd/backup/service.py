"""The running server's backups: one at a time, in a worker thread, errors made one line.

What it does not do: no file format, no SQLite (``snapshot`` does both) and no schedule
(``schedule`` calls it, as does the admin socket's ``backup`` op).

Rules:
- At most one backup runs at a time (a ``trio.Lock``): a scheduled backup and an operator's
  ``hermit-idmd backup`` never copy the database at once.
- The copy and the compression run in a worker thread (``trio.to_thread.run_sync``) so the
  loop keeps serving; the snapshot is taken by a connection of its own (``snapshot``).
  Cancellation: a backup in progress is never abandoned; a cancelled caller waits for the
  thread to finish (its temporary files are removed either way).
- Failures become ``BackupRefused``/``InvalidBackup`` or ``BackupFailed`` with a one-line
  detail naming the path; the message never holds a value from the database.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import apsw
import trio

from hermit_common.clock import Clock
from hermit_common.errors import HermitError
from idmd.backup.errors import BackupRefused
from idmd.backup.format import Compression
from idmd.backup.snapshot import BackupInfo, make_backup

log = logging.getLogger(__name__)


class BackupFailed(HermitError):
    """The backup could not be written (file system or database error); see the detail."""

    code = "backup_failed"


class BackupService:
    def __init__(
        self, db_path: Path, *, domain: str, compression: Compression, clock: Clock
    ) -> None:
        self.db_path = db_path
        self.domain = domain
        self.compression = compression  # the configured default
        self.clock = clock
        self._one_at_a_time = trio.Lock()

    async def backup(
        self, dest: Path, *, compression: Compression | None = None, replace: bool = False
    ) -> BackupInfo:
        """Write a backup of the live database to ``dest``.

        Errors: ``BackupRefused`` (a destination that must not be written), ``BackupFailed``.
        """
        if not dest.is_absolute():
            raise BackupRefused(f"{dest}: the server needs an absolute path")
        async with self._one_at_a_time:
            work = partial(
                make_backup,
                self.db_path,
                dest,
                domain=self.domain,
                compression=compression or self.compression,
                now=self.clock.now(),  # taken now: the lock may have waited for another backup
                replace=replace,
            )
            try:
                info = await trio.to_thread.run_sync(work)
            except OSError as exc:
                where = exc.filename or dest
                raise BackupFailed(f"{where}: {exc.strerror or exc}") from exc
            except apsw.Error as exc:
                raise BackupFailed(f"cannot read {self.db_path}: {exc}") from exc
        log.info("backup written to %s", info.summary())
        return info
