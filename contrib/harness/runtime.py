"""hermit's programs, runnable by every user: for what the demo and the tests run as another uid.

hermit-unixd refuses root, so the demo and some tests start it as ``nobody``; others run
``hermit-unix`` or a small client as ``nobody`` or as a test user. The clone's ``.venv`` and
sources can be out of those users' reach: a clone in ``/root`` (mode 0700) or made under a
umask of 077. ``everyone_runtime()`` answers the clone itself when ``nobody`` can run hermit
from it, and otherwise builds, once per process, a world-readable copy in a temporary
directory: a venv of the system python holding hermit's packages, ``contrib/``, and the
runtime dependencies installed in ``.venv`` (no test tools), with hermit's console scripts.
The copy is removed when the process exits.
"""

from __future__ import annotations

import atexit
import fnmatch
import functools
import importlib.metadata
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DISTRIBUTION = "hermit-idm"
PROBE_TIMEOUT_S = 60
# Imports every console script's module, and reads what the demo runs from contrib/.
_PROBE = ("import sys, hermit_cli.main, idmd.main, unixd.main, unixd.tool, unixd.tasks.main; "
          "open(sys.argv[1]).close()")


@dataclass(frozen=True)
class Runtime:
    """``bin``: python and hermit's console scripts; ``root``: where ``contrib/`` is."""

    bin: Path
    root: Path
    copied: bool


def as_nobody() -> list[str]:
    """The setpriv prefix that runs a command as nobody with no supplementary groups."""
    nobody = pwd.getpwnam("nobody")
    return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
            "--clear-groups", "--"]


def runs_as_nobody(runtime: Runtime) -> bool:
    """Whether nobody can start hermit's programs from ``runtime`` (root and setpriv only)."""
    done = subprocess.run(
        [*as_nobody(), str(runtime.bin / "python"), "-c", _PROBE,
         str(runtime.root / "contrib/demo/demo.py")],
        capture_output=True, cwd="/", timeout=PROBE_TIMEOUT_S, check=False,
    )
    return done.returncode == 0


@functools.cache
def everyone_runtime() -> Runtime:
    """The clone when nobody can use it, else a world-readable copy (built once, see above)."""
    clone = Runtime(BIN, ROOT, copied=False)
    if os.geteuid() != 0 or shutil.which("setpriv") is None or runs_as_nobody(clone):
        return clone
    target = Path(tempfile.mkdtemp(prefix="hermit-runtime-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    copy = build_copy(target)
    if not runs_as_nobody(copy):
        raise RuntimeError(f"nobody can run hermit from {ROOT}, nor from a copy in "
                           f"{target.parent}: set TMPDIR to a directory every user may enter")
    return copy


def build_copy(target: Path) -> Runtime:
    """A venv under ``target`` (which every user may enter) with hermit and its dependencies."""
    venv = target / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=PROBE_TIMEOUT_S)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = site / "site-packages"
    for dist in _runtime_dependencies():
        _copy_distribution(dist, site)
    for package in [*_hermit_packages(), "contrib"]:
        shutil.copytree(ROOT / package, site / package, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("bench"))
    for entry in importlib.metadata.distribution(DISTRIBUTION).entry_points:
        if entry.group == "console_scripts":
            module, _, function = entry.value.partition(":")
            script = venv / "bin" / entry.name
            script.write_text(f"#!{venv}/bin/python\nimport sys\n"
                              f"from {module} import {function}\nsys.exit({function}())\n")
    _open_to_everyone(target)
    return Runtime(venv / "bin", site, copied=True)


def _runtime_dependencies() -> list[importlib.metadata.Distribution]:
    """Every installed distribution hermit needs at run time (its extras left out)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [DISTRIBUTION]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # a dependency for another platform or Python version
        seen[name] = dist
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    del seen[DISTRIBUTION]  # an editable install: its sources are copied instead
    return list(seen.values())


def _copy_distribution(dist: importlib.metadata.Distribution, site: Path) -> None:
    for file in dist.files or []:
        if file.parts[0] == "..":
            continue  # console scripts of the dependency itself
        source = Path(str(dist.locate_file(file)))
        if source.is_file():
            (site / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, site / file)


def _hermit_packages() -> list[str]:
    """The top-level packages pyproject.toml's ``packages.find`` includes."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        include = tomllib.load(file)["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(path.name for path in ROOT.iterdir()
                  if (path / "__init__.py").is_file()
                  and any(fnmatch.fnmatch(path.name, pattern) for pattern in include))


def _open_to_everyone(top: Path) -> None:
    """Directories 0755, files 0644 (0755 when executable), whatever the umask was."""
    top.chmod(0o755)
    for folder, dirs, files in os.walk(top):
        for name in dirs:
            Path(folder, name).chmod(0o755)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                executable = path.stat().st_mode & 0o100 or path.parent.name == "bin"
                path.chmod(0o755 if executable else 0o644)
