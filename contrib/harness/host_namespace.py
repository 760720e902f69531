"""A private mount namespace that looks like a host where hermit is installed and configured.

Owns: staging a root directory with the native modules, the SSH keys helper and the host's
configuration files at their production paths; running Debian's ``pam-auth-update`` on that
copy; the namespace itself (shared/testing recipes 01 and 03); starting, running and
stopping processes inside it; and proving at the end that it is gone.

Inside the namespace, read-only overlays put the staged ``usr/`` over ``/usr`` and the staged
``etc/`` over ``/etc``, and empty tmpfs mounts cover ``/home`` (the homes hermit creates) and
``/run`` (unixd's sockets, sshd's privilege-separation directory), and ``/var/log`` (so sshd's
and login's records, btmp, wtmp and lastlog, stay out of the host's). So the modules load by
soname from the real multiarch directory, PAM files name ``pam_hermit.so`` as in production,
``/etc/hermit/unixd.toml`` is the default path the modules read, and the host's ``/etc``,
``/usr``, ``/home`` and ``/run`` are never written. A ``sleep`` holds the namespace; every
process is started by the caller and stopped by its pid, and once the last one has exited
the kernel removes the namespace and its mounts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                           check=False).stdout.strip() or "x86_64-linux-gnu"
LIBDIR = f"usr/lib/{MULTIARCH}"


def reexec_in_mount_namespace(script: str, argv: Sequence[str]) -> NoReturn:
    """Run ``script --inside ARGV`` again in a private mount namespace of its own (recipe 01),
    so whatever a benchmark mounts is gone when it exits."""
    os.execvp("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                          str(Path(script).resolve()), "--inside", *argv])
STOP_TIMEOUT_S = 15.0
RUN_TIMEOUT_S = 60.0

# Runs as the namespace's first process: the mounts, the unixd socket directory for OWNER
# ($1), a line on stdout once all is in place, then nothing but holding the namespace.
_HOLDER = """set -e
mount -t overlay hermit-usr -o "lowerdir=$0/usr:/usr" /usr
mount -t overlay hermit-etc -o "lowerdir=$0/etc:/etc" /etc
mount -t tmpfs -o mode=0755 hermit-home /home
mount -t tmpfs -o mode=0755 hermit-run /run
mount -t tmpfs -o mode=0755 hermit-log /var/log
mkdir -m 0755 /run/sshd /run/hermit-unixd
chown "$1" /run/hermit-unixd
echo ready
exec sleep infinity
"""


def stage_native(root: Path, build: Path) -> list[Path]:
    """The modules and the helper where ``make install`` puts them; the staged paths."""
    placed = [
        (build / "libnss_hermit.so.2", root / LIBDIR / "libnss_hermit.so.2", 0o644),
        (build / "pam_hermit.so", root / LIBDIR / "security" / "pam_hermit.so", 0o644),
        (build / "hermit-ssh-authorizedkeys", root / "usr/bin/hermit-ssh-authorizedkeys", 0o755),
    ]
    for source, target, mode in placed:
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(mode)
    return [target for _, target, _ in placed]


def with_hermit(nsswitch: str) -> str:
    """nsswitch.conf with ``hermit`` last on the passwd and group lines (docs/install.md)."""
    lines = []
    for line in nsswitch.splitlines():
        key, colon, sources = line.partition(":")
        if colon and key.strip() in ("passwd", "group") and "hermit" not in sources.split():
            line = f"{line.rstrip()} hermit"
        lines.append(line)
    return "\n".join(lines) + "\n"


def with_sources(nsswitch: str, sources: str) -> str:
    """nsswitch.conf with the passwd and group lines set to ``sources`` (``files hermit``)."""
    lines = []
    for line in nsswitch.splitlines():
        key = line.split(":", 1)[0].strip()
        if key in ("passwd", "group") and ":" in line:
            line = f"{key}: {sources}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def stage_file(root: Path, path: str, text: str, mode: int = 0o644) -> Path:
    target = root / path.lstrip("/")
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)
    return target


def prepare_pam_auth_update(root: Path, profile: Path, workdir: Path) -> list[str]:
    """``pam-auth-update --enable`` on a copy of the host's PAM configuration under ROOT.

    It reads ``ROOT/usr/share/pam-configs`` and rewrites ``ROOT/etc/pam.d/common-*``. It also
    records its choice in debconf, so the returned command runs it in a mount namespace of its
    own with a copy of debconf's database: the host's database is not written either.
    """
    shutil.copytree("/etc/pam.d", root / "etc/pam.d", symlinks=True, dirs_exist_ok=True)
    shutil.copytree("/usr/share/pam-configs", root / "usr/share/pam-configs",
                    dirs_exist_ok=True)
    shutil.copyfile(profile, root / "usr/share/pam-configs" / profile.name)
    if Path("/var/lib/pam").is_dir():
        shutil.copytree("/var/lib/pam", root / "var/lib/pam", dirs_exist_ok=True)
    debconf = workdir / "debconf"
    debconf.mkdir(mode=0o700)
    for name in ("config.dat", "templates.dat"):
        if Path("/var/cache/debconf", name).exists():
            shutil.copyfile(Path("/var/cache/debconf", name), debconf / name)
    (debconf / "passwords.dat").touch(mode=0o600)
    script = 'mount --bind "$0" /var/cache/debconf && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(debconf),
            "pam-auth-update", "--root", str(root), "--force", "--enable", profile.name]


def stop_pid(proc: subprocess.Popen[str], timeout: float = STOP_TIMEOUT_S) -> int:
    """SIGTERM to this process by its pid, SIGKILL after ``timeout``; its exit status."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


