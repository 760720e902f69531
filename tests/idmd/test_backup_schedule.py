"""The scheduled backups under trio's MockClock: when they run, what they keep, what they
never touch, and that a failure is logged and the schedule goes on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio
import trio.testing

from idmd.backup.errors import BackupRefused
from idmd.backup.format import BackupHeader, Compression
from idmd.backup.schedule import (
    BackupSchedule,
    backup_name,
    next_due,
    prune,
    run_backup_schedule,
    scheduled_backups,
)
from idmd.backup.snapshot import BackupInfo

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOUR = 3600


class TrioWallClock:
    """Wall time that moves with trio's (mock) clock."""

    def now(self) -> float:
        return START + trio.current_time()


class FakeBackups:
    """Writes a small file per backup and records the trio time; fails on request."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []
        self.fail_with: list[Exception] = []

    async def backup(
        self, dest: Path, *, compression: Compression | None = None, replace: bool = False
    ) -> BackupInfo:
        self.calls.append((trio.current_time(), dest.name))
        if self.fail_with:
            raise self.fail_with.pop(0)
        _write(dest)
        header = BackupHeader("x", 0, "0.1.0", "example.com", "gzip", 6, 6, "0" * 64)
        return BackupInfo(dest, header, 6)


def _write(dest: Path) -> None:
    # Small files written on the loop: a worker thread would let MockClock jump meanwhile.
    dest.write_bytes(b"backup")


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def at(offset: float) -> str:
    return backup_name(START + offset)


async def run_for(seconds: float, directory: Path, backups: FakeBackups, keep: int = 3,
                  interval: int = HOUR) -> None:
    schedule = BackupSchedule(directory, interval, keep, "gzip")
    with trio.move_on_after(seconds):
        await run_backup_schedule(schedule, backups, TrioWallClock())


def test_backup_name__is_utc_and_sorts_by_time() -> None:
    assert backup_name(START) == "hermit-20270115T080000Z.hbk"
    assert backup_name(START + 59) < backup_name(START + 60) < backup_name(START + 10 * HOUR)


@pytest.mark.parametrize(
    ("newest", "last_attempt", "due"),
    [
        (None, None, 0),            # nothing yet: at once
        (-600, None, HOUR - 600),   # resumes the cycle of the newest backup
        (-5 * HOUR, None, 0),       # overdue: at once
        (None, -60, HOUR - 60),     # a failed attempt waits an interval
        (+5 * HOUR, None, HOUR),    # the wall clock went back: at most an interval away
    ],
)
def test_next_due(newest: float | None, last_attempt: float | None, due: float) -> None:
    def shift(value: float | None) -> float | None:
        return None if value is None else START + value

    assert next_due(shift(newest), shift(last_attempt), START, HOUR) == START + due


async def test_schedule__backs_up_every_interval_and_keeps_the_newest(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    backups = FakeBackups()
    await run_for(5 * HOUR + 1, tmp_path, backups, keep=3)
    assert [when for when, _ in backups.calls] == [h * HOUR for h in range(6)]
    assert names(tmp_path) == [at(h * HOUR) for h in (3, 4, 5)]


async def test_schedule__creates_the_directory_0700(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    directory = tmp_path / "backups"
    await run_for(1, directory, FakeBackups())
    assert directory.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in directory.iterdir()] == [at(0)]


async def test_schedule__never_touches_what_it_did_not_name(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    foreign = [
        "hermit-20200101T000000Z.hbk.bak", "notes.txt", "hermit-2020.hbk",
        "manual-20200101T000000Z.hbk", "hermit-20200101T000000Z.hbk.tmp",
    ]
    for name in foreign:
        (tmp_path / name).write_text("keep me")
    (tmp_path / "hermit-20200101T000000Z.hbk").mkdir()  # a directory with a matching name
    (tmp_path / "hermit-20200102T000000Z.hbk").symlink_to(tmp_path / "notes.txt")
    await run_for(3 * HOUR + 1, tmp_path, FakeBackups(), keep=1)
    assert set(names(tmp_path)) == {
        *foreign, "hermit-20200101T000000Z.hbk", "hermit-20200102T000000Z.hbk", at(3 * HOUR)
    }


async def test_schedule__resumes_after_a_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    (tmp_path / at(-600)).write_bytes(b"older")
    backups = FakeBackups()
    await run_for(HOUR, tmp_path, backups)
    assert backups.calls == [(HOUR - 600, at(HOUR - 600))]


async def test_schedule__a_failure_is_logged_and_the_schedule_goes_on(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / at(-2 * HOUR)).write_bytes(b"old")
    backups = FakeBackups()
    backups.fail_with = [BackupRefused("disk full"), RuntimeError("a bug")]
    with caplog.at_level(logging.INFO, logger="idmd.backup.schedule"):
        await run_for(2 * HOUR + 1, tmp_path, backups, keep=1)
    assert [when for when, _ in backups.calls] == [0, HOUR, 2 * HOUR]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "scheduled backup failed: disk full",
        f"scheduled backup to {tmp_path / at(HOUR)} failed",
    ]
    # The old backup was kept while the new ones failed; the first success replaced it.
    assert names(tmp_path) == [at(2 * HOUR)]


async def test_schedule__an_unreadable_directory_is_logged_not_fatal(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    backups = FakeBackups()
    backups.fail_with = [BackupRefused("cannot write")]
    await run_for(1, blocker / "backups", backups)
    assert any("cannot read" in r.getMessage() for r in caplog.records)
    assert len(backups.calls) == 1


def test_prune__keeps_the_newest_by_name(tmp_path: Path) -> None:
    for hour in range(5):
        (tmp_path / at(hour * HOUR)).write_bytes(b"x")
    removed = prune(tmp_path, 2)
    assert [p.name for p in removed] == [at(h * HOUR) for h in range(3)]
    assert [p.name for _t, p in scheduled_backups(tmp_path)] == [at(3 * HOUR), at(4 * HOUR)]
    assert datetime.fromtimestamp(scheduled_backups(tmp_path)[0][0], UTC).hour == 11
