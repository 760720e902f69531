"""The hermit-unixd process: --configtest, refusing root without --allow-root, READY=1 to
systemd only once both sockets listen, and a clean exit on SIGTERM that removes them.

idmd is not needed: unixd starts offline when nothing answers at ``uri``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from contrib.harness.unixd_client import call_unixd

HERMIT_UNIXD = str(Path(sys.executable).parent / "hermit-unixd")


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hu-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_config(workdir: Path) -> Path:
    # A CA file is needed to start; any valid PEM certificate will do for an unreachable uri.
    ca = workdir / "ca.pem"
    ca.write_text(Path(_any_ca()).read_text())
    config = workdir / "unixd.toml"
    config.write_text(
        'uri = "https://127.0.0.1:9"\n'
        f'ca_path = "{ca}"\n'
        "connect_timeout = 0.5\nrequest_timeout = 1\n"
        f'socket_path = "{workdir}/sock"\n'
        f'task_socket_path = "{workdir}/task.sock"\n'
        f'cache_path = "{workdir}/cache/cache.db"\n'
    )
    return config


def _any_ca() -> str:
    import certifi  # shipped with httpx

    return str(certifi.where())


def test_unixd__configtest_prints_the_values_in_force(workdir: Path) -> None:
    config = write_config(workdir)
    done = subprocess.run([HERMIT_UNIXD, "--configtest", "-c", str(config)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert 'uri = "https://127.0.0.1:9"' in done.stdout
    assert "cache_timeout = 300" in done.stdout


def test_unixd__a_bad_config_names_the_key_and_exits_2(workdir: Path) -> None:
    config = workdir / "unixd.toml"
    config.write_text('uri = "https://x"\ncolour = "blue"\n')
    done = subprocess.run([HERMIT_UNIXD, "-c", str(config), "--allow-root"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "'colour'" in done.stderr and str(config) in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the root check needs root")
def test_unixd__refuses_to_run_as_root_without_allow_root(workdir: Path) -> None:
    done = subprocess.run([HERMIT_UNIXD, "-c", str(write_config(workdir))],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "refusing to run as root" in done.stderr
    assert not (workdir / "sock").exists()


def test_unixd__ready_after_binding_then_sigterm_exits_cleanly(workdir: Path) -> None:
    config = write_config(workdir)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(workdir / "notify"))
    notify.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(workdir / "notify")}
    proc = subprocess.Popen([HERMIT_UNIXD, "--allow-root", "-c", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert notify.recv(4096) == b"READY=1"
        # Both sockets exist, with their modes, at READY.
        assert (workdir / "sock").stat().st_mode & 0o777 == 0o666
        assert (workdir / "task.sock").stat().st_mode & 0o777 == 0o600
        reply = call_unixd(workdir / "sock", {"v": 1, "op": "status"})
        assert reply["server"] == "offline"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert notify.recv(4096) == b"STOPPING=1"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
    assert not (workdir / "sock").exists()
    assert not (workdir / "task.sock").exists()
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_imports__unixd_loads_argon2_only_for_a_password() -> None:
    # cryptography's Rust extension is ~7 MiB resident; a host logging in with SSH keys only
    # never needs it (docs/unixd.md, "Memory").
    code = (
        "import sys, unixd.server, unixd.resolver.cache as c\n"
        "assert 'cryptography.hazmat.primitives.kdf.argon2' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
