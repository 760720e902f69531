"""A real hermit-idmd process for benchmarks, the demo and the integration tests.

Owns: writing a server.toml into a work directory, ``cert-generate``, starting
``hermit-idmd server`` on 127.0.0.1 port 0, learning the port from its ``listening on`` log
line, waiting until ``GET /status`` answers over TLS pinned to the generated CA, recovering the
``idm_admin`` password, and stopping the process by its own pid. It never binds anything but
loopback and never leaves the process running.
"""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 30.0
_LISTENING = re.compile(r"listening on https://([0-9.]+):(\d+)")


def write_config(workdir: Path, domain: str = "example.com", *, port: int = 0,
                 origin: str = "https://localhost:8443") -> Path:
    """``port`` 0 lets the server pick; a browser needs ``origin`` to name the port it serves."""
    config = workdir / "server.toml"
    config.write_text(
        f'bind_address = "127.0.0.1:{port}"\n'
        f'tls_chain = "{workdir}/tls/chain.pem"\n'
        f'tls_key = "{workdir}/tls/key.pem"\n'
        f'db_path = "{workdir}/hermit.db"\n'
        f'domain = "{domain}"\n'
        f'origin = "{origin}"\n'
        f'admin_socket_path = "{workdir}/admin.sock"\n'
        f'log_level = "info"\n'
    )
    return config


class IdmdProcess:
    """A running hermit-idmd. Use ``IdmdProcess.start(workdir)`` as a context manager."""

    def __init__(self, workdir: Path, proc: subprocess.Popen[str], url: str, started: float):
        self.workdir = workdir
        self.config = workdir / "server.toml"
        self.ca_path = workdir / "tls" / "ca.pem"
        self.proc = proc
        self.pid = proc.pid
        self.url = url
        self.startup_seconds = started
        self.log_lines: list[str] = []
        self.idm_admin_password = ""

    @classmethod
    @contextmanager
    def start(cls, workdir: Path, *, fresh: bool = True, port: int = 0,
              origin: str = "https://localhost:8443") -> Iterator[IdmdProcess]:
        if fresh:
            write_config(workdir, port=port, origin=origin)
            run_idmd(workdir / "server.toml", "cert-generate")
        server = cls.launch(workdir)
        try:
            server.idm_admin_password = server.recover("idm_admin")
            yield server
        finally:
            server.stop()

    @classmethod
    def launch(cls, workdir: Path) -> IdmdProcess:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(BIN / "hermit-idmd"), "server", "-c", str(workdir / "server.toml")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        assert proc.stderr is not None
        lines: list[str] = []
        url = ""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not url:
            line = proc.stderr.readline()
            if not line:
                proc.wait()
                raise RuntimeError("hermit-idmd exited before listening:\n" + "".join(lines))
            lines.append(line)
            match = _LISTENING.search(line)
            if match:
                url = f"https://{match.group(1)}:{match.group(2)}"
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("hermit-idmd did not start listening in time")
        server = cls(workdir, proc, url, 0.0)
        server.log_lines = lines
        # Keep draining stderr so the server never blocks on a full pipe.
        threading.Thread(target=server._drain, daemon=True).start()
        server.wait_ready(deadline)
        server.startup_seconds = time.perf_counter() - started
        return server

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log_lines.append(line)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    def wait_ready(self, deadline: float) -> None:
        while True:
            try:
                response = httpx.get(f"{self.url}/status", verify=self.ssl_context(), timeout=2)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("hermit-idmd did not answer /status in time")
            time.sleep(0.02)

    def recover(self, name: str) -> str:
        output = run_idmd(self.config, "recover-account", name)
        for line in output.splitlines():
            if line.startswith("password: "):
                return line.removeprefix("password: ")
        raise RuntimeError("recover-account printed no password line")

    def login(self, name: str, password: str | None) -> str:
        with httpx.Client(base_url=self.url, verify=self.ssl_context()) as client:
            return _login_flow_sync(client, name, password)

    async def login_async(self, name: str, password: str | None) -> str:
        async with httpx.AsyncClient(base_url=self.url, verify=self.ssl_context()) as client:
            begin = await client.post("/v1/auth/begin", json={"name": name})
            begin.raise_for_status()
            step = await client.post(
                "/v1/auth/step", json=_step_body(password), headers=_session_of(begin)
            )
            return _token_of(step, name)

    async def set_password_async(self, name: str) -> str:
        """Give ``name`` a fresh random password through the REST API; return it."""
        password = "bench-" + os.urandom(12).hex()
        token = await self.login_async("idm_admin", self.idm_admin_password)
        async with httpx.AsyncClient(base_url=self.url, verify=self.ssl_context()) as client:
            response = await client.put(
                f"/v1/person/{name}/password", json={"password": password},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
        return password

    def rss_bytes(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()


def _login_flow_sync(client: httpx.Client, name: str, password: str | None) -> str:
    begin = client.post("/v1/auth/begin", json={"name": name})
    begin.raise_for_status()
    step = client.post("/v1/auth/step", json=_step_body(password), headers=_session_of(begin))
    return _token_of(step, name)


def _session_of(begin: httpx.Response) -> dict[str, str]:
    return {"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]}


def _step_body(password: str | None) -> dict[str, object]:
    """The one step of the flow: anonymous without a password, else the password."""
    if password is None:
        return {"method": "anonymous"}
    return {"method": "password", "password": password}


def _token_of(step: httpx.Response, name: str) -> str:
    step.raise_for_status()
    reply = step.json()
    if reply.get("state") != "success":
        raise RuntimeError(f"login of {name} was {reply.get('state')}")
    return str(reply["token"])


def run_idmd(config: Path, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "hermit-idmd"), *args, "-c", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"hermit-idmd {args[0]} failed: {result.stderr.strip()}")
    return result.stdout
