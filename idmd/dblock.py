"""One database file, one process: the lock every hermit-idmd process takes on its database.

DESIGN.md: "one database file belongs to exactly one server process; two servers on one file
would lose writes." The server holds an exclusive ``flock`` on ``DB.lock`` beside the database
for as long as it runs; ``recover-account`` and ``verify`` without a running server take the
same lock, so they can never open the file under a live server. The kernel drops the lock when
the holder dies, even by ``kill -9``; the lock file itself stays and is harmless.

The database's owner is checked too: a process of another user (typically root) that opened
it would leave WAL files the service user cannot write.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from idmd.errors import Unavailable


class DatabaseBusy(Unavailable):
    """Another process holds the database, or it belongs to another user."""

    code = "database_busy"


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def exclusive_database(db_path: Path) -> Iterator[None]:
    """Hold the database's lock for the ``with`` block.

    Errors: ``DatabaseBusy`` when another process holds it or the file has another owner;
    ``OSError`` when the lock file cannot be created.
    """
    db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        owner = db_path.stat().st_uid
    except FileNotFoundError:
        owner = os.geteuid()
    if owner != os.geteuid():
        raise DatabaseBusy(
            f"{db_path} belongs to uid {owner}; run this as that user "
            f"(e.g. runuser -u hermit-idmd -- hermit-idmd ...)"
        )
    fd = os.open(lock_path_for(db_path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DatabaseBusy(f"{db_path} is in use by another hermit-idmd process") from exc
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
