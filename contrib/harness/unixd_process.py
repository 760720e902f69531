"""A real hermit-unixd process for the tests, the end-to-end worlds and the benchmarks.

Owns: writing a unixd.toml into a work directory (its sockets and cache there, plus the keys a
caller adds), starting ``hermit-unixd --allow-root`` with a private ``NOTIFY_SOCKET``, waiting
for systemd's ``READY=1`` (bounded: both sockets are bound then), and stopping the process by
its own pid (SIGTERM, SIGKILL after a bound), keeping its exit code and what it wrote on
stderr. It never leaves the process running. What unixd is told afterwards (local identities
on its task socket, a tasks daemon) is the caller's: ``contrib/harness/unixd_client.py``.

The one other way hermit-unixd runs is as a command under test (``--configtest``, a config
or token it must refuse): those tests run the binary themselves and read its exit code.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from contrib.harness.unixd_client import call_unixd

BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def toml_value(value: object) -> str:
    """One value of a unixd.toml line: booleans, numbers, lists and (plain) strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return f'"{value}"'


def write_config(workdir: Path, uri: str, ca_path: Path, **keys: object) -> Path:
    """``workdir/unixd.toml``: idmd at ``uri`` pinned to ``ca_path``, the client socket
    ``workdir/sock``, the task socket ``workdir/task.sock``, the cache under ``workdir/cache``,
    then ``keys`` (which may replace any of these)."""
    values: dict[str, object] = {
        "uri": uri, "ca_path": str(ca_path), "socket_path": f"{workdir}/sock",
        "task_socket_path": f"{workdir}/task.sock", "cache_path": f"{workdir}/cache/cache.db",
        **keys,
    }
    config = workdir / "unixd.toml"
    config.write_text("".join(f"{key} = {toml_value(value)}\n" for key, value in values.items()))
    return config


class UnixdProcess:
    """A running hermit-unixd. Use ``UnixdProcess.start(config)`` as a context manager, or
    ``launch`` and ``stop`` for a daemon a test kills and starts again on the same cache."""

    def __init__(self, config: Path, proc: subprocess.Popen[str]) -> None:
        self.config = config
        self.proc = proc
        self.pid = proc.pid
        self.stderr_lines: list[str] = []
        # Keeps draining stderr so unixd never blocks on a full pipe.
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    @classmethod
    @contextmanager
    def start(cls, config: Path, *, env: Mapping[str, str] | None = None,
              prefix: Sequence[str] = (), bin_dir: Path = BIN) -> Iterator[UnixdProcess]:
        unixd = cls.launch(config, env=env, prefix=prefix, bin_dir=bin_dir)
        try:
            yield unixd
        finally:
            unixd.stop()

    @classmethod
    def launch(cls, config: Path, *, env: Mapping[str, str] | None = None,
               prefix: Sequence[str] = (), bin_dir: Path = BIN) -> UnixdProcess:
        """Start hermit-unixd on ``config`` and return once it has sent READY=1; the readiness
        socket lives beside the config.

        ``env`` is added to its environment; ``prefix`` runs it through commands that exec
        it in the end (``unshare ... sh -c 'mount ...; exec "$@"'``), so the pid is unixd's.
        """
        config = config.resolve()
        notify_path = config.parent / "notify"
        notify_path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(str(notify_path))
            notify.settimeout(READY_TIMEOUT_S)
            proc = subprocess.Popen(
                [*prefix, str(bin_dir / "hermit-unixd"), "--allow-root", "-c", str(config)],
                env={**os.environ, **(env or {}), "NOTIFY_SOCKET": str(notify_path)},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True, cwd="/",
            )
            unixd = cls(config, proc)
            try:
                ready = notify.recv(64)
            except TimeoutError:
                unixd.stop()
                raise RuntimeError(f"hermit-unixd sent no READY=1 in {READY_TIMEOUT_S} s:\n"
                                   + unixd.stderr) from None
        if ready != b"READY=1":
            unixd.stop()
            raise RuntimeError(f"hermit-unixd sent {ready!r} instead of READY=1:\n"
                               + unixd.stderr)
        return unixd

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    @property
    def stderr(self) -> str:
        """What unixd wrote on stderr so far (all of it once ``stop`` returned)."""
        return "".join(self.stderr_lines)

    def call(self, op: str, **fields: object) -> dict[str, object]:
        """One request on the client socket named in the config; unixd's answer."""
        return call_unixd(self.socket_path, {"op": op, **fields})

    @property
    def socket_path(self) -> Path:
        return Path(self._config_value("socket_path"))

    @property
    def task_socket_path(self) -> Path:
        return Path(self._config_value("task_socket_path"))

    def _config_value(self, key: str) -> str:
        for line in self.config.read_text().splitlines():
            name, _, value = line.partition(" = ")
            if name == key:
                return value.strip('"')
        raise KeyError(f"{key} is not in {self.config}")

    def stop(self) -> int:
        """SIGTERM (SIGKILL after ``STOP_TIMEOUT_S``) unless it has exited; its exit code."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        code = self.proc.wait()
        # The drain ends at EOF, once every process holding the pipe has exited.
        self._drainer.join(timeout=STOP_TIMEOUT_S)
        return code
