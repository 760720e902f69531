"""A real hermit-idmd for the integration tests, and what a test needs to reach it.

``IdmdServer`` wraps a running ``contrib/harness/idmd_process.py`` with the passwords of
``idm_admin`` and ``admin`` (never shown in a repr or an assertion message); ``own_idmd(workdir)``
starts one of a test's own; ``run_idmd(config, *args)`` runs a ``hermit-idmd`` command;
``scratch_dir(prefix)`` is a private directory under /tmp (short enough for a unix socket path).
The shared server of the whole suite is the ``idmd`` fixture of conftest.py.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contrib.harness.idmd_process import BIN, IdmdProcess

HERMIT_IDMD = BIN / "hermit-idmd"


RUN_TIMEOUT_S = 60


@dataclass
class IdmdServer:
    """A running hermit-idmd and what a test needs to reach it."""

    process: IdmdProcess = field(repr=False)
    idm_admin_password: str = field(repr=False)
    admin_password: str = field(repr=False)

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def ca(self) -> Path:
        return self.process.ca_path

    @property
    def config(self) -> Path:
        return self.process.config

    @property
    def workdir(self) -> Path:
        return self.process.workdir

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_lines(self) -> list[str]:
        return self.process.log_lines

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, verify=self.ssl_context(), headers=headers,
                            timeout=30)

    def login(self, name: str, password: str) -> str:
        """Log ``name`` in with the stepped flow (begin, then a password step); the token."""
        return self.process.login(name, password)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``hermit-idmd ARGS -c CONFIG``; the caller checks the result."""
        return run_idmd(self.config, *args)


def run_idmd(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HERMIT_IDMD), *args, "-c", str(config)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )


def recovered_password(config: Path, name: str) -> str:
    """A new password for ``name`` from ``hermit-idmd recover-account``."""
    done = run_idmd(config, "recover-account", name)
    assert done.returncode == 0, f"recover-account {name} failed: {done.stderr.strip()}"
    lines = [line for line in done.stdout.splitlines() if line.startswith("password: ")]
    assert len(lines) == 1, "recover-account printed no single password line"
    return lines[0].removeprefix("password: ")


@contextmanager
def own_idmd(workdir: Path) -> Iterator[IdmdServer]:
    """A fresh server of this test's own in ``workdir`` (config, certificate, database)."""
    with IdmdProcess.start(workdir) as process:
        yield IdmdServer(
            process,
            idm_admin_password=process.idm_admin_password,
            admin_password=recovered_password(process.config, "admin"),
        )


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A private directory under /tmp (short enough for a unix socket path), removed after."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

