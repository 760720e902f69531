"""The native modules built for the tests: ``build_native`` compiles ``libnss_hermit.so.2``,
``pam_hermit.so`` and ``hermit-ssh-authorizedkeys`` (plain, and ASan/UBSan when asked) with a
test config path and deadline; ``NativeBuild`` names what was built and points the modules at a
socket. The session's build is the ``native_build`` fixture of conftest.py.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

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

