"""The end-to-end harness of tests/native: a real hermit-idmd, hermit-unixd and
hermit-unixd-tasks, the native modules built for them, and commands that see them through
glibc's own NSS loader, Linux-PAM and OpenSSH.

One world per test module (``world_of``): an idmd of its own with four directory people, a
unixd (``--allow-root``) whose config lives in the world's private directory, and, when asked,
the tasks daemon. Commands run in private mount namespaces (shared/testing recipes 01 and 03)
that all see the same bind mounts, so the host's configuration is never touched:

- a read-only overlay puts ``libnss_hermit.so.2`` and ``security/pam_hermit.so`` into the real
  lib dir;
- ``nsswitch.conf`` (``files hermit``), ``pam.d`` (a copy of the host's plus hermit's
  services), ``/etc/passwd`` and ``/etc/group`` (the host's plus one local user, ``lotte``,
  who is also a directory user) are bound over the real ones;
- ``/home`` is the world's ``home`` directory (root's, 0755), where the tasks daemon creates
  ``/home/<uuid>`` and its alias ``/home/<spn>``;
- ``/srv`` holds ``hermit-ssh-authorizedkeys`` (sshd refuses a helper below /tmp);
- ``/var/log`` is the world's ``log`` directory, so sshd's login records (``btmp`` for failed
  password logins, ``wtmp``, ``lastlog``) never reach the machine's.

The modules and the helper are built with ``HERMIT_CONFIG_PATH`` pointing at unixd's own
config file, as on a real host. The people:

| name | in an allowed group | unix password | SSH key | else |
|---|---|---|---|---|
| ewan | yes (e2e-inner, nested in e2e-outer) | yes | yes | |
| olga | no | yes | yes | |
| exa | yes | yes | no | expired |
| lotte | yes | no | yes | also a local user (uid 59123): local wins |
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from contrib.harness.host_namespace import children, with_sources
from contrib.harness.unixd_client import call_unixd
from contrib.harness.unixd_process import UnixdProcess, write_config
from contrib.harness.waiting import wait_until
from tests.integration.idmd_server import IdmdServer, own_idmd, scratch_dir
from tests.native.native_build import build_native

BIN = Path(sys.executable).parent
MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                           check=True).stdout.strip() or "x86_64-linux-gnu"
LIBDIR = f"/usr/lib/{MULTIARCH}"
RUN_TIMEOUT_SECONDS = 60
# The modules of a world wait this long for unixd (the production NSS deadline).
DEADLINE_MS = 5000
DOMAIN = "example.com"
ALLOWED_GROUP = "e2e-outer"
LOCAL_UID = 59123

# Inside a namespace: every bind mount of the module docstring, then the command.
INNER = (
    'set -e; d="$0"; '
    'mount -t overlay hermit-e2e -o "lowerdir=$d/layer:' + LIBDIR + '" ' + LIBDIR + '; '
    'mount --bind "$d/nsswitch.conf" /etc/nsswitch.conf; '
    'mount --bind "$d/pam.d" /etc/pam.d; '
    'mount --bind "$d/etc/passwd" /etc/passwd; '
    'mount --bind "$d/etc/group" /etc/group; '
    'mount --bind "$d/home" /home; '
    'mount --bind "$d/keysdir" /srv; '
    'mount --bind "$d/log" /var/log; '
    'exec "$@"'
)

# hermit's PAM services in the namespace's pam.d.
PAM_SERVICES = {
    "hermit-e2e": (
        "auth required pam_hermit.so\n"
        "account required pam_hermit.so\n"
        "session required pam_hermit.so\n"
    ),
    # An unknown user stops the stack here ...
    "hermit-e2e-strict": (
        "auth requisite pam_hermit.so\n"
        "auth optional pam_echo.so fell through to the next module\n"
        "auth required pam_deny.so\n"
    ),
    # ... or, with ignore_unknown_user, lets the next module decide.
    "hermit-e2e-ignore": (
        "auth requisite pam_hermit.so ignore_unknown_user\n"
        "auth optional pam_echo.so fell through to the next module\n"
        "auth required pam_deny.so\n"
    ),
    # sshd's service: the shape of packaging/pam-configs/hermit (local users go to pam_unix).
    "sshd": (
        "auth required pam_hermit.so\n"
        "account [default=bad success=ok user_unknown=ignore authinfo_unavail=ignore]"
        " pam_hermit.so\n"
        "account required pam_unix.so\n"
        "session required pam_hermit.so\n"
        "session required pam_permit.so\n"
    ),
}


@dataclass
class Account:
    name: str
    uid: int = 0
    uuid: str = ""
    key: Path | None = None

    @property
    def spn(self) -> str:
        return f"{self.name}@{DOMAIN}"


def stop_process(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to a process this harness started, SIGKILL if it does not go."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Unixd:
    """hermit-unixd of a world; it can be killed and started again on the same cache."""

    config: Path
    socket: Path
    process: UnixdProcess | None = None

    def start(self) -> None:
        """Start unixd (``contrib/harness/unixd_process.py``); back once it sent READY=1."""
        self.process = UnixdProcess.launch(self.config)

    @property
    def proc(self) -> subprocess.Popen[str] | None:
        return self.process.proc if self.process is not None else None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def call(self, op: str, **fields: object) -> dict[str, object]:
        return call_unixd(self.socket, {"op": op, **fields})

    def wait_answering(self, server: str = "online", *, local_identities: bool = False) -> None:
        """Until unixd answers ``status`` with ``server`` (``online`` or ``offline``) and,
        with ``local_identities``, says it has them (a connected tasks daemon sent them)."""
        def answering() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "hermit-unixd exited"
            try:
                status = self.call("status")
            except OSError:
                return False
            return status.get("server") == server and (
                not local_identities or status.get("local_identities") == "received")
        wait_until(answering, f"hermit-unixd to answer, {server}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@dataclass
class World:
    idmd: IdmdServer = field(repr=False)
    workdir: Path
    unixd: Unixd
    password: str = field(repr=False)
    accounts: dict[str, Account] = field(default_factory=dict)
    inner_gid: int = 0
    outer_gid: int = 0

    @property
    def ewan(self) -> Account:
        return self.accounts["ewan"]

    @property
    def home(self) -> Path:
        """What the namespaces see as /home."""
        return self.workdir / "home"

    def namespace(self, *cmd: str, pid: bool = False) -> list[str]:
        """The argv of CMD in a private mount namespace (and PID namespace when ``pid``)."""
        fork = ["--pid", "--fork", "--kill-child=KILL"] if pid else []
        return ["unshare", "-m", "--propagation", "private", *fork, "sh", "-c", INNER,
                str(self.workdir), *cmd]

    def run(self, *cmd: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """CMD inside a private mount namespace where glibc and PAM see the hermit modules."""
        return subprocess.run(self.namespace(*cmd), input=stdin, capture_output=True,
                              text=True, timeout=RUN_TIMEOUT_SECONDS, check=False)

    def start_tasks(self) -> subprocess.Popen[str]:
        """hermit-unixd-tasks in a namespace of this world, so it sends the world's
        /etc/passwd and /etc/group (the caller stops it with ``stop_process``)."""
        # unshare execs sh, which execs the daemon: the Popen's pid is the daemon's.
        return subprocess.Popen(
            self.namespace(str(BIN / "hermit-unixd-tasks"), "-c", str(self.unixd.config)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)

    def unlock(self, name: str) -> None:
        """An admin lifts the softlocks idmd put on ``name``'s credentials after failures
        (``hermit person credential unlock``), so a test's wrong password does not slow the
        next test's login."""
        token = self.idmd.login("idm_admin", self.idmd.idm_admin_password)
        with self.idmd.client(token) as client:
            done = client.post(f"/v1/person/{name}/credential/unlock", json={})
            assert done.status_code == 200, done.text


