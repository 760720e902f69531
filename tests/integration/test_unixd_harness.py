"""Running hermit-unixd against a real hermit-idmd for the integration tests, and its own tests.

- ``Directory``: people, groups, POSIX data, unix passwords, SSH keys and validity made
  through idmd's REST API as idm_admin; names are unique per test and every entry made is
  deleted afterwards.
- ``run_unixd(server, workdir, **keys)``: hermit-unixd as a subprocess (``--allow-root``) with
  a temporary config, sockets and cache; ready when systemd's READY=1 arrives on a private
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
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contrib.harness import unixd_client
from contrib.harness.idmd_process import IdmdProcess
from hermit_common.framing import FrameDecoder, decode_payload, encode_frame
from tests.integration.conftest import IdmdServer, scratch_dir
from unixd.resolver.pam import LOCKED

BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 30.0
# idmd's longest softlock delay (limits.SOFTLOCK_MAX_DELAY_SECONDS) and some.
LOCKOUT_BOUND_S = 70.0


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def new_password() -> str:
    return "pw-" + secrets.token_hex(12)


def ssh_public_key(comment: str) -> str:
    public = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode()} {comment}"


@dataclass
class Directory:
    """idmd's REST API as idm_admin, remembering what it made."""

    client: httpx.Client
    made: list[str] = field(default_factory=list)

    def _ok(self, response: httpx.Response) -> dict[str, object]:
        assert response.status_code == 200, f"{response.request.url}: {response.text}"
        body = response.json()
        assert isinstance(body, dict)
        return body

    def person(self, name: str, *, password: str | None = None, key: str | None = None,
               shell: str | None = None) -> dict[str, object]:
        self._ok(self.client.post("/v1/person", json={"name": name,
                                                      "displayname": name.title()}))
        self.made.append(f"/v1/person/{name}")
        posix: dict[str, object] = {"loginshell": shell} if shell else {}
        entry = self._ok(self.client.put(f"/v1/person/{name}/posix", json=posix))["entry"]
        if password is not None:
            self.set_password(name, password)
        if key is not None:
            self._ok(self.client.put(f"/v1/person/{name}/ssh_keys/laptop", json={"key": key}))
        assert isinstance(entry, dict)
        return entry

    def enrol_unix_totp(self, name: str) -> pyotp.TOTP:
        """A unix TOTP on ``name`` through a credential update session (what ``hermit person
        credential totp add --unix`` does), confirmed with the previous step's code so the
        current one is unused; the person's app."""
        begun = self._ok(self.client.post(f"/v1/person/{name}/credential/update", json={}))
        session = begun["session"]
        shown = self._ok(self.client.post("/v1/credential/update/totp/begin",
                                          json={"session": session, "label": "phone",
                                                "unix": True}))
        app = pyotp.parse_uri(str(shown["uri"]))
        assert isinstance(app, pyotp.TOTP)
        self._ok(self.client.post("/v1/credential/update/totp/confirm",
                                  json={"session": session,
                                        "code": app.at(time.time() - app.interval)}))
        self._ok(self.client.post("/v1/credential/update/commit", json={"session": session}))
        return app

    def set_password(self, name: str, password: str) -> None:
        self._ok(self.client.put(f"/v1/person/{name}/unix_password",
                                 json={"password": password}))

    def group(self, name: str, *members: str) -> None:
        self._ok(self.client.post("/v1/group", json={"name": name}))
        self.made.append(f"/v1/group/{name}")
        self._ok(self.client.put(f"/v1/group/{name}/posix", json={}))
        if members:
            self.add_members(name, *members)

    def add_members(self, group: str, *members: str) -> None:
        self._ok(self.client.post(f"/v1/group/{group}/members/add",
                                  json={"members": list(members)}))

    def expire(self, name: str, when: str | None) -> None:
        self._ok(self.client.patch(f"/v1/person/{name}", json={"expire_at": when}))

    def delete(self, path: str) -> None:
        self._ok(self.client.delete(path))

    def clean_up(self) -> None:
        for path in reversed(self.made):
            self.client.delete(path)


