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
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The test builds give up on unixd after this long (production: 2 s, 5 s, 10 s).
DEADLINE_MS = 1000


@dataclass(frozen=True)
class NativeBuild:
    dir: Path
    config: Path

    @property
    def nss(self) -> Path:
        return self.dir / "libnss_hermit.so.2"

    @property
    def nss_asan(self) -> Path:
        return self.dir / "asan" / "libnss_hermit.so.2"

    @property
    def pam(self) -> Path:
        return self.dir / "pam_hermit.so"

    @property
    def pam_asan(self) -> Path:
        return self.dir / "asan" / "pam_hermit.so"

    @property
    def sshkeys_helper(self) -> Path:
        return self.dir / "hermit-ssh-authorizedkeys"

    def point_at(self, socket_path: Path) -> None:
        self.config.write_text(f'socket_path = "{socket_path}"\n')


def build_native(build: Path, config: Path, deadline_ms: int, *, asan: bool) -> None:
    targets = ["all", "asan"] if asan else ["all"]
    for folder in ("nss_module", "pam_module", "sshkeys-helper"):
        subprocess.run(
            ["make", "-s", "-C", str(ROOT / folder), *targets, f"BUILD_DIR={build}",
             f"HERMIT_CONFIG_PATH={config}", f"HERMIT_DEADLINE_MS={deadline_ms}"],
            check=True, stdout=subprocess.DEVNULL,
        )


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
