"""The suite's own hygiene: a test run leaves nothing of its own on the machine.

pytest's temporary directories (``/tmp/pytest-of-<user>``) once kept every test's files of the
last three runs, hundreds of MB; pyproject.toml now keeps only failed tests' files. This runs a
small session under the project's configuration and looks at what it left. (sshd's login
records are kept out of ``/var/log`` by the namespaces: tests/native/test_e2e.py checks it.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SESSION = """
def test_writes(tmp_path, tmp_path_factory):
    (tmp_path / "passed").write_bytes(b"x" * 100_000)
    (tmp_path_factory.mktemp("shared") / "shared").write_bytes(b"x" * 100_000)

def test_fails_when_asked(tmp_path):
    (tmp_path / "evidence").write_text("read me")
    assert not {fail}
"""


def run_session(tmp_path: Path, *, fail: bool) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A session of two tests, its temporary root redirected into ``tmp_path/root``."""
    (tmp_path / f"test_session_{fail}.py").write_text(SESSION.format(fail=fail))
    temproot = tmp_path / f"root-{fail}"
    temproot.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"),
         "-p", "no:cacheprovider", str(tmp_path / f"test_session_{fail}.py")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={**os.environ, "PYTEST_DEBUG_TEMPROOT": str(temproot)},
    )
    return done, temproot


def left_files(temproot: Path) -> list[str]:
    return sorted(path.name for path in temproot.rglob("*") if path.is_file())


def test_pytest__a_passing_session_leaves_no_temporary_files(tmp_path: Path) -> None:
    done, temproot = run_session(tmp_path, fail=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert left_files(temproot) == []


def test_pytest__a_failing_session_keeps_the_failed_tests_files_only(tmp_path: Path) -> None:
    done, temproot = run_session(tmp_path, fail=True)
    assert done.returncode == 1, done.stdout + done.stderr
    # The passing test's tmp_path is gone; tmp_path_factory's directories stay with the run.
    assert left_files(temproot) == ["evidence", "shared"]
