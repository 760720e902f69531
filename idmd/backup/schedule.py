"""The server's scheduled backups: one every ``backup_interval`` into ``backup_dir``, keeping
the newest ``backup_keep``.

What it does not do: it does not write backups itself (``service.BackupService`` does) and
reads no configuration (``serve`` passes a ``BackupSchedule``).

Rules:
- Names are ``hermit-YYYYMMDDTHHMMSSZ.hbk`` (UTC, the wall time the backup was started), so
  name order is age order. Only regular files matching exactly that pattern are ever counted
  or deleted; anything else in the directory is left alone.
- The next backup is due ``interval`` after the newest scheduled backup in the directory (a
  restarted server does not start the cycle again), or at once when there is none; after a
  failure the next attempt is one interval later. A wall clock that went backwards makes it
  due at most one interval from now.
- A failure is logged (one line, at error level) and never stops the server; the older
  backups are then kept.
- Time: wall time from the injected ``Clock`` (names, what is due), waiting with
  ``trio.sleep`` (trio's clock), so tests run it under ``trio.testing.MockClock``.
- The directory is created 0700 when missing; its backups are 0600 (``files``). Listing and
  pruning it (a few stat and unlink calls on a directory of ``keep`` files) run on the loop;
  the backup itself runs in a worker thread (``service``).
"""

from __future__ import annotations

import logging
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import trio

from hermit_common.clock import Clock
from hermit_common.errors import HermitError
from idmd.backup.format import Compression
from idmd.backup.snapshot import BackupInfo

log = logging.getLogger(__name__)

_NAME = re.compile(r"hermit-(\d{8}T\d{6}Z)\.hbk")
_STAMP = "%Y%m%dT%H%M%SZ"


class Backups(Protocol):
    async def backup(
        self, dest: Path, *, compression: Compression | None = None, replace: bool = False
    ) -> BackupInfo: ...


@dataclass(frozen=True)
class BackupSchedule:
    directory: Path
    interval: int  # seconds
    keep: int
    compression: Compression


def backup_name(now: float) -> str:
    return f"hermit-{datetime.fromtimestamp(int(now), UTC).strftime(_STAMP)}.hbk"


def _taken_at(name: str) -> float | None:
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC).timestamp()


def scheduled_backups(directory: Path) -> list[tuple[float, Path]]:
    """The scheduled backups in ``directory`` (by name and file type only), oldest first."""
    found: list[tuple[float, Path]] = []
    for path in directory.iterdir():
        taken = _taken_at(path.name)
        if taken is not None and stat.S_ISREG(path.lstat().st_mode):
            found.append((taken, path))
    return sorted(found)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups; return what was deleted."""
    existing = scheduled_backups(directory)
    doomed = [path for _taken, path in existing[: max(0, len(existing) - keep)]]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def next_due(newest: float | None, last_attempt: float | None, now: float, interval: int) -> float:
    """The wall time the next scheduled backup is due."""
    due = now
    for when in (newest, last_attempt):
        if when is not None:
            due = max(due, when + interval)
    return min(due, now + interval)


async def run_backup_schedule(
    schedule: BackupSchedule,
    backups: Backups,
    clock: Clock,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Write scheduled backups until cancelled.

    Cancellation: between backups at once; during one, after it finished (``service``).
    """
    directory = schedule.directory
    log.info(
        "scheduled backups to %s every %d s, keeping %d", directory, schedule.interval,
        schedule.keep,
    )
    task_status.started()
    last_attempt: float | None = None
    while True:
        now = clock.now()
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            existing = scheduled_backups(directory)
        except OSError as exc:
            log.error("scheduled backups: cannot read %s: %s", directory, exc.strerror or exc)
            existing = []
        newest = existing[-1][0] if existing else None
        await trio.sleep(max(0.0, next_due(newest, last_attempt, now, schedule.interval) - now))
        last_attempt = clock.now()
        await _backup_once(schedule, backups, last_attempt)


async def _backup_once(schedule: BackupSchedule, backups: Backups, now: float) -> None:
    dest = schedule.directory / backup_name(now)
    try:
        await backups.backup(dest, compression=schedule.compression)  # logs what it wrote
        removed = prune(schedule.directory, schedule.keep)
    except HermitError as exc:
        log.error("scheduled backup failed: %s", exc.detail)
        return
    except OSError as exc:
        log.error("scheduled backup: %s: %s", exc.filename or dest, exc.strerror or exc)
        return
    except Exception:
        # The top of the task: a bug in one backup must not stop the server or the schedule.
        log.exception("scheduled backup to %s failed", dest)
        return
    if removed:
        log.info("scheduled backups: removed %s", ", ".join(path.name for path in removed))
