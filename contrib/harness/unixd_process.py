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

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

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

    def __init__(self, config: Path | None, proc: subprocess.Popen[str],
                 log: Path | None = None) -> None:
        self.config = config
        self.proc = proc
        self.pid = proc.pid
        self.log = log
        self.stderr_lines: list[str] = []
        # Keeps draining stderr so unixd never blocks on a full pipe.
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    @classmethod
    @contextmanager
    def start(cls, config: Path, **options: Any) -> Iterator[UnixdProcess]:
        """``launch`` (same options), stopped at the end."""
        unixd = cls.launch(config, **options)
        try:
            yield unixd
        finally:
            unixd.stop()

    @classmethod
    def launch(cls, config: Path | None, *, env: Mapping[str, str] | None = None,
               environ: Mapping[str, str] | None = None, prefix: Sequence[str] = (),
               allow_root: bool = True, notify_dir: Path | None = None,
               log: Path | None = None, bin_dir: Path = BIN) -> UnixdProcess:
        """Start hermit-unixd on ``config`` and return once it has sent READY=1.

        - ``config`` None: unixd reads its default path (in a host namespace, the staged one);
        - ``env`` is added to the environment, which is ``environ`` (default: this process's);
        - ``prefix`` runs it through commands that exec it in the end (``unshare ... sh -c
          'mount ...; exec "$@"'``, ``nsenter``, ``setpriv`` to another uid), so the pid is
          unixd's; ``allow_root=False`` leaves out ``--allow-root`` (unixd run as its user);
        - the readiness socket lives in ``notify_dir`` (default: beside the config), open to
          a unixd running as another uid;
        - ``log``: stdout and stderr go to that file instead of ``stderr``.
        """
        if config is not None:
            config = config.resolve()
        where = notify_dir or (config.parent if config is not None else None)
        if where is None:
            raise ValueError("a unixd without a config path needs a notify_dir")
        notify_path = where / "notify"
        notify_path.unlink(missing_ok=True)
        argv = [*prefix, str(bin_dir / "hermit-unixd"),
                *(["--allow-root"] if allow_root else []),
                *(["-c", str(config)] if config is not None else [])]
        environment = {**(os.environ if environ is None else environ), **(env or {}),
                       "NOTIFY_SOCKET": str(notify_path)}
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify, \
                contextlib.ExitStack() as closing:
            notify.bind(str(notify_path))
            notify_path.chmod(0o666)  # unixd may run as another uid; the directory is private
            notify.settimeout(READY_TIMEOUT_S)
            output: int | TextIO = subprocess.PIPE
            if log is not None:
                output = closing.enter_context(log.open("w"))
            proc = subprocess.Popen(
                argv, env=environment, stdin=subprocess.DEVNULL,
                stdout=output if log is not None else subprocess.DEVNULL,
                stderr=subprocess.STDOUT if log is not None else output, text=True, cwd="/",
            )
            unixd = cls(config, proc, log)
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
        if self.proc.stderr is None:
            return
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    @property
    def stderr(self) -> str:
        """What unixd wrote on stderr so far (all of it once ``stop`` returned); with a
        ``log``, that file's text."""
        if self.log is not None:
            return self.log.read_text(errors="replace")
        return "".join(self.stderr_lines)

    def call(self, op: str, **fields: object) -> dict[str, object]:
        """One request on the client socket named in the config; unixd's answer."""
        return call_unixd(self.socket_path, {"op": op, **fields})

    @property
    def socket_path(self) -> Path:
        """The client socket the config names."""
        return Path(self._config_value("socket_path"))

    @property
    def task_socket_path(self) -> Path:
        return Path(self._config_value("task_socket_path"))

    def _config_value(self, key: str) -> str:
        if self.config is None:
            raise KeyError(f"{key}: this unixd reads its default config")
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