def populate(idmd: IdmdServer, world: World) -> None:
    """The people of the module docstring, e2e-inner in e2e-outer."""
    token = idmd.login("idm_admin", idmd.idm_admin_password)
    with idmd.client(token) as client:
        def ok(response: object) -> dict[str, object]:
            assert getattr(response, "status_code", 0) < 300, getattr(response, "text", "")
            return response.json()  # type: ignore[attr-defined,no-any-return]

        for group in ("e2e-inner", "e2e-outer"):
            ok(client.post("/v1/group", json={"name": group}))
            entry = ok(client.put(f"/v1/group/{group}/posix", json={}))["entry"]
            gid = entry["posix"]["gidnumber"]  # type: ignore[index]
            if group == "e2e-inner":
                world.inner_gid = gid
            else:
                world.outer_gid = gid
        ok(client.post("/v1/group/e2e-outer/members/add", json={"members": ["e2e-inner"]}))
        for name, display, password, key in (("ewan", "Ewan Test", True, True),
                                             ("olga", "Olga Outside", True, True),
                                             ("exa", "Exa Expired", True, False),
                                             ("lotte", "Lotte Directory", False, True)):
            account = Account(name)
            ok(client.post("/v1/person", json={"name": name, "displayname": display}))
            person = ok(client.put(f"/v1/person/{name}/posix", json={}))["entry"]
            account.uid = person["posix"]["gidnumber"]  # type: ignore[index]
            account.uuid = str(person["uuid"])  # type: ignore[index]
            if password:
                ok(client.put(f"/v1/person/{name}/unix_password",
                              json={"password": world.password}))
            if key:
                account.key = world.workdir / f"key-{name}"
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                f"{name}@e2e", "-f", str(account.key)], check=True)
                pub = account.key.with_suffix(".pub").read_text().strip()
                ok(client.put(f"/v1/person/{name}/ssh_keys/e2e", json={"key": pub}))
            if name != "olga":
                ok(client.post("/v1/group/e2e-inner/members/add", json={"members": [name]}))
            world.accounts[name] = account
        ok(client.patch("/v1/person/exa", json={"expire_at": "2020-01-01T00:00:00Z"}))


