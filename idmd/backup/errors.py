"""The errors of backup and restore, each with its wire name for the admin socket.

::

    HermitError (idmd/errors.py)
    ├── BackupRefused    a backup or restore that must not go ahead (destination, server state)
    └── InvalidBackup    a backup file that is not whole, not ours, or does not restore cleanly

Both carry a one-line detail that names the file; neither ever carries a value read from the
database (a backup holds secrets).
"""

from __future__ import annotations

from hermit_common.errors import HermitError


class BackupRefused(HermitError):
    code = "backup_refused"


class InvalidBackup(HermitError):
    code = "invalid_backup"
