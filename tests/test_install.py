"""``make install`` staged with DESTDIR: every file, its mode and owner, the exported symbols of
the modules, and a venv whose console scripts run (docs/install.md).

One staged install per module (it builds the C parts and a venv with the runtime
dependencies, about 20 s). The venv cannot run its scripts by their ``#!`` line before it is
moved to ``/opt/hermit``, so the tests start each script with the staged venv's own
interpreter, which finds its packages from its own location.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                           check=False).stdout.strip() or "x86_64-linux-gnu"
LIBDIR = f"usr/lib/{MULTIARCH}"
VENV = "opt/hermit"
CONSOLE_SCRIPTS = ("hermit", "hermit-idmd", "hermit-unixd", "hermit-unixd-tasks", "hermit-unix")
INSTALL_TIMEOUT_S = 600

# Every regular file make install writes outside the venv, and its mode.
FILES = {
    f"{LIBDIR}/libnss_hermit.so.2": 0o644,
    f"{LIBDIR}/security/pam_hermit.so": 0o644,
    "usr/bin/hermit-ssh-authorizedkeys": 0o755,
    "usr/lib/systemd/system/hermit-idmd.service": 0o644,
    "usr/lib/systemd/system/hermit-unixd.service": 0o644,
    "usr/lib/systemd/system/hermit-unixd-tasks.service": 0o644,
    "usr/lib/sysusers.d/hermit-idmd.conf": 0o644,
    "usr/share/pam-configs/hermit": 0o644,
    "usr/share/doc/hermit-idm/examples/server.toml.example": 0o644,
    "usr/share/doc/hermit-idm/examples/unixd.toml.example": 0o644,
    "usr/share/doc/hermit-idm/examples/hermit.conf": 0o644,
    "usr/share/doc/hermit-idm/install.md": 0o644,
    "usr/share/doc/hermit-idm/host.md": 0o644,
    "usr/share/doc/hermit-idm/server.md": 0o644,
    "usr/share/doc/hermit-idm/native-modules.md": 0o644,
}
# Where each installed file comes from in the checkout (the rest are build outputs).
SOURCES = {
    "usr/share/pam-configs/hermit": "packaging/pam-configs/hermit",
    "usr/lib/sysusers.d/hermit-idmd.conf": "packaging/hermit-idmd.sysusers",
    "usr/share/doc/hermit-idm/examples/hermit.conf": "packaging/sshd_config.d/hermit.conf",
    "usr/lib/systemd/system/hermit-unixd.service": "packaging/hermit-unixd.service",
}


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", "-C", str(ROOT), *args], capture_output=True,
                          text=True, timeout=INSTALL_TIMEOUT_S, check=False)


@pytest.fixture(scope="module")
def staged() -> Iterator[Path]:
    if shutil.which("gcc") is None:
        pytest.skip("make install builds the C modules: needs gcc and libpam0g-dev")
    destdir = Path(tempfile.mkdtemp(prefix="hermit-install-"))
    try:
        done = make("install", f"DESTDIR={destdir}")
        assert done.returncode == 0, done.stderr[-3000:]
        yield destdir
    finally:
        shutil.rmtree(destdir, ignore_errors=True)


def exported(path: Path) -> list[str]:
    done = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True,
                          text=True, check=True)
    return [line.split()[-1] for line in done.stdout.splitlines() if line.strip()]


def test_install__lays_out_every_file_with_its_mode(staged: Path) -> None:
    for relative, mode in FILES.items():
        path = staged / relative
        assert path.is_file() and not path.is_symlink(), relative
        assert stat.S_IMODE(path.stat().st_mode) == mode, relative
    for relative, source in SOURCES.items():
        assert (staged / relative).read_bytes() == (ROOT / source).read_bytes(), relative


@pytest.mark.skipif(os.geteuid() != 0, reason="owners are root only when installed as root")
def test_install__every_file_belongs_to_root(staged: Path) -> None:
    for path in [staged, *staged.rglob("*")]:
        info = path.lstat()
        assert (info.st_uid, info.st_gid) == (0, 0), path


def test_install__everything_is_readable_by_every_user(staged: Path) -> None:
    # The CLI and hermit-unix run as any user; sshd's helper user starts the keys helper.
    for path in staged.rglob("*"):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        assert info.st_mode & stat.S_IROTH, path
        assert not info.st_mode & stat.S_IWOTH, path
        if stat.S_ISDIR(info.st_mode):
            assert info.st_mode & stat.S_IXOTH, path


def test_install__nss_module_exports_only_nss_hermit(staged: Path) -> None:
    names = exported(staged / LIBDIR / "libnss_hermit.so.2")
    assert "_nss_hermit_getpwnam_r" in names
    assert "_nss_hermit_initgroups_dyn" in names
    assert all(name.startswith("_nss_hermit_") for name in names), names


def test_install__pam_module_exports_only_pam_sm(staged: Path) -> None:
    names = exported(staged / LIBDIR / "security" / "pam_hermit.so")
    assert "pam_sm_authenticate" in names
    assert all(name.startswith("pam_sm_") for name in names), names


def test_install__console_scripts_are_symlinks_into_the_venv(staged: Path) -> None:
    for script in CONSOLE_SCRIPTS:
        link = staged / "usr" / "bin" / script
        assert link.is_symlink(), script
        assert os.readlink(link) == f"/{VENV}/bin/{script}"
        assert (staged / VENV / "bin" / script).is_file()


def test_install__console_scripts_run(staged: Path) -> None:
    python = staged / VENV / "bin" / "python"
    for script in CONSOLE_SCRIPTS:
        done = subprocess.run([str(python), str(staged / VENV / "bin" / script), "--help"],
                              capture_output=True, text=True, timeout=60, check=False,
                              cwd=tempfile.gettempdir())
        assert done.returncode == 0, f"{script}: {done.stderr[-2000:]}"
        assert done.stdout.startswith(f"usage: {script}"), script


def test_install__venv_names_its_final_location_only(staged: Path) -> None:
    bin_dir = staged / VENV / "bin"
    for script in CONSOLE_SCRIPTS:
        first = (bin_dir / script).read_text().splitlines()[0]
        assert first == f"#!/{VENV}/bin/python", script
    assert "VIRTUAL_ENV=/opt/hermit\n" in (bin_dir / "activate").read_text()
    needle = str(staged).encode()
    leaking = [path for path in (staged / VENV).rglob("*")
               if path.is_file() and not path.is_symlink() and needle in path.read_bytes()]
    assert leaking == []


def test_install__venv_has_no_test_tools(staged: Path) -> None:
    site = next((staged / VENV / "lib").glob("python3*/site-packages"))
    assert (site / "idmd").is_dir() and (site / "unixd").is_dir()
    assert not (site / "pytest").exists()
    assert not (site / "hypothesis").exists()
    assert not (site / "playwright").exists()


def test_install__web_door_has_its_pages_and_static_files(staged: Path) -> None:
    """A wheel leaves out what is not Python unless package-data names it: without these the
    installed idmd would answer every /ui/ page with a 500."""
    site = next((staged / VENV / "lib").glob("python3*/site-packages"))
    web = site / "idmd" / "web"
    source = ROOT / "idmd" / "web"
    for sub in ("templates", "static"):
        wanted = sorted(p.name for p in (source / sub).iterdir() if p.is_file())
        assert wanted, sub
        assert sorted(p.name for p in (web / sub).iterdir()) == wanted, sub


def test_install__again_upgrades_in_place(staged: Path) -> None:
    done = make("install-python", f"DESTDIR={staged}")
    assert done.returncode == 0, done.stderr[-3000:]
    python = staged / VENV / "bin" / "python"
    done = subprocess.run([str(python), str(staged / VENV / "bin" / "hermit"), "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_install__ldconfig_runs_only_without_destdir() -> None:
    staged_plan = make("-n", "install", "DESTDIR=/nonexistent-stage")
    system_plan = make("-n", "install")
    assert staged_plan.returncode == 0 and system_plan.returncode == 0
    assert "ldconfig" not in staged_plan.stdout
    assert "\nldconfig\n" in system_plan.stdout
    assert f"/{LIBDIR}/libnss_hermit.so.2" in system_plan.stdout