def prepare_namespace_files(workdir: Path, build: Path) -> None:
    layer = workdir / "layer"
    (layer / "security").mkdir(parents=True)
    shutil.copy2(build / "libnss_hermit.so.2", layer)
    shutil.copy2(build / "pam_hermit.so", layer / "security")
    (workdir / "nsswitch.conf").write_text(
        with_sources(Path("/etc/nsswitch.conf").read_text(), "files hermit"))
    shutil.copytree("/etc/pam.d", workdir / "pam.d", symlinks=True)
    for service, text in PAM_SERVICES.items():
        (workdir / "pam.d" / service).write_text(text)
    etc = workdir / "etc"
    etc.mkdir()
    # pw_passwd "*": pam_unix's account check then needs no shadow entry (as for hermit's).
    (etc / "passwd").write_text(Path("/etc/passwd").read_text()
                                + f"lotte:*:{LOCAL_UID}:{LOCAL_UID}:Lotte Local:/nonexistent:"
                                "/bin/sh\n")
    (etc / "group").write_text(Path("/etc/group").read_text() + f"lotte:x:{LOCAL_UID}:\n")
    for path in (etc / "passwd", etc / "group"):
        path.chmod(0o644)
    (workdir / "home").mkdir(mode=0o755)
    # sshd appends to these only if they exist; btmp must be root's and closed to others.
    (workdir / "log").mkdir(mode=0o755)
    for name, mode in (("btmp", 0o600), ("wtmp", 0o664), ("lastlog", 0o664)):
        (workdir / "log" / name).touch(mode=mode)
    keysdir = workdir / "keysdir"
    keysdir.mkdir(mode=0o755)
    shutil.copy2(build / "hermit-ssh-authorizedkeys", keysdir)


@contextmanager
def world_of(prefix: str, *, tasks: bool) -> Iterator[World]:
    """A whole world (module docstring) in a fresh /tmp directory, torn down after."""
    with scratch_dir(prefix) as workdir:
        (workdir / "idmd").mkdir()
        with own_idmd(workdir / "idmd") as idmd:
            yield from serve_world(workdir, idmd, tasks=tasks)


