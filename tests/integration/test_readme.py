"""README.md's "A first server by hand" works as written (readme_walkthrough.py runs it in a
mount and network namespace of its own): the CA path it exports is where cert-generate wrote
the CA, and alice logs in before she enrols a TOTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                       reason="needs root and ip for mount and network namespaces"),
    pytest.mark.integration,
]


def test_readme__a_first_server_by_hand_runs_as_written() -> None:
    done = subprocess.run(
        ["unshare", "-m", "-n", "--propagation", "private", sys.executable, "-m",
         "tests.integration.readme_walkthrough"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
        env={**os.environ, "HERMIT_README_INSIDE": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["failure"] is None, result
    ran = result["ran"]
    assert ("export HERMIT_URL=https://127.0.0.1:8443 "
            "HERMIT_CA=/var/lib/hermit-idmd/tls/ca.pem") in ran
    # alice's own block: the token, then her login, then the TOTP.
    alice = [line for line in ran if line.startswith("hermit ")]
    assert [line.split()[1:3] for line in alice] == [
        ["credential", "use-reset-token"], ["login", "--name"], ["person", "credential"]]
