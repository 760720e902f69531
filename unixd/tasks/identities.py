"""Reading and watching the host's /etc/passwd and /etc/group for unixd.

This module owns which files are read, how a change is noticed, and what is sent: the
``local_identities`` fields (``unixd.tasks.localfiles`` parses each file). It does not talk to unixd
(``unixd.tasks.link`` does) and decides nothing about shadowing (unixd does).

Rules:
- /etc/shadow is never read, watched or sent (issue 9, finding 1): local passwords are
  pam_unix's to check, and hermit neither holds nor checks a local hash.
- A change is noticed through inotify on the files' directories (the tools that edit them,
  shadow-utils and vipw, write a new file and rename it over the old one, so watching the
  file itself would lose track); only events naming one of the files count, and a
  queue overflow counts as a change. The caller then re-reads both and sends them only
  if what would be sent differs from what was sent last, so unrelated churn costs nothing.
- A missing file reads as empty. A file that exists but cannot be read makes the whole read
  fail (``None``): sending an empty list would stop local names from shadowing the
  directory's.
- Files are decoded as UTF-8 with replacement: a line with a broken byte in its name is then
  malformed and skipped, in its gecos it shows as U+FFFD.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import trio
from inotify_simple import INotify, flags

from unixd.tasks.localfiles import parse_group, parse_passwd

log = logging.getLogger(__name__)

# What rewrites a file: in place (close after write) or by rename over it; creating or
# deleting the name counts too.
WATCH_MASK = (
    flags.CLOSE_WRITE | flags.MOVED_TO | flags.MOVED_FROM | flags.CREATE | flags.DELETE
)

Identities = dict[str, list[dict[str, object]]]


@dataclass(frozen=True)
class IdentityFiles:
    """Where the host's identities live; tests point these into tmp_path."""

    passwd: Path = Path("/etc/passwd")
    group: Path = Path("/etc/group")

    def all(self) -> tuple[Path, Path]:
        return (self.passwd, self.group)


def read_identities(files: IdentityFiles) -> Identities | None:
    """The ``passwd`` and ``group`` fields to send, or None if a file is unreadable.

    Blocking: reads two files; small, but run it through ``trio.to_thread.run_sync``.
    """
    texts = []
    for path in files.all():
        try:
            texts.append(path.read_bytes().decode("utf-8", errors="replace"))
        except FileNotFoundError:
            texts.append("")
        except OSError as exc:
            log.error("cannot read %s (%s); local identities not sent", path, exc.strerror)
            return None
    return {
        "passwd": parse_passwd(texts[0]),
        "group": parse_group(texts[1]),
    }


class FileWatcher:
    """Waits until one of ``files`` may have changed (see the module rules).

    Resources: an inotify descriptor; ``close`` it (or use ``with``).
    Errors: ``OSError`` from ``__init__`` when inotify is unavailable (e.g. the per-user limit
    of instances is reached).
    """

    def __init__(self, files: IdentityFiles) -> None:
        self._inotify = INotify()
        self._names: dict[int, set[str]] = defaultdict(set)
        try:
            directories: dict[Path, set[str]] = defaultdict(set)
            for path in files.all():
                directories[path.parent].add(path.name)
            for directory, names in directories.items():
                self._names[self._inotify.add_watch(directory, WATCH_MASK)] |= names
        except OSError:
            self._inotify.close()
            raise

    def __enter__(self) -> FileWatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._inotify.close()

    async def wait_changed(self) -> None:
        """Return once an event names one of the files (or events were lost)."""
        while True:
            await trio.lowlevel.wait_readable(self._inotify.fileno())
            if self.drain():
                return

    def drain(self) -> bool:
        """Consume queued events without waiting; whether any of them counts as a change."""
        changed = False
        for event in self._inotify.read(timeout=0):
            if event.mask & flags.Q_OVERFLOW or event.name in self._names.get(event.wd, ()):
                changed = True
        return changed
