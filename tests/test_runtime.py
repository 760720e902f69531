"""contrib/harness/runtime.py: the copy of hermit that every user can run, for what the demo and
the tests start as another uid when the clone is out of that user's reach (a clone in /root).

The copy is forced here, whatever the clone's modes, so this machine tests the path a clone in
/root takes: nobody runs hermit's console scripts and python from it, and it holds hermit's
runtime dependencies without the test tools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from contrib.harness.runtime import Runtime, as_nobody, build_copy, runs_as_nobody

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="runs programs as nobody: needs root and setpriv")


@pytest.fixture(scope="module")
def copy() -> Iterator[Runtime]:
    # Not tmp_path: /tmp/pytest-of-root is 0700, out of nobody's reach like /root.
    target = Path(tempfile.mkdtemp(prefix="hermit-runtime-test-"))
    umask = os.umask(0o077)  # as a careful root's: the copy must open itself up anyway
    try:
        try:
            made = build_copy(target)
        finally:
            os.umask(umask)
        yield made
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_runtime__nobody_runs_every_console_script_from_the_copy(copy: Runtime) -> None:
    assert copy.copied
    assert runs_as_nobody(copy)
    for script in ("hermit", "hermit-idmd", "hermit-unixd", "hermit-unixd-tasks", "hermit-unix"):
        done = subprocess.run([*as_nobody(), str(copy.bin / script), "--help"], cwd="/",
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, (script, done.stderr[-2000:])
        assert done.stdout.startswith("usage: "), script


def test_runtime__the_copy_has_the_runtime_dependencies_and_no_test_tools(copy: Runtime) -> None:
    site = copy.root
    for package in ("idmd", "unixd", "hermit_cli", "contrib", "trio", "httpx", "cryptography"):
        assert (site / package / "__init__.py").is_file(), package
    for tool in ("pytest", "hypothesis", "mypy", "schemathesis"):
        assert not (site / tool).exists(), tool
    assert not list(site.glob("__editable__*")), "the clone's editable finder came along"


def test_runtime__the_copy_is_open_to_everyone_whatever_the_umask(copy: Runtime) -> None:
    top = copy.bin.parent.parent
    for path in [top, *top.rglob("*")]:
        if not path.is_symlink():
            wanted = 0o005 if path.is_dir() else 0o004
            assert path.stat().st_mode & wanted == wanted, path
