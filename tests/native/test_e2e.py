"""End to end: glibc's own NSS loader, Linux-PAM and OpenSSH use a real hermit-idmd through a
real hermit-unixd and the native modules.

One idmd and one unixd (``--allow-root``, a config in a private directory) serve the module.
Commands run in a private mount namespace (shared/testing recipes 01 and 03): a read-only
overlay puts ``libnss_hermit.so.2`` and ``security/pam_hermit.so`` into the real lib dir and
an edited ``nsswitch.conf`` (``files hermit``) and a private ``pam.d`` are bind-mounted, so
the host's configuration is never touched. The modules and the sshkeys helper are built with
``HERMIT_CONFIG_PATH`` pointing at unixd's own config file, as on a real host.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from idmd.framing import FrameDecoder, decode_payload, encode_frame
from tests.integration.conftest import IdmdServer, own_idmd, scratch_dir
from tests.native.conftest import build_native

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces"),
    pytest.mark.integration,
]

HERMIT_UNIXD = str(Path(sys.executable).parent / "hermit-unixd")
MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                           check=True).stdout.strip() or "x86_64-linux-gnu"
LIBDIR = f"/usr/lib/{MULTIARCH}"
READY_BOUND_SECONDS = 30
RUN_TIMEOUT_SECONDS = 60

# Inside the namespace: the overlay, nsswitch.conf and pam.d, then the command.
INNER = (
    'mount -t overlay hermit-e2e -o "lowerdir=$0/layer:' + LIBDIR + '" ' + LIBDIR + ' && '
    'mount --bind "$0/nsswitch.conf" /etc/nsswitch.conf && '
    'mount --bind "$0/pam.d" /etc/pam.d && exec "$@"'
)


@dataclass
class World:
    idmd: IdmdServer = field(repr=False)
    workdir: Path
    password: str = field(repr=False)
    uid: int = 0
    inner_gid: int = 0
    outer_gid: int = 0
    client_key: Path = Path()

    def run(self, *cmd: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """CMD inside a private mount namespace where glibc and PAM see the hermit modules."""
        return subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", INNER,
             str(self.workdir), *cmd],
            input=stdin, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )


def call_unixd(path: Path, request: dict[str, object]) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(encode_frame(request, 65536))
        decoder = FrameDecoder(1 << 22)
        while not isinstance(frame := decoder.next_frame(), bytes):
            decoder.feed(sock.recv(65536))
        return decode_payload(frame)


def wait_online(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + READY_BOUND_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, "hermit-unixd exited"
        try:
            if call_unixd(path, {"v": 1, "op": "status"}).get("server") == "online":
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("hermit-unixd did not come online")


def populate(idmd: IdmdServer, world: World) -> None:
    """ewan (POSIX, unix password, an SSH key) in e2e-inner, which is in e2e-outer."""
    token = idmd.login("idm_admin", idmd.idm_admin_password)
    with idmd.client(token) as client:
        def ok(response: object) -> dict[str, object]:
            assert getattr(response, "status_code", 0) < 300, getattr(response, "text", "")
            return response.json()  # type: ignore[attr-defined,no-any-return]

        ok(client.post("/v1/person", json={"name": "ewan", "displayname": "Ewan Test"}))
        person = ok(client.put("/v1/person/ewan/posix", json={}))["entry"]
        world.uid = person["posix"]["gidnumber"]  # type: ignore[index]
        ok(client.put("/v1/person/ewan/unix_password", json={"password": world.password}))
        pub = world.client_key.with_suffix(".pub").read_text().strip()
        ok(client.put("/v1/person/ewan/ssh_keys/e2e", json={"key": pub}))
        for group in ("e2e-inner", "e2e-outer"):
            ok(client.post("/v1/group", json={"name": group}))
            entry = ok(client.put(f"/v1/group/{group}/posix", json={}))["entry"]
            gid = entry["posix"]["gidnumber"]  # type: ignore[index]
            if group == "e2e-inner":
                world.inner_gid = gid
            else:
                world.outer_gid = gid
        ok(client.post("/v1/group/e2e-inner/members/add", json={"members": ["ewan"]}))
        ok(client.post("/v1/group/e2e-outer/members/add", json={"members": ["e2e-inner"]}))


def prepare_namespace_files(workdir: Path, build: Path) -> None:
    layer = workdir / "layer"
    (layer / "security").mkdir(parents=True)
    shutil.copy2(build / "libnss_hermit.so.2", layer)
    shutil.copy2(build / "pam_hermit.so", layer / "security")
    text = Path("/etc/nsswitch.conf").read_text()
    lines = []
    for line in text.splitlines():
        key = line.split(":", 1)[0].strip()
        if key in ("passwd", "group") and ":" in line:
            line = f"{key}: files hermit"
        lines.append(line)
    (workdir / "nsswitch.conf").write_text("\n".join(lines) + "\n")
    shutil.copytree("/etc/pam.d", workdir / "pam.d", symlinks=True)
    (workdir / "pam.d" / "hermit-e2e").write_text(
        "auth required pam_hermit.so\naccount required pam_hermit.so\n"
        "session required pam_permit.so\n"
    )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with scratch_dir("hermit-e2e-") as workdir:
        (workdir / "idmd").mkdir()
        with own_idmd(workdir / "idmd") as idmd:
            yield from serve_world(workdir, idmd)


def serve_world(workdir: Path, idmd: IdmdServer) -> Iterator[World]:
    """The data, unixd's config, the modules built for it, and unixd itself until the end."""
    workdir.chmod(0o755)  # sshd's helper user and dropped-privilege processes load from here
    world = World(idmd=idmd, workdir=workdir, password=secrets.token_urlsafe(18),
                  client_key=workdir / "client_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ewan@e2e",
                    "-f", str(world.client_key)], check=True)
    populate(idmd, world)
    config = workdir / "unixd.toml"
    config.write_text(
        f'uri = "{idmd.url}"\nca_path = "{idmd.ca}"\n'
        'allowed_login_groups = ["e2e-outer"]\n'
        f'socket_path = "{workdir}/sock"\ntask_socket_path = "{workdir}/task.sock"\n'
        f'cache_path = "{workdir}/cache/cache.db"\n'
    )
    config.chmod(0o644)
    build = workdir / "build"
    build_native(build, config, 5000, asan=False)
    prepare_namespace_files(workdir, build)
    proc = subprocess.Popen([HERMIT_UNIXD, "--allow-root", "-c", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_online(workdir / "sock", proc)
        yield world
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fields(line: str) -> list[str]:
    return line.rstrip("\n").split(":")


# NSS through glibc -------------------------------------------------------------------------


def test_getent_passwd__by_name_and_by_uid(world: World) -> None:
    by_name = world.run("getent", "passwd", "ewan")
    assert by_name.returncode == 0, by_name.stderr
    name, passwd, uid, gid, gecos, home, shell = fields(by_name.stdout)
    assert (name, passwd, int(uid), int(gid), gecos, shell) == (
        "ewan", "*", world.uid, world.uid, "Ewan Test", "/bin/bash")
    assert home.startswith("/home/")
    by_uid = world.run("getent", "passwd", str(world.uid))
    assert by_uid.stdout == by_name.stdout


def test_getent_passwd__unknown_name_is_exit_2(world: World) -> None:
    assert world.run("getent", "passwd", "nosuch-e2e").returncode == 2


def test_getent_group__nested_members(world: World) -> None:
    done = world.run("getent", "group", "e2e-outer", str(world.inner_gid))
    assert done.returncode == 0, done.stderr
    lines = sorted(fields(line) for line in done.stdout.splitlines())
    assert lines == sorted([["e2e-outer", "*", str(world.outer_gid), "ewan"],
                            ["e2e-inner", "*", str(world.inner_gid), "ewan"]])


def test_getent__enumeration(world: World) -> None:
    users = world.run("getent", "passwd")
    groups = world.run("getent", "group")
    assert any(fields(line)[0] == "ewan" for line in users.stdout.splitlines())
    assert any(fields(line)[0] == "root" for line in users.stdout.splitlines())
    names = {fields(line)[0] for line in groups.stdout.splitlines()}
    assert {"e2e-inner", "e2e-outer", "root"} <= names


def test_id__lists_nested_groups(world: World) -> None:
    done = world.run("id", "ewan")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"uid={world.uid}(ewan) gid={world.uid}(ewan) groups=")
    assert f"{world.inner_gid}(e2e-inner)" in done.stdout
    assert f"{world.outer_gid}(e2e-outer)" in done.stdout


def test_ls__shows_names(world: World) -> None:
    target = world.workdir / "owned"
    target.write_text("")
    os.chown(target, world.uid, world.inner_gid)
    done = world.run("ls", "-l", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[2:4] == ["ewan", "e2e-inner"]


def test_host__is_untouched(world: World) -> None:
    done = subprocess.run(["getent", "passwd", "ewan"], capture_output=True, check=False)
    assert done.returncode == 2


# PAM through unixd -------------------------------------------------------------------------


def test_pam__password_and_account_through_unixd(world: World) -> None:
    done = world.run("pamtester", "hermit-e2e", "ewan", "authenticate", "acct_mgmt",
                     stdin=world.password + "\n")
    assert done.returncode == 0, done.stderr


def test_pam__wrong_password_is_refused(world: World) -> None:
    done = world.run("pamtester", "hermit-e2e", "ewan", "authenticate", stdin="wrong-e2e\n")
    assert done.returncode == 1
    assert "Authentication failure" in done.stderr


# OpenSSH -----------------------------------------------------------------------------------

# Inside a mount + PID namespace: the same mounts, the helper's root-owned directory on /srv
# (sshd refuses an AuthorizedKeysCommand below /tmp, which others may write to), then sshd as
# PID 1 of the namespace, so everything it started dies with it.
INNER_SSHD = INNER.replace(' && exec "$@"', ' && mount --bind "$0/keysdir" /srv && exec "$@"')
SSH = ["ssh", "-n", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
       "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
       "-o", "LogLevel=ERROR"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + READY_BOUND_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, "sshd exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("sshd did not listen")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


@pytest.fixture(scope="module")
def sshd(world: World) -> Iterator[int]:
    """A private sshd on 127.0.0.1 that asks hermit-ssh-authorizedkeys for keys; its port."""
    workdir = world.workdir
    keysdir = workdir / "keysdir"
    keysdir.mkdir(mode=0o755, exist_ok=True)
    shutil.copy2(workdir / "build" / "hermit-ssh-authorizedkeys", keysdir)
    (workdir / "pam.d" / "sshd").write_text(
        "auth required pam_deny.so\naccount required pam_hermit.so\n"
        "session required pam_permit.so\n"
    )
    if not (workdir / "host_key").exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(workdir / "host_key")], check=True)
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {workdir}/host_key\n"
        f"PidFile {workdir}/sshd.pid\nUsePAM yes\nPubkeyAuthentication yes\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n"
        "AuthorizedKeysFile none\n"
        "AuthorizedKeysCommand /srv/hermit-ssh-authorizedkeys %u\n"
        "AuthorizedKeysCommandUser nobody\nStrictModes yes\nPrintMotd no\n"
    )
    made_run_sshd = not Path("/run/sshd").exists()
    if made_run_sshd:
        Path("/run/sshd").mkdir(mode=0o755)
    proc = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "--pid", "--fork", "--kill-child=KILL",
         "sh", "-c", INNER_SSHD, str(workdir), "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        wait_listening(port, proc)
        yield port
    finally:
        # unshare --fork ignores SIGTERM while it waits: stop its child, sshd, by pid.
        for child in children(proc.pid):
            os.kill(child, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if made_run_sshd:
            Path("/run/sshd").rmdir()


def test_sshd__key_login_as_a_directory_user(world: World, sshd: int) -> None:
    done = subprocess.run([*SSH, "-p", str(sshd), "-i", str(world.client_key),
                           "ewan@127.0.0.1", "id"],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"uid={world.uid}(ewan) gid={world.uid}(ewan) groups=")
    assert f"{world.outer_gid}(e2e-outer)" in done.stdout


def test_sshd__a_key_not_on_the_account_is_refused(world: World, sshd: int) -> None:
    other = world.workdir / "other_key"
    if not other.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
                       check=True)
    done = subprocess.run([*SSH, "-p", str(sshd), "-i", str(other), "ewan@127.0.0.1", "id"],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                          check=False)
    assert done.returncode == 255
    assert done.stdout == ""
