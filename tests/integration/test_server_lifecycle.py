"""hermit-idmd under a service manager: READY=1 only once serving, clean SIGTERM, log lines."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contrib.harness.idmd_process import write_config
from tests.integration.idmd_server import HERMIT_IDMD, run_idmd, scratch_dir

NOTIFY_TIMEOUT_S = 30


@pytest.fixture
def workdir() -> Iterator[Path]:
    with scratch_dir("hermit-life-") as path:
        assert run_idmd(write_config(path), "cert-generate").returncode == 0
        yield path


def test_server__notifies_ready_only_when_serving_and_stops_cleanly(workdir: Path) -> None:
    notify_path = workdir / "notify.sock"
    log_path = workdir / "server.log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify, log_path.open("w") as log:
        notify.bind(str(notify_path))
        notify.settimeout(NOTIFY_TIMEOUT_S)
        proc = subprocess.Popen(
            [str(HERMIT_IDMD), "server", "-c", str(workdir / "server.toml")],
            stdout=subprocess.DEVNULL, stderr=log,
            env={**os.environ, "NOTIFY_SOCKET": str(notify_path)},
        )
        try:
            assert notify.recv(4096) == b"READY=1"
            # No polling: at READY=1 both listeners must already answer.
            lines = log_path.read_text().splitlines()
            listening = [line for line in lines if " listening on https://" in line]
            assert listening == [listening[0]]
            assert listening[0].startswith("INFO idmd.serve: listening on https://127.0.0.1:")
            url = listening[0].rsplit(" ", 1)[1]
            context = ssl.create_default_context(cafile=str(workdir / "tls" / "ca.pem"))
            assert httpx.get(f"{url}/status", verify=context).json() == {"status": "ok"}
            assert run_idmd(workdir / "server.toml", "verify").returncode == 0

            os.kill(proc.pid, signal.SIGTERM)
            assert notify.recv(4096) == b"STOPPING=1"
            assert proc.wait(timeout=NOTIFY_TIMEOUT_S) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lines = log_path.read_text().splitlines()
    assert "INFO idmd.serve: SIGTERM: shutting down" in lines
    assert lines[-1] == "INFO idmd.serve: database closed"
    assert not (workdir / "admin.sock").exists()


def test_server__two_servers_on_one_database_are_refused(workdir: Path) -> None:
    config = workdir / "server.toml"
    first = subprocess.Popen([str(HERMIT_IDMD), "server", "-c", str(config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stderr is not None
        for line in first.stderr:
            if "listening on" in line:
                break
        second = run_idmd(config, "server")
        assert second.returncode == 1
        assert "in use by another" in second.stderr
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=NOTIFY_TIMEOUT_S)
