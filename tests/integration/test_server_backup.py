"""Backups of a real hermit-idmd: taken while it writes, restored only when whole, refused while
it runs, 0600, and scheduled with retention.

The burst test runs a server of its own (it must be stopped to restore); the scheduled backups
run on another of their own (interval 1 s); the rest use the shared server.
"""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import trio

from contrib.harness.idmd_process import IdmdProcess, write_config
from contrib.harness.idmd_process import run_idmd as run_idmd_checked
from idmd.backup.format import open_backup
from tests.integration.directory import persons
from tests.integration.idmd_server import IdmdServer, own_idmd, run_idmd, scratch_dir

WORKERS = 6
BACKUP_AFTER_ACKS = 30
AFTER_BACKUP_ACKS = 10
MAX_ATTEMPTS = 3000  # bounds the burst if the server stops acknowledging
POLL_LIMIT_S = 60.0


def fingerprint(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir()) if p.is_file() and not p.name.endswith(".sock")
    }


class Burst:
    """Person creations from WORKERS tasks, with one ``hermit-idmd backup`` in the middle."""

    def __init__(self, server: IdmdServer, token: str, dest: Path) -> None:
        self.server, self.token, self.dest = server, token, dest
        self.acked: set[str] = set()
        self.acked_before_backup: set[str] = set()
        self.acked_after_backup: set[str] = set()
        self.backup: subprocess.CompletedProcess[str] | None = None
        self.attempted: set[str] = set()

    async def run(self) -> None:
        counter = iter(range(MAX_ATTEMPTS))
        started = trio.Event()
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            httpx.AsyncClient(base_url=self.server.url, verify=self.server.ssl_context(),
                              headers=headers, timeout=60,
                              limits=httpx.Limits(max_connections=WORKERS)) as client,
            trio.open_nursery() as nursery,
        ):
            async def worker() -> None:
                for n in counter:
                    if len(self.acked_after_backup) >= AFTER_BACKUP_ACKS:
                        return
                    name = f"bk{n:05d}"
                    self.attempted.add(name)
                    # Sent after the backup answered: it cannot be in the snapshot.
                    after_backup = self.backup is not None
                    response = await client.post(
                        "/v1/person", json={"name": name, "displayname": f"Backup {n}"}
                    )
                    assert response.status_code == 200, response.text
                    self.acked.add(name)
                    if after_backup:
                        self.acked_after_backup.add(name)
                    if len(self.acked) >= BACKUP_AFTER_ACKS and not started.is_set():
                        started.set()
                        nursery.start_soon(self.take_backup)

            for _ in range(WORKERS):
                nursery.start_soon(worker)

    async def take_backup(self) -> None:
        self.acked_before_backup = set(self.acked)
        done = await trio.to_thread.run_sync(
            lambda: run_idmd(self.server.config, "backup", str(self.dest))
        )
        self.backup = done


def test_backup__during_writes_restores_every_acknowledged_write_and_old_tokens() -> None:
    with scratch_dir("hermit-backup-") as workdir:
        dest = workdir / "during.hbk"
        with own_idmd(workdir) as server:
            token = server.login("idm_admin", server.idm_admin_password)
            burst = Burst(server, token, dest)
            trio.run(burst.run)
            assert burst.backup is not None
            assert burst.backup.returncode == 0, burst.backup.stderr
            assert burst.backup.stdout.endswith("by the running server\n")
            assert len(burst.acked_after_backup) >= AFTER_BACKUP_ACKS  # writes went on
            assert dest.stat().st_mode & 0o777 == 0o600

            # While the server runs, restore is refused and changes nothing.
            before = persons(server, token)
            refused = run_idmd(server.config, "restore", str(dest))
            assert refused.returncode == 1
            assert refused.stderr == (
                f"hermit-idmd: error: a running hermit-idmd holds {workdir / 'hermit.db'}; "
                f"stop it first (systemctl stop hermit-idmd), then restore\n"
            )
            assert persons(server, token) == before

            # A tampered backup while running: refused for what it is.
            tampered = workdir / "tampered.hbk"
            data = bytearray(dest.read_bytes())
            data[-100] ^= 0x01
            tampered.write_bytes(bytes(data))
            refused = run_idmd(server.config, "restore", str(tampered))
            assert refused.returncode == 1
            assert "SHA-256 does not match" in refused.stderr
            assert persons(server, token) == before
            server.process.stop()

        # Stopped: tampered and truncated files are refused, the files byte for byte unchanged.
        truncated = workdir / "truncated.hbk"
        truncated.write_bytes(dest.read_bytes()[:-1])
        untouched = fingerprint(workdir)
        for bad, reason in ((workdir / "tampered.hbk", "SHA-256 does not match"),
                            (truncated, "truncated")):
            refused = run_idmd(workdir / "server.toml", "restore", str(bad))
            assert refused.returncode == 1
            assert reason in refused.stderr and refused.stderr.count("\n") == 1
            assert fingerprint(workdir) == untouched

        restored = run_idmd(workdir / "server.toml", "restore", str(dest))
        assert restored.returncode == 0, restored.stderr
        assert restored.stdout.startswith(f"restored {workdir / 'hermit.db'} from {dest}: ")
        verified = run_idmd(workdir / "server.toml", "verify")
        assert (verified.returncode, verified.stdout) == (0, "verify: no problems found\n")
        # With no server, backup opens the database itself; it holds what was restored.
        offline = run_idmd(workdir / "server.toml", "backup", str(workdir / "offline.hbk"))
        assert offline.returncode == 0, offline.stderr
        assert "by the running server" not in offline.stdout
        with open_backup(dest) as first, open_backup(workdir / "offline.hbk") as second:
            assert second.header.entries == first.header.entries

        restarted = IdmdProcess.launch(workdir)
        try:
            present = persons(restarted, token)  # a token issued before the backup
        finally:
            restarted.stop()
        created = {name for name in present if name.startswith("bk")}
        assert burst.acked_before_backup <= created, "an acknowledged write is missing"
        assert created <= burst.attempted
        assert not created & burst.acked_after_backup, "a write after the backup came back"