def serve_world(workdir: Path, idmd: IdmdServer, *, tasks: bool) -> Iterator[World]:
    # sshd's helper user and dropped-privilege processes load from here.
    workdir.chmod(0o755)
    config = workdir / "unixd.toml"
    world = World(idmd=idmd, workdir=workdir, unixd=Unixd(config, workdir / "sock"),
                  password=secrets.token_urlsafe(18))
    populate(idmd, world)
    write_config(workdir, idmd.url, idmd.ca, allowed_login_groups=[ALLOWED_GROUP])
    config.chmod(0o644)
    build = workdir / "build"
    build_native(build, config, DEADLINE_MS, asan=False)
    prepare_namespace_files(workdir, build)
    world.unixd.start()
    tasks_proc: subprocess.Popen[str] | None = None
    try:
        world.unixd.wait_answering()
        if tasks:
            tasks_proc = world.start_tasks()
            # lotte is local once the tasks daemon has sent the namespace's /etc/passwd.
            wait_until(lambda: world.unixd.call("ssh_keys", name="lotte").get("keys") == [],
                       "hermit-unixd-tasks to send the local identities")
        yield world
    finally:
        if tasks_proc is not None:
            stop_process(tasks_proc)
        world.unixd.stop()


# OpenSSH -----------------------------------------------------------------------------------

SSH = ["ssh", "-n", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
       "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_sshd(world: World) -> Iterator[int]:
    """A private sshd on 127.0.0.1 (mount + PID namespace, sshd its PID 1); its port.

    Keys come from ``hermit-ssh-authorizedkeys %u`` only; passwords (``password`` and
    ``keyboard-interactive``) go through PAM, whose ``sshd`` service is hermit's.
    """
    workdir = world.workdir
    if not (workdir / "host_key").exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(workdir / "host_key")], check=True)
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {workdir}/host_key\n"
        f"PidFile {workdir}/sshd.pid\nUsePAM yes\nPubkeyAuthentication yes\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication yes\nPermitRootLogin no\n"
        "AuthorizedKeysFile none\n"
        "AuthorizedKeysCommand /srv/hermit-ssh-authorizedkeys %u\n"
        "AuthorizedKeysCommandUser nobody\nStrictModes yes\nPrintMotd no\n"
    )
    made_run_sshd = not Path("/run/sshd").exists()
    if made_run_sshd:
        Path("/run/sshd").mkdir(mode=0o755)
    # Its log (sshd -e) stays in the world's directory, for a failing test to be read.
    with (workdir / "sshd.log").open("a") as log:
        proc = subprocess.Popen(
            world.namespace("/usr/sbin/sshd", "-D", "-e", "-f", str(config), pid=True),
            stdout=subprocess.DEVNULL, stderr=log, text=True,
        )
    try:
        def listening() -> bool:
            assert proc.poll() is None, "sshd exited"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False
        wait_until(listening, "sshd to listen")
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


def ssh_with_key(port: int, user: str, key: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SSH, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                           "-p", str(port), "-i", str(key), f"{user}@127.0.0.1", *cmd],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                          check=False)


def ssh_with_password(world: World, port: int, user: str, password: str, method: str,
                      *cmd: str) -> subprocess.CompletedProcess[str]:
    """ssh answering every prompt through SSH_ASKPASS with ``password`` (``method`` is
    ``password`` or ``keyboard-interactive``); the password only ever sits in a 0600 file."""
    secret = world.workdir / f"askpass-{secrets.token_hex(4)}"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    askpass = secret.with_suffix(".sh")
    askpass.write_text(f"#!/bin/sh\nexec cat {secret}\n")
    askpass.chmod(0o700)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SSH_ASKPASS": str(askpass),
           "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    try:
        return subprocess.run([*SSH, "-o", "BatchMode=no", "-o", "PubkeyAuthentication=no",
                               "-o", f"PreferredAuthentications={method}",
                               "-o", "NumberOfPasswordPrompts=1", "-p", str(port),
                               f"{user}@127.0.0.1", *cmd],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                              check=False, env=env)
    finally:
        secret.unlink()
        askpass.unlink()
