"""Builds the native modules once per session for the tests, with a test-only config path.

``native_build`` compiles ``libnss_hermit.so.2``, ``pam_hermit.so`` and
``hermit-ssh-authorizedkeys`` (plain and ASan/UBSan) into a temporary directory with
``HERMIT_CONFIG_PATH`` pointing at a ``unixd.toml`` in that directory and a short deadline;
both are build-time settings (the modules never read the environment). Tests write the
socket path they serve into that file with ``point_at``; sockets live in a short private
directory under /tmp (a unix socket path has at most 107 bytes).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.native.native_build import DEADLINE_MS, NativeBuild, build_native


@pytest.fixture(scope="session")
def native_build() -> Iterator[NativeBuild]:
    build = Path(tempfile.mkdtemp(prefix="hermit-native-"))
    # Processes that dropped privileges (a PAM session, sshd's helper user) load from here.
    build.chmod(0o755)
    config = build / "unixd.toml"
    try:
        build_native(build, config, DEADLINE_MS, asan=True)
        yield NativeBuild(build, config)
    finally:
        shutil.rmtree(build, ignore_errors=True)


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hn-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