def test_backup__through_the_running_server_is_0600_and_checked(idmd: IdmdServer) -> None:
    dest = idmd.workdir / "shared.hbk"
    try:
        done = idmd.run("backup", str(dest), "--compression", "lzma")
        assert done.returncode == 0, done.stderr
        assert re.fullmatch(
            rf"wrote {dest}: \d+ entries, \d+ bytes \(lzma\), taken at \S+Z by the running "
            rf"server\n", done.stdout,
        )
        assert dest.stat().st_mode & 0o777 == 0o600
        with open_backup(dest) as backup:
            assert backup.header.domain == "example.com"
            assert backup.header.entries > 10

        again = idmd.run("backup", str(dest))
        assert again.returncode == 1
        assert again.stderr == (
            f"hermit-idmd: error: the server refused: {dest} exists; choose another name or "
            f"replace it (--force)\n"
        )
        assert idmd.run("backup", str(dest), "--force").returncode == 0
    finally:
        dest.unlink(missing_ok=True)


def test_backup__refuses_a_symlink_destination(idmd: IdmdServer) -> None:
    link = idmd.workdir / "link.hbk"
    target = idmd.workdir / "link-target"
    link.symlink_to(target)
    try:
        done = idmd.run("backup", str(link))
        assert done.returncode == 1
        assert "is a symbolic link; refusing to write through it" in done.stderr
        assert not target.exists()
    finally:
        link.unlink()


def test_restore__of_a_file_that_is_not_a_backup_is_refused(idmd: IdmdServer) -> None:
    done = idmd.run("restore", str(idmd.config))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"hermit-idmd: error: {idmd.config}: not a hermit backup (no HERMITBK magic)\n"
    )


@contextmanager
def scheduled_server(workdir: Path, backups: Path) -> Iterator[IdmdProcess]:
    config = write_config(workdir)
    with config.open("a") as handle:
        handle.write(f'backup_dir = "{backups}"\nbackup_interval = 1\nbackup_keep = 2\n'
                     f'backup_compression = "lzma"\n')
    run_idmd_checked(config, "cert-generate")
    with IdmdProcess.start(workdir, fresh=False) as server:
        yield server


def test_backup__scheduled_every_interval_keeping_the_newest() -> None:
    with scratch_dir("hermit-sched-") as workdir:
        backups = workdir / "backups"
        with scheduled_server(workdir, backups) as server:
            deadline = time.monotonic() + POLL_LIMIT_S
            written: list[str] = []
            while len(written) < 4:
                written = [line for line in server.log_lines if "backup written to" in line]
                assert time.monotonic() < deadline, "fewer than 4 scheduled backups in time"
                time.sleep(0.1)
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(timeout=30) == 0
        names = sorted(p.name for p in backups.iterdir())
        assert len(names) == 2, names
        assert all(re.fullmatch(r"hermit-\d{8}T\d{6}Z\.hbk", name) for name in names)
        assert backups.stat().st_mode & 0o777 == 0o700
        for name in names:
            assert (backups / name).stat().st_mode & 0o777 == 0o600
            with open_backup(backups / name) as backup:
                assert backup.header.compression == "lzma"
        assert any("scheduled backups: removed hermit-" in line for line in server.log_lines)

        shown = run_idmd(workdir / "server.toml", "configtest")
        assert f'backup_dir = "{backups}"\n' in shown.stdout
        assert "backup_interval = 1\nbackup_keep = 2\n" in shown.stdout


def test_configtest__refuses_a_bad_backup_key(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with config.open("a") as handle:
        handle.write("backup_keep = 0\n")
    done = run_idmd(config, "configtest")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"hermit-idmd: error: {config}: key 'backup_keep' must be an integer from 1 to 1000\n"
    )
