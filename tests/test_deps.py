"""``make deps`` (packaging/debian-deps reading packaging/debian-packages.txt): what it asks for,
how it answers a user who is not root, and that CI reads the same list.

The script runs from a copy beside a list of the test's own, so no package is ever installed
here; the not-root answers run as nobody.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "packaging" / "debian-deps"
LIST = ROOT / "packaging" / "debian-packages.txt"
MISSING = "hermit-no-such-package-a"


def entries() -> list[tuple[str, str, str]]:
    """(name, tag, reason) of each package line."""
    found = []
    for line in LIST.read_text().splitlines():
        fields, _, reason = line.partition("#")
        if fields.strip():
            name, *tag = fields.split()
            found.append((name, "".join(tag), reason.strip()))
    return found


@pytest.fixture
def with_list() -> Iterator[Path]:
    """A copy of the script in a directory every user may read; write its list there."""
    folder = Path(tempfile.mkdtemp(prefix="hermit-deps-"))
    try:
        folder.chmod(0o755)
        shutil.copy2(SCRIPT, folder / "debian-deps")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(folder: Path, *tags: str, as_nobody: bool) -> subprocess.CompletedProcess[str]:
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if as_nobody else []
    return subprocess.run([*prefix, str(folder / "debian-deps"), *tags], capture_output=True,
                          text=True, timeout=60, check=False, cwd="/")


def test_deps__every_package_has_a_reason_and_a_known_tag() -> None:
    names = [name for name, _, _ in entries()]
    assert len(names) == len(set(names))
    for name, tag, reason in entries():
        assert reason, name
        assert tag in ("", "ci", "bench", "test"), name
    assert {"python3", "python3-venv", "gcc", "openssh-server"} <= set(names)
    assert ("debootstrap", "ci") in [(name, tag) for name, tag, _ in entries()]


def test_deps__ci_installs_from_the_same_script_and_dev_checks_first() -> None:
    assert "packaging/debian-deps ci test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndev: deps\n" in makefile
    assert "packaging/debian-deps" in makefile


def test_deps__this_machine_has_every_package_make_deps_checks() -> None:
    """The suite runs after make deps: the list names real packages, all installed here."""
    untagged = [name for name, tag, _ in entries() if not tag]
    status = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Package}\n",
                             *untagged], capture_output=True, text=True, timeout=60, check=False)
    installed = {line.split()[-1] for line in status.stdout.splitlines() if line.startswith("ii")}
    assert sorted(set(untagged) - installed) == []


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="runs the script as nobody")
def test_deps__not_root_prints_the_one_apt_get_line_and_stops(with_list: Path) -> None:
    (with_list / "debian-packages.txt").write_text(
        f"# a comment\ncoreutils   # installed everywhere\n{MISSING}  # why\n"
        f"{MISSING}-bench bench  # only with the tag\n")
    done = run(with_list, as_nobody=True)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"  sudo apt-get install --no-install-recommends {MISSING}\n" in done.stderr
    assert "coreutils" not in done.stderr and "-bench" not in done.stderr

    tagged = run(with_list, "bench", as_nobody=True)
    assert (f"apt-get install --no-install-recommends {MISSING} {MISSING}-bench\n"
            in tagged.stderr)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="runs the script as nobody")
def test_deps__nothing_missing_is_silent_and_succeeds(with_list: Path) -> None:
    (with_list / "debian-packages.txt").write_text("coreutils  # installed everywhere\n")
    done = run(with_list, as_nobody=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="runs the script as nobody")
def test_deps__a_tag_after_which_other_tags_follow_still_reads_the_whole_list(
    with_list: Path,
) -> None:
    """.ci/run's `debian-deps ci` on the real list's shape: its last lines carry another tag."""
    (with_list / "debian-packages.txt").write_text(
        "coreutils  # installed everywhere\n"
        f"{MISSING}-ci ci  # CI's own\n"
        f"{MISSING}-bench bench  # only with the bench tag\n")
    done = run(with_list, "ci", as_nobody=True)
    assert done.returncode == 1
    assert f"apt-get install --no-install-recommends {MISSING}-ci\n" in done.stderr
    assert "-bench" not in done.stderr
    (with_list / "debian-packages.txt").write_text(
        "coreutils  # installed everywhere\nbash ci  # here too\n"
        f"{MISSING}-bench bench  # only with the bench tag\n")
    assert run(with_list, "ci", as_nobody=True).returncode == 0
