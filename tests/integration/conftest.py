"""One real hermit-idmd for the whole integration suite, and helpers to talk to it.

The ``idmd`` fixture (session scope) gives every integration test the same running server:

- ``cert-generate`` into a fresh temporary directory (a CA as ``tls/ca.pem``),
- ``hermit-idmd server`` on 127.0.0.1 port 0; the port comes from its ``listening on`` line,
- ready once ``GET /status`` answers over TLS pinned to that CA (bounded wait),
- the passwords of ``idm_admin`` and ``admin`` from ``hermit-idmd recover-account``,
- stopped by its own pid (SIGTERM) at the end of the session.

Use it as::

    def test_something(idmd: IdmdServer) -> None:
        token = idmd.login("idm_admin", idmd.idm_admin_password)
        with idmd.client(token) as client:
            assert client.get("/v1/person").status_code == 200

Attributes: ``url`` (``https://127.0.0.1:PORT``), ``ca`` (the CA to pin), ``config`` (its
server.toml), ``workdir``, ``pid``, ``idm_admin_password``, ``admin_password`` (never shown in
a repr or an assertion message). Helpers: ``login(name, password) -> token`` (the stepped flow
of docs/api.md), ``client(token=None)`` (an ``httpx.Client`` pinned to the CA),
``ssl_context()``, ``run(*args)`` (``hermit-idmd ARGS -c CONFIG``), ``log_lines``.

Tests that must stop or break a server (kill -9, a broken config) start their own with
``own_idmd(workdir)``, which yields the same kind of object; never stop the shared one.
The process plumbing is ``contrib/harness/idmd_process.py`` (shared with the benchmark).
``made`` gives a test a ``Directory`` on the shared server (``directory.py``: people, groups,
keys made through the REST API), whose entries are deleted after the test.
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
from typing import TYPE_CHECKING

import httpx
import pytest

from contrib.harness.idmd_process import BIN, IdmdProcess

if TYPE_CHECKING:
    from tests.integration.directory import Directory

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


@pytest.fixture(scope="session")
def idmd() -> Iterator[IdmdServer]:
    with scratch_dir("hermit-idmd-") as workdir, own_idmd(workdir) as server:
        yield server


@pytest.fixture
def made(idmd: IdmdServer) -> Iterator[Directory]:
    """A ``Directory`` (``directory.py``) on the shared server; what it made goes after."""
    # directory.py imports IdmdServer from here: import it once this module is complete.
    from tests.integration.directory import directory

    with directory(idmd) as made:
        yield made


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory is an integration test (``-m "not integration"`` skips)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
