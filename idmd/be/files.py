"""The database's files are private: mode 0600 whatever the umask, fresh or opened again.

The database holds the token signing key, session records, password hashes and TOTP secrets;
SQLite keeps the newest pages in the WAL beside it (``-wal``), an index of them in the shared
memory file (``-shm``), and a crash can leave a rollback journal (``-journal``) with pages
too. SQLite creates a database with 0644 minus the umask (0644 outside the systemd unit) and
gives the WAL, the shared memory and the journal the database's own mode. So the database is
created 0600 here before SQLite first opens it, and an existing one (an older hermit left it
readable) is narrowed to 0600 together with every companion file found beside it, before any
connection is opened: from then on SQLite makes each new companion 0600 itself.

What it does not do: the lock file is ``idmd.server.query.lock_database``'s (also 0600), and
backups are ``idmd.backup.files``' (created 0600).

Rules:
- ``db_path`` itself may be a symbolic link an admin made (it is followed); a companion that
  is a symbolic link is refused (``OSError``), never followed and never chmod-ed: SQLite
  names companions after the database, so a link there was planted.
- A file this process may not chmod (another user's) is an ``OSError`` naming the file:
  hermit-idmd does not run on a database it cannot keep private.
"""

from __future__ import annotations

import os
import stat

PRIVATE_MODE = 0o600
# The files SQLite keeps beside a database (https://sqlite.org/tempfiles.html).
COMPANIONS = ("-wal", "-shm", "-journal")


def make_private(path: str) -> None:
    """Create the database file at ``path`` 0600 if it is missing; make it and each of its
    companion files that exists 0600.

    Errors: ``OSError`` (a companion that is a symbolic link, a file of another user).
    """
    _narrow(path, os.O_RDWR | os.O_CREAT)
    for suffix in COMPANIONS:
        try:
            _narrow(path + suffix, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            continue


def _narrow(path: str, flags: int) -> None:
    # The mode is changed through the descriptor just opened, so what is checked is what is
    # changed (no window in which the name could point elsewhere).
    fd = os.open(path, flags | os.O_CLOEXEC | os.O_NONBLOCK, PRIVATE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE_MODE:
            os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)
