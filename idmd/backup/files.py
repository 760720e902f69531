"""Private files for backups: created 0600, written whole, put in place atomically.

What it does not do: it knows nothing of the backup format (``format``) or of SQLite.

Rules:
- A file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 in the one ``open``
  call: it is never readable by others, not even for a moment, and there is no chmod after
  (the umask can only make it stricter).
- A file is put in place by writing a temporary file beside it, ``fsync``, ``rename``, then
  ``fsync`` of the directory: a reader sees the old file or the whole new one, also after a
  crash.
- A destination that is a symbolic link (or anything but a regular file) is refused, never
  followed or replaced; an existing regular file is replaced only when asked to.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

from idmd.backup.errors import BackupRefused

T = TypeVar("T")

PRIVATE_MODE = 0o600
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Files SQLite may leave beside a database it opened, and the lock file QueryServer takes.
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal", ".lock")


def create_private(directory: Path, stem: str) -> tuple[int, Path]:
    """A new empty file ``directory/.STEM.RANDOM.tmp``, mode 0600, open for writing.

    Resources: the caller owns the returned descriptor and the file.
    """
    while True:
        path = directory / f".{stem}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(path, _CREATE_FLAGS, PRIVATE_MODE), path
        except FileExistsError:
            continue  # another temporary file took this random name; draw again


@contextmanager
def scratch_file(directory: Path, stem: str) -> Iterator[Path]:
    """An empty 0600 file in ``directory`` for a scratch SQLite database, removed afterwards
    together with the files SQLite and QueryServer leave beside it."""
    fd, path = create_private(directory, stem)
    os.close(fd)
    try:
        yield path
    finally:
        remove_database_files(path)


def remove_database_files(path: Path) -> None:
    for suffix in ("", *_SQLITE_COMPANIONS):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def check_destination(dest: Path, *, replace: bool) -> None:
    """Refuse a destination that must not be written. Errors: ``BackupRefused``."""
    if not dest.parent.is_dir():
        raise BackupRefused(f"{dest.parent} is not a directory")
    try:
        mode = dest.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise BackupRefused(f"{dest} is a symbolic link; refusing to write through it")
    if not stat.S_ISREG(mode):
        raise BackupRefused(f"{dest} exists and is not a regular file")
    if not replace:
        raise BackupRefused(f"{dest} exists; choose another name or replace it (--force)")


def write_atomically(dest: Path, write: Callable[[BinaryIO], T], *, replace: bool) -> T:
    """Create ``dest`` (0600) with what ``write`` writes to it, atomically; return its result.

    Errors: ``BackupRefused`` for a destination ``check_destination`` refuses; ``OSError``
    from the file system. On any error nothing is left behind and ``dest`` is unchanged.
    """
    check_destination(dest, replace=replace)
    fd, tmp = create_private(dest.parent, dest.name)
    placed = False
    try:
        with os.fdopen(fd, "wb") as handle:
            result = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # Checked again just before the rename: the write may have taken minutes.
        check_destination(dest, replace=replace)
        os.replace(tmp, dest)
        placed = True
    finally:
        if not placed:
            tmp.unlink(missing_ok=True)
    fsync_directory(dest.parent)
    return result


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
