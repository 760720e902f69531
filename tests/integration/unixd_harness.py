"""Running hermit-unixd against a real hermit-idmd for the integration tests (its own tests are
``test_unixd_harness.py``; the directory it serves is made with ``directory.py``).

- ``run_unixd(server, **keys)``: hermit-unixd from ``contrib/harness/unixd_process.py`` with a
  temporary config, sockets and cache; ready when systemd's READY=1 arrives on a private
  NOTIFY_SOCKET (bounded wait) and, unless ``local_identities=False``, once it has the host's
  local identities (sent on the task socket as hermit-unixd-tasks would: unixd answers
  ``unavail`` until then, so this needs root, and the test skips without it); stopped by its
  own pid with SIGTERM, its exit code checked.
- ``send_local_identities(unixd, fields)``: one ``local_identities`` on the task socket.
- ``Unixd.call(op, **fields)`` speaks the client socket; ``Unixd.tool(*args)`` runs hermit-unix.
- ``restart_on_same_port``: bring a stopped ``own_idmd`` server back where unixd expects it.
- ``own_network_namespace()``: this thread, and every process it starts, in a fresh network
  namespace with only loopback; ``Firewall`` adds and removes nftables rules inside it, so a
  test can make idmd silently unreachable (a timeout, not a refused connection).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from contrib.harness import unixd_client
from contrib.harness.idmd_process import IdmdProcess
from contrib.harness.unixd_process import UnixdProcess, write_config
from hermit_common.framing import FrameDecoder, decode_payload, encode_frame
from tests.integration.idmd_server import IdmdServer, scratch_dir

BIN = Path(sys.executable).parent


@dataclass
class Unixd:
    process: UnixdProcess
    workdir: Path

    @property
    def proc(self) -> subprocess.Popen[str]:
        return self.process.proc

    @property
    def config(self) -> Path:
        assert self.process.config is not None  # run_unixd always writes one
        return self.process.config

    @property
    def stderr(self) -> str:
        """What unixd wrote on stderr (all of it once it has stopped)."""
        return self.process.stderr

    @property
    def socket_path(self) -> Path:
        return self.workdir / "sock"

    def connect(self) -> socket.socket:
        """A new connection to the client socket (the caller closes it)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(60)
            sock.connect(str(self.socket_path))
        except BaseException:
            sock.close()
            raise
        return sock

    def call(self, op: str, **fields: object) -> dict[str, object]:
        with self.connect() as sock:
            return _exchange(sock, {"v": 1, "op": op, **fields})

    def tool(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "hermit-unix"), "-c", str(self.config), *args],
                              input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)

    def login(self, name: str, password: str) -> dict[str, object]:
        """One PAM conversation on one connection: the final prompt."""
        with self.connect() as sock:
            init = _exchange(sock, {"v": 1, "op": "pam_auth_init", "name": name,
                                    "service": "login"})
            prompt = init["next"]
            assert isinstance(prompt, dict)
            if prompt["kind"] != "password":
                return prompt
            step = _exchange(sock, {"v": 1, "op": "pam_auth_step", "session": init["session"],
                                    "response": password})
            final = step["next"]
            assert isinstance(final, dict)
            return final

    def converse(self, name: str, answers: list[str]) -> list[dict[str, object]]:
        """One PAM conversation answering each prompt in turn: every prompt after the first
        (the password prompt), until one that is not a question."""
        prompts: list[dict[str, object]] = []
        with self.connect() as sock:
            init = _exchange(sock, {"v": 1, "op": "pam_auth_init", "name": name,
                                    "service": "login"})
            for answer in answers:
                step = _exchange(sock, {"v": 1, "op": "pam_auth_step",
                                        "session": init["session"], "response": answer})
                prompt = step["next"]
                assert isinstance(prompt, dict)
                prompts.append(prompt)
                if prompt["kind"] not in ("password", "code"):
                    break
        return prompts

    def server_state(self) -> str:
        for line in self.tool("status").stdout.splitlines():
            if line.startswith("server: "):
                return line.removeprefix("server: ")
        raise AssertionError("hermit-unix status printed no server line")


