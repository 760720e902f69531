"""The host side never loads the server: every module of unixd and hermit_common, and the
three host programs' entry points, import no module of idmd (each check in a fresh
interpreter, so what another test imported cannot hide or fake a load)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Walk a package, import every module in it, then print the idmd modules that got loaded.
WALK = """
import importlib, pkgutil, sys
for name in {packages!r}:
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(module.name)
print(sorted(m for m in sys.modules if m.split(".")[0] in {forbidden!r}))
"""

# Run an entry point with --help as the console script would, then print the same.
ENTRY = """
import importlib, sys
sys.argv = [{program!r}, "--help"]
main = getattr(importlib.import_module({module!r}), "main")
try:
    main()
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.split(".")[0] == "idmd"), file=sys.stderr)
"""


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_imports__no_module_of_unixd_or_hermit_common_loads_idmd() -> None:
    done = run_python(WALK.format(packages=("unixd", "hermit_common"), forbidden=("idmd",)))
    assert done.stdout.strip() == "[]"


def test_imports__hermit_common_loads_neither_unixd_nor_cryptography_nor_systemd() -> None:
    # hermit_common is stdlib and trio only when imported; argon2id and service load
    # cryptography and systemd only when called.
    done = run_python(WALK.format(packages=("hermit_common",),
                                  forbidden=("idmd", "unixd", "cryptography", "systemd")))
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("program", "module"), [
    ("hermit-unix", "unixd.tool"),
    ("hermit-unixd", "unixd.main"),
    ("hermit-unixd-tasks", "unixd.tasks.main"),
])
def test_imports__host_programs_load_no_idmd(program: str, module: str) -> None:
    done = run_python(ENTRY.format(program=program, module=module))
    assert "usage:" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_imports__the_walk_sees_a_forbidden_import() -> None:
    # The check itself can fail: the walk reports the modules it loaded when they are forbidden.
    done = run_python(WALK.format(packages=("hermit_common",), forbidden=("hermit_common",)))
    assert "hermit_common.framing" in done.stdout
