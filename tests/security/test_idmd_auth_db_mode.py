"""Issue 9, finding 10: the database (signing key, sessions, password hashes, TOTP secrets) was
created with the umask's mode, 0644 outside the systemd unit, so any local user could read it.

The intruder is any other local user reading ``db_path`` and the files SQLite keeps beside it
(the WAL holds the newest pages, secrets included; the shared memory its index). hermit-idmd
now makes the database, its WAL, its shared memory, a leftover journal and its lock file 0600
whatever the umask: for a fresh database, and for one an older hermit left readable, opened
again (also while another connection still holds its WAL open).
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import apsw
import pytest

from contrib.harness.idmd_process import IdmdProcess, write_config
from hermit_common.clock import FakeClock
from idmd.idm import Idm
from tests.integration.idmd_server import HERMIT_IDMD, RUN_TIMEOUT_S

UMASKS = [0o022, 0o000]
COMPANIONS = ("", "-wal", "-shm", ".lock")


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(db: Path, suffixes: tuple[str, ...] = COMPANIONS) -> dict[str, int]:
    """The permission bits of each of the database's files that exists."""
    found = {}
    for suffix in suffixes:
        path = Path(f"{db}{suffix}")
        if path.exists():
            found[suffix or "db"] = stat.S_IMODE(path.stat().st_mode)
    return found


def _open(db: Path) -> Idm:
    return Idm.open(str(db), domain="example.com", origin="https://idm.example.com",
                    clock=FakeClock())


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
def test_db_mode__a_fresh_database_is_private(tmp_path: Path, mask: int) -> None:
    db = tmp_path / "hermit.db"
    with umask(mask):
        idm = _open(db)  # writes the signing key: the WAL and shared memory exist now
        try:
            found = modes(db)
            assert set(found) == {"db", "-wal", "-shm", ".lock"}, found
            assert found == dict.fromkeys(found, 0o600)
        finally:
            idm.close()
    # The database still serves: opened again, it reads what it wrote.
    again = _open(db)
    try:
        assert again.verify() == []
    finally:
        again.close()


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
def test_db_mode__an_old_readable_database_is_made_private_when_opened(
    tmp_path: Path, mask: int
) -> None:
    db = tmp_path / "hermit.db"
    _open(db).close()
    # As an older hermit left it, with another connection holding its WAL open (SQLite gives
    # the WAL and shared memory the database's mode, so they are world-readable too).
    for suffix in ("", ".lock"):
        Path(f"{db}{suffix}").chmod(0o644)
    with umask(mask):
        other = apsw.Connection(str(db))
        try:
            other.execute("CREATE TABLE IF NOT EXISTS leftover(x)")
            assert modes(db, ("", "-wal", "-shm")) == {"db": 0o644, "-wal": 0o644, "-shm": 0o644}
            idm = _open(db)
            try:
                assert modes(db) == dict.fromkeys(("db", "-wal", "-shm", ".lock"), 0o600)
                assert idm.verify() == []
            finally:
                idm.close()
        finally:
            other.close()
    assert modes(db) == dict.fromkeys(modes(db), 0o600)


def test_db_mode__hermit_idmd_under_umask_0_keeps_its_files_private(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with umask(0o000):
        made = subprocess.run([str(HERMIT_IDMD), "recover-account", "admin", "-c", str(config)],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
        assert made.returncode == 0, made.stderr
        db = tmp_path / "hermit.db"
        assert modes(db) == dict.fromkeys(modes(db), 0o600)
        assert "db" in modes(db)
        # The server itself, started under umask 0, with its WAL and shared memory in use.
        subprocess.run([str(HERMIT_IDMD), "cert-generate", "-c", str(config)],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=True)
        with IdmdProcess.start(tmp_path, fresh=False) as server:
            assert server.login("admin", _password(made.stdout))
            found = modes(db)
            assert {"db", "-wal", "-shm", ".lock"} <= set(found), found
            assert found == dict.fromkeys(found, 0o600)


def _password(stdout: str) -> str:
    (line,) = [line for line in stdout.splitlines() if line.startswith("password: ")]
    return line.removeprefix("password: ")


def test_db_mode__a_planted_companion_link_is_refused_not_followed(tmp_path: Path) -> None:
    db = tmp_path / "hermit.db"
    _open(db).close()
    target = tmp_path / "someone-elses-file"
    target.write_text("not the database's\n")
    target.chmod(0o644)
    Path(f"{db}-journal").symlink_to(target)
    with pytest.raises(OSError):
        _open(db)
    # Nothing was changed through the link, and the database opens once it is gone.
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_text() == "not the database's\n"
    Path(f"{db}-journal").unlink()
    again = _open(db)
    try:
        assert again.verify() == []
    finally:
        again.close()