def _exchange(sock: socket.socket, request: dict[str, object]) -> dict[str, object]:
    sock.sendall(encode_frame(request, 65536))
    decoder = FrameDecoder(1 << 22)
    while True:
        frame = decoder.next_frame()
        if isinstance(frame, bytes):
            return decode_payload(frame)
        decoder.feed(sock.recv(65536))


def send_local_identities(unixd: Unixd, fields: Mapping[str, object]) -> None:
    """What hermit-unixd-tasks sends on connect: ``local_identities`` with ``fields``
    (``passwd``, ``group``, ...), as root on the task socket; what was sent stays in force
    after the connection closes (docs/protocol.md)."""
    unixd_client.send_local_identities(unixd.workdir / "task.sock", fields)


@contextmanager
def run_unixd(server: IdmdServer, *, env: Mapping[str, str] | None = None,
              local_identities: bool = True, **keys: object) -> Iterator[Unixd]:
    """``env`` is added to unixd's environment (e.g. ``DBUS_SYSTEM_BUS_ADDRESS``);
    ``local_identities=False`` leaves unixd waiting for them (no tasks daemon yet). A unixd
    still running at the end must stop with exit code 0 and no traceback."""
    if local_identities and os.geteuid() != 0:
        pytest.skip("unixd answers only once local identities arrive on its task socket, "
                    "which serves only root")
    with scratch_dir("hu-") as workdir:
        config = write_config(workdir, server.url, server.ca,
                              **{"connect_timeout": 1, "request_timeout": 3, **keys})
        unixd = Unixd(UnixdProcess.launch(config, env=env), workdir)
        try:
            if local_identities:
                unixd_client.send_host_identities(workdir / "task.sock")
            yield unixd
        finally:
            running = unixd.proc.poll() is None
            code = unixd.process.stop()
            if running:
                assert code == 0, unixd.stderr
                assert "Traceback" not in unixd.stderr, unixd.stderr


def restart_on_same_port(server: IdmdServer) -> IdmdProcess:
    """Start a stopped ``own_idmd`` server again on its old port (the caller stops it)."""
    port = server.url.rsplit(":", 1)[1]
    text = server.config.read_text().replace('bind_address = "127.0.0.1:0"',
                                             f'bind_address = "127.0.0.1:{port}"')
    server.config.write_text(text)
    return IdmdProcess.launch(server.workdir)


_CLONE_NEWNET = 0x40000000  # <sched.h>


@contextmanager
def own_network_namespace() -> Iterator[None]:
    """Move this thread into a new network namespace with only ``lo`` up, and back after.

    Namespaces are per thread in Linux: every process this thread starts (idmd, unixd,
    ``nft``) is inside, the rest of the test process is not. The namespace is never named or
    mounted, so it ends by itself once its last process has exited. Skips where the kernel or
    the privileges do not allow it (CI runs as root, where it must work).
    """
    if shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("needs ip (iproute2) and nft (nftables)")
    libc = ctypes.CDLL(None, use_errno=True)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.unshare(_CLONE_NEWNET) != 0:
            pytest.skip(f"cannot make a network namespace: {os.strerror(ctypes.get_errno())}")
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
            yield
        finally:
            if libc.setns(original, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "cannot return to the test's own network "
                                                  "namespace")
    finally:
        os.close(original)


class Firewall:
    """One nftables table in the current network namespace, dropping or refusing TCP to a
    port (both directions); only ever used inside ``own_network_namespace``."""

    TABLE = "hermit_test"

    def __init__(self, port: int) -> None:
        self.port = port

    def _nft(self, script: str) -> None:
        done = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True,
                              timeout=30, check=False)
        assert done.returncode == 0, done.stderr

    def drop(self) -> None:
        """Packets to and from the port vanish: connections and requests time out."""
        self._rules("drop")

    def refuse(self) -> None:
        """Connections to the port are refused at once (a TCP reset)."""
        self._rules("reject with tcp reset")

    def _rules(self, verdict: str) -> None:
        self.clear()
        self._nft(
            f"table inet {self.TABLE} {{\n"
            f"  chain output {{ type filter hook output priority 0; policy accept;\n"
            f"    tcp dport {self.port} {verdict}\n"
            f"    tcp sport {self.port} drop\n"
            f"  }}\n}}\n"
        )

    def clear(self) -> None:
        self._nft(f"table inet {self.TABLE} {{}}\ndelete table inet {self.TABLE}\n")
