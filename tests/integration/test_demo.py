"""``make demo`` (contrib/demo/demo.py) from start to finish: it succeeds, shows the lines a
newcomer should see (``id``'s uid line, the SSH login's ``pwd`` under ``/home/<uuid>``),
never prints a password, and leaves no directory, mount or process behind.

The demo runs in this process (its steps are subprocesses), so the test can see the secrets
it held and look for them in everything it printed.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from contrib.demo import demo as demo_module
from contrib.harness.runtime import as_nobody, everyone_runtime

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="make demo runs as root")

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class RecordingDemo(demo_module.Demo):
    """The demo's own class, keeping every instance for the assertions."""

    seen: list[demo_module.Demo] = []

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        RecordingDemo.seen.append(self)


def test_demo__runs_to_an_ssh_login_and_cleans_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo_module, "Demo", RecordingDemo)
    status = demo_module.main()
    out, err = capsys.readouterr()
    assert status == 0, err + out[-4000:]
    assert "every step succeeded" in out

    lines = [line.strip() for line in out.splitlines()]
    id_line = re.compile(r"uid=(\d+)\(alice\) gid=\1\(alice\) groups=\1\(alice\),\d+\(wonderland\)")
    # Once from `id alice` through NSS, once from `id` in alice's SSH session.
    assert sum(bool(id_line.fullmatch(line)) for line in lines) == 2, out
    homes = [line for line in lines if re.fullmatch(f"/home/{UUID}", line)]
    assert len(homes) == 1, out
    assert "HOME=/home/alice@example.com" in lines
    assert f"alice@example.com -> {homes[0]}" in out
    assert "pamtester: successfully authenticated" in lines
    assert "server: online" in lines

    demo = RecordingDemo.seen[-1]
    assert len(demo.secrets) == 2  # idm_admin's and alice's passwords
    for secret in demo.secrets:
        assert secret not in out and secret not in err
    assert "password: [secure]" in lines

    assert not demo.workdir.exists()
    mounts = subprocess.run(["findmnt", "-rn", "-o", "SOURCE"], capture_output=True,
                            text=True, check=True).stdout.split()
    assert not [source for source in mounts if source.startswith("hermit-")]
    assert demo.ns is not None and demo.ns.remaining() == []


def test_demo__without_root_says_so_and_exits_2() -> None:
    runtime = everyone_runtime()  # the clone may be out of nobody's reach (/root)
    done = subprocess.run(
        [*as_nobody(), str(runtime.bin / "python"), str(runtime.root / "contrib/demo/demo.py")],
        capture_output=True, text=True, timeout=60, check=False, cwd="/",
    )
    assert done.returncode == 2
    assert "must run as root" in done.stderr
    assert done.stdout == ""