@dataclass
class HostNamespace:
    """The running namespace: ``holder`` is its first process, ``inode`` its identity."""

    root: Path
    holder: subprocess.Popen[str]
    inode: int

    @classmethod
    def enter(cls, root: Path, unixd_owner: str) -> HostNamespace:
        """Mount everything (see the module docstring); ``unixd_owner`` is ``uid:gid``."""
        holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", _HOLDER, str(root),
             unixd_owner],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert holder.stdout is not None and holder.stderr is not None
        if holder.stdout.readline().strip() != "ready":
            holder.wait()
            raise RuntimeError("the namespace could not be set up: " + holder.stderr.read())
        inode = os.stat(f"/proc/{holder.pid}/ns/mnt").st_ino
        return cls(root, holder, inode)

    @property
    def mnt(self) -> str:
        return f"/proc/{self.holder.pid}/ns/mnt"

    def path(self, inside: str) -> Path:
        """A path as the namespace sees it, reachable from outside (``/proc/PID/root``)."""
        return Path(f"/proc/{self.holder.pid}/root") / inside.lstrip("/")

    def argv(self, cmd: Sequence[str], *, user: str | None = None) -> list[str]:
        """CMD inside the namespace, as USER (``uid:gid``, no supplementary groups) if given.

        nsenter and setpriv exec their command, so a started process keeps their pid.
        """
        prefix = ["nsenter", f"--mount={self.mnt}", "--"]
        if user is not None:
            uid, gid = user.split(":")
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
        return [*prefix, *cmd]

    def run(self, cmd: Sequence[str], *, stdin: str = "",
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(cmd), input=stdin, capture_output=True, text=True,
                              env=env, timeout=RUN_TIMEOUT_S, check=False)

    def spawn(self, cmd: Sequence[str], log: Path, *, user: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """A daemon inside the namespace; its stdout and stderr go to ``log``."""
        with log.open("w") as out:
            return subprocess.Popen(self.argv(cmd, user=user), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, env=env, text=True)

    def spawn_sshd(self, config: Path, log: Path) -> subprocess.Popen[str]:
        """sshd as PID 1 of a PID namespace of its own, so it reaps its sessions' orphans and
        everything it started dies with it. Stop it with ``stop_sshd``."""
        return self.spawn(["unshare", "--pid", "--fork", "--kill-child=KILL",
                           "/usr/sbin/sshd", "-D", "-e", "-f", str(config)], log)

    @staticmethod
    def stop_sshd(proc: subprocess.Popen[str]) -> int:
        # unshare --fork ignores SIGTERM while it waits: stop its child, sshd, by pid.
        for child in children(proc.pid):
            os.kill(child, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return stop_pid(proc)
        return proc.returncode

    def leave(self) -> int:
        """Stop the holder by its pid; the namespace ends with the last process in it."""
        return stop_pid(self.holder)

    def remaining(self) -> list[int]:
        """Pids of processes still in this namespace (none once everything was stopped)."""
        left = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.stat(entry / "ns" / "mnt").st_ino == self.inode:
                    left.append(int(entry.name))
            except OSError:
                continue
        return left