@contextmanager
def directory(server: IdmdServer, *, clean_up: bool = True) -> Iterator[Directory]:
    """``clean_up=False`` for a server of the test's own, which goes away with its data."""
    token = server.login("idm_admin", server.idm_admin_password)
    with server.client(token) as client:
        made = Directory(client)
        try:
            yield made
        finally:
            if clean_up:
                made.clean_up()


@dataclass
class Unixd:
    proc: subprocess.Popen[str]
    workdir: Path
    config: Path
    # What unixd wrote on stderr, filled in once it has stopped.
    stderr: str = ""

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

    def login_past_lockout(self, name: str, password: str) -> dict[str, object]:
        """``login``, again while idmd's softlock delays the account's unix password after an
        earlier failure (a doubling wait of at most 60 s; a locked check counts nothing)."""
        deadline = time.monotonic() + LOCKOUT_BOUND_S
        while True:
            final = self.login(name, password)
            if final.get("reason") != LOCKED or time.monotonic() > deadline:
                return final
            time.sleep(0.2)

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


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return f'"{value}"'


def send_local_identities(unixd: Unixd, fields: Mapping[str, object]) -> None:
    """What hermit-unixd-tasks sends on connect: ``local_identities`` with ``fields``
    (``passwd``, ``group``, ...), as root on the task socket; what was sent stays in force
    after the connection closes (docs/protocol.md)."""
    unixd_client.send_local_identities(unixd.workdir / "task.sock", fields)


@contextmanager
def run_unixd(server: IdmdServer, *, env: Mapping[str, str] | None = None,
              local_identities: bool = True, **keys: object) -> Iterator[Unixd]:
    """``env`` is added to unixd's environment (e.g. ``DBUS_SYSTEM_BUS_ADDRESS``);
    ``local_identities=False`` leaves unixd waiting for them (no tasks daemon yet)."""
    if local_identities and os.geteuid() != 0:
        pytest.skip("unixd answers only once local identities arrive on its task socket, "
                    "which serves only root")
    with scratch_dir("hu-") as workdir:
        values: dict[str, object] = {
            "uri": server.url, "ca_path": str(server.ca),
            "socket_path": f"{workdir}/sock", "task_socket_path": f"{workdir}/task.sock",
            "cache_path": f"{workdir}/cache/cache.db", "connect_timeout": 1,
            "request_timeout": 3, **keys,
        }
        config = workdir / "unixd.toml"
        config.write_text("".join(f"{key} = {_toml(value)}\n" for key, value in values.items()))
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(workdir / "notify"))
        notify.settimeout(READY_TIMEOUT_S)
        env = {**os.environ, **(env or {}), "NOTIFY_SOCKET": str(workdir / "notify")}
        proc = subprocess.Popen(
            [str(BIN / "hermit-unixd"), "--allow-root", "-c", str(config)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        unixd = Unixd(proc, workdir, config)
        try:
            assert notify.recv(64) == b"READY=1"
            if local_identities:
                unixd_client.send_host_identities(workdir / "task.sock")
            yield unixd
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    code = proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise
                stderr = unixd.stderr = proc.stderr.read() if proc.stderr else ""
                assert code == 0, stderr
                assert "Traceback" not in stderr, stderr
            notify.close()


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


# The harness's own tests --------------------------------------------------------------


def test_run_unixd__answers_status_and_stops_cleanly(idmd: IdmdServer) -> None:
    with run_unixd(idmd) as unixd:
        assert unixd.server_state() == "online"
        pid = unixd.proc.pid
    assert unixd.proc.returncode == 0
    assert not Path(f"/proc/{pid}").exists() or unixd.proc.poll() is not None


def test_directory__cleans_up_what_it_made(idmd: IdmdServer) -> None:
    name = unique("h")
    with directory(idmd) as made:
        made.person(name)
    with idmd.client(idmd.login("idm_admin", idmd.idm_admin_password)) as client:
        assert client.get(f"/v1/person/{name}").status_code == 404
