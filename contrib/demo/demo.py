"""``make demo``: from a clone to an SSH login as a directory user, every step shown.

Runs as root, in a temporary directory, and changes nothing on the host: the host parts run
in a private mount namespace (``contrib/harness/host_namespace.py``) that sees hermit's
modules, nsswitch.conf, PAM stack and sshd snippet at their production paths.

1. ``hermit-idmd cert-generate``, ``hermit-idmd server`` on 127.0.0.1 (a free port),
   ``recover-account idm_admin`` (the password is kept, never shown);
2. through the real ``hermit`` CLI: alice with a POSIX identity, a unix password (random,
   never shown) and a fresh ed25519 SSH key, in the POSIX group wonderland, which may log in;
3. the host files staged as ``make install`` and docs/install.md place them, and Debian's
   ``pam-auth-update --enable hermit`` run on a copy of the host's PAM configuration;
4. in the namespace: hermit-unixd as ``nobody`` (from a world-readable copy of hermit when
   the clone is out of nobody's reach, as in ``/root``), hermit-unixd-tasks as root, then
   ``getent passwd``, ``id``, a PAM password login through ``pamtester``, and a private sshd
   on 127.0.0.1 that logs alice in by key into ``/home/<uuid>`` through the alias
   ``/home/<spn>``;
5. every process stopped by its pid, the namespace shown to be gone, the directory removed.

Each step prints a numbered heading, the command (``(ns) $`` when it runs in the namespace)
and its output. The exit status is 0 only if every step succeeded; 2 when not run as root.
Nothing binds anything but loopback.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contrib.harness.host_namespace import (
    HostNamespace,
    children,
    prepare_pam_auth_update,
    stage_file,
    stage_native,
    stop_pid,
    with_hermit,
)
from contrib.harness.idmd_process import BIN, IdmdProcess, write_config
from contrib.harness.runtime import everyone_runtime
from contrib.harness.unixd_process import UnixdProcess

ROOT = Path(__file__).resolve().parents[2]
HERMIT = BIN / "hermit"
HERMIT_IDMD = BIN / "hermit-idmd"
STEP_TIMEOUT_S = 60
READY_TIMEOUT_S = 30.0
PASSWORD_PREFIX = "password: "
DOMAIN = "example.com"
PERSON = "alice"
GROUP = "wonderland"
# What the demo runs besides hermit itself; packaging/debian-packages.txt lists the Debian
# packages that bring them, and `make deps` (which make demo runs first) installs them.
TOOLS = ("gcc", "unshare", "nsenter", "setpriv", "findmnt", "pam-auth-update", "pamtester",
         "ssh", "ssh-keygen", "sshd")
TOOL_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
INSIDE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.step = 0
        self.secrets: list[str] = []
        self.ns: HostNamespace | None = None

    def heading(self, title: str) -> None:
        self.step += 1
        print(f"\n=== {self.step}. {title}", flush=True)

    def show(self, text: str) -> None:
        for secret in self.secrets:
            text = text.replace(secret, "[secure]")
        text = text.replace(str(self.workdir), "$DEMO")
        for line in text.rstrip("\n").splitlines():
            # recover-account's answer is hidden before anything could print it.
            if line.startswith(PASSWORD_PREFIX):
                line = PASSWORD_PREFIX + "[secure]"
            print(f"    {line}")
        sys.stdout.flush()

    def command(self, argv: Sequence[str], *, shown: str | None = None, inside: bool = False,
                stdin: str = "", env: dict[str, str] | None = None) -> str:
        """Show and run one command; its stdout. A non-zero exit fails the step."""
        line = shown if shown is not None else shlex.join([Path(argv[0]).name, *argv[1:]])
        print(f"{'(ns) $' if inside else '$'} {line}".replace(str(self.workdir), "$DEMO"),
              flush=True)
        if inside:
            assert self.ns is not None
            done = self.ns.run(argv, stdin=stdin, env=env or INSIDE_ENV)
        else:
            done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True,
                                  env=env, timeout=STEP_TIMEOUT_S, check=False)
        self.show(done.stdout)
        if done.returncode != 0:
            self.show(done.stderr)
            raise StepFailed(f"step {self.step} exited with {done.returncode}")
        return done.stdout

    def run(self, title: str, argv: Sequence[str], *, shown: str | None = None,
            inside: bool = False, stdin: str = "", env: dict[str, str] | None = None) -> str:
        self.heading(title)
        return self.command(argv, shown=shown, inside=inside, stdin=stdin, env=env)


def hermit_env(workdir: Path, server: IdmdProcess, password: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "XDG_CACHE_HOME": str(workdir / "cache"),
        "HERMIT_URL": server.url,
        "HERMIT_CA": str(server.ca_path),
        "HERMIT_NAME": "idm_admin",
        "HERMIT_PASSWORD": password,
    }


def wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[str],
             log: Path) -> None:
    """Poll ``check()`` until true (bounded); fail with the log if ``proc`` exits."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise StepFailed(f"{what} did not come up:\n{log.read_text()[-2000:]}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def run_demo(demo: Demo) -> None:
    workdir = demo.workdir
    # nobody (unixd, sshd's helper) and alice's processes reach files below it.
    workdir.chmod(0o755)
    config = write_config(workdir, DOMAIN)
    demo.run("Generate a CA and the server certificate",
             [str(HERMIT_IDMD), "cert-generate", "-c", str(config)])

    demo.heading("Start hermit-idmd (HTTPS on 127.0.0.1, a free port)")
    print(f"$ hermit-idmd server -c {config} &".replace(str(workdir), "$DEMO"), flush=True)
    server = IdmdProcess.launch(workdir)
    try:
        demo.show(f"pid {server.pid}, {server.url}, ready in {server.startup_seconds:.2f} s")
        directory_and_host(demo, server, config)
    finally:
        demo.heading(f"Stop hermit-idmd (pid {server.pid})")
        server.stop()
        demo.show(f"exit status {server.proc.returncode}")


def directory_and_host(demo: Demo, server: IdmdProcess, config: Path) -> None:
    recovered = demo.run("Recover the idm_admin account (the password is not shown)",
                         [str(HERMIT_IDMD), "recover-account", "idm_admin", "-c", str(config)])
    admin_password = next(line.removeprefix(PASSWORD_PREFIX) for line in recovered.splitlines()
                          if line.startswith(PASSWORD_PREFIX))
    demo.secrets.append(admin_password)
    env = hermit_env(demo.workdir, server, admin_password)
    hermit = str(HERMIT)
    demo.run("Log in as idm_admin", [hermit, "login"], env=env)

    demo.run(f"Create the person {PERSON}",
             [hermit, "person", "create", PERSON, "--display-name", "Alice Liddell"], env=env)
    demo.run("Give her a POSIX identity (uid = gid = gidnumber, from hermit's range)",
             [hermit, "person", "posix", "enable", PERSON], env=env)
    password = secrets.token_urlsafe(15)
    demo.secrets.append(password)
    demo.run("Set her unix password (random, read from stdin, never shown)",
             [hermit, "person", "posix", "set-password", PERSON],
             shown=f"hermit person posix set-password {PERSON} < password-file",
             stdin=password + "\n", env=env)
    key = demo.workdir / "alice_ed25519"
    demo.run("Make her a fresh SSH key",
             ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{PERSON}@demo",
              "-f", str(key)])
    public_key = key.with_suffix(".pub").read_text().strip()
    demo.command([hermit, "person", "ssh", "add", PERSON, "laptop", public_key],
                 shown=f'hermit person ssh add {PERSON} laptop "$(cat {key}.pub)"', env=env)
    demo.run(f"The POSIX group {GROUP} may log in on the host; {PERSON} joins it",
             [hermit, "group", "create", GROUP], env=env)
    demo.command([hermit, "group", "posix", "enable", GROUP], env=env)
    demo.command([hermit, "group", "add-members", GROUP, PERSON], env=env)
    entry = json.loads(subprocess.run([hermit, "--json", "person", "get", PERSON],
                                      capture_output=True, text=True, env=env, check=True,
                                      timeout=STEP_TIMEOUT_S).stdout)
    uuid = str(entry["uuid"])
    host(demo, server, key, password, uuid)


def stage_host(demo: Demo, server: IdmdProcess) -> Path:
    """The host files under $DEMO/root, which becomes / inside the namespace."""
    root = demo.workdir / "root"
    demo.heading("Stage the host files where make install and docs/install.md put them")
    print("$ make -s -C nss_module && make -s -C pam_module && make -s -C sshkeys-helper",
          flush=True)
    for folder in ("nss_module", "pam_module", "sshkeys-helper"):
        subprocess.run(["make", "-s", "-C", str(ROOT / folder)], check=True,
                       stdout=subprocess.DEVNULL, timeout=STEP_TIMEOUT_S)
    staged = stage_native(root, ROOT / "build")
    staged.append(stage_file(root, "etc/nsswitch.conf",
                             with_hermit(Path("/etc/nsswitch.conf").read_text())))
    staged.append(stage_file(root, "etc/hermit/ca.pem", server.ca_path.read_text()))
    staged.append(stage_file(root, "etc/hermit/unixd.toml", (
        "# /etc/hermit/unixd.toml (every other key has its default, docs/host.md)\n"
        f'uri = "{server.url}"\n'
        'ca_path = "/etc/hermit/ca.pem"\n'
        f'allowed_login_groups = ["{GROUP}"]\n'
        f'cache_path = "{demo.workdir}/unixd-cache/cache.db"\n')))
    staged.append(stage_file(root, "etc/ssh/sshd_config.d/hermit.conf",
                             (ROOT / "packaging/sshd_config.d/hermit.conf").read_text()))
    demo.show("\n".join(f"/{path.relative_to(root)}" for path in staged))
    demo.command(["cat", str(root / "etc/hermit/unixd.toml")])
    demo.command(["grep", "-E", "^(passwd|group):", str(root / "etc/nsswitch.conf")])
    return root


def host(demo: Demo, server: IdmdProcess, key: Path, password: str, uuid: str) -> None:
    root = stage_host(demo, server)
    demo.run("Add hermit's profile to a copy of the host's PAM configuration",
             prepare_pam_auth_update(root, ROOT / "packaging/pam-configs/hermit", demo.workdir),
             shown=f"pam-auth-update --root {root} --force --enable hermit")
    demo.command(["grep", "-H", "pam_hermit", *(str(root / f"etc/pam.d/common-{stack}")
                                                 for stack in ("auth", "account", "session"))],
                 shown="grep -H pam_hermit $DEMO/root/etc/pam.d/common-{auth,account,session}")

    nobody = pwd.getpwnam("nobody")
    unixd_user = f"{nobody.pw_uid}:{nobody.pw_gid}"
    cache = demo.workdir / "unixd-cache"
    cache.mkdir(mode=0o700)
    os.chown(cache, nobody.pw_uid, nobody.pw_gid)

    demo.heading("Enter a private mount namespace: the staged files over /usr and /etc, "
                 "an empty /home and /run")
    ns = HostNamespace.enter(root, unixd_user)
    demo.ns = ns
    demo.show(f"held by pid {ns.holder.pid}, mnt:[{ns.inode}]")
    daemons: list[tuple[str, subprocess.Popen[str]]] = []
    sshd: subprocess.Popen[str] | None = None
    try:
        demo.command(["sh", "-c", "findmnt -rn -o TARGET,SOURCE,FSTYPE | grep ' hermit-'"],
                     shown="findmnt -rn -o TARGET,SOURCE,FSTYPE | grep ' hermit-'",
                     inside=True)
        daemons.append(("hermit-unixd", start_unixd(demo, ns, unixd_user)))
        demo.run("Ask unixd whether it reaches idmd", ["hermit-unix", "status"], inside=True,
                 env={**INSIDE_ENV, "PATH": f"{BIN}:{INSIDE_ENV['PATH']}"})
        daemons.append(("hermit-unixd-tasks", start_tasks(demo, ns)))
        demo.run(f"Resolve {PERSON} through glibc's NSS (passwd: files systemd hermit)",
                 ["getent", "passwd", PERSON], inside=True)
        demo.run("Her identity and groups", ["id", PERSON], inside=True)
        demo.run("A PAM password login (login's stack: pam_unix, then pam_hermit)",
                 ["pamtester", "login", PERSON, "authenticate", "acct_mgmt"],
                 shown=f"pamtester login {PERSON} authenticate acct_mgmt < password-file",
                 stdin=password + "\n", inside=True)
        port = free_port()
        sshd = start_sshd(demo, ns, port)
        ssh_login(demo, key, port, uuid)
        demo.run("The home hermit made: the uuid directory and the spn alias",
                 ["ls", "-l", "/home"], inside=True)
    finally:
        stop_all(demo, ns, daemons, sshd)


def start_unixd(demo: Demo, ns: HostNamespace, user: str) -> subprocess.Popen[str]:
    demo.heading("Start hermit-unixd as nobody (it refuses root)")
    print(f"(ns) $ setpriv --reuid={user.split(':')[0]} --regid={user.split(':')[1]} "
          "--clear-groups -- hermit-unixd &", flush=True)
    runtime = everyone_runtime()  # a few seconds when it makes a copy
    if runtime.copied:
        demo.show(f"the clone is out of nobody's reach: hermit-unixd runs from a world-readable "
                  f"copy of hermit in {runtime.bin.parent.parent}")
    # Back once unixd is READY (its sockets bound); it logs where start_tasks reads.
    unixd = UnixdProcess.launch(None, prefix=ns.argv([], user=user), allow_root=False,
                                environ=INSIDE_ENV, notify_dir=demo.workdir,
                                log=demo.workdir / "unixd.log", bin_dir=runtime.bin)
    proc = unixd.proc
    owner = pwd.getpwuid(os.stat(f"/proc/{proc.pid}").st_uid).pw_name
    demo.show(f"pid {proc.pid}, user {owner}, listening on /run/hermit-unixd/sock")
    return proc


def start_tasks(demo: Demo, ns: HostNamespace) -> subprocess.Popen[str]:
    demo.heading("Start hermit-unixd-tasks as root (homes, local users)")
    print("(ns) $ hermit-unixd-tasks &", flush=True)
    log = demo.workdir / "tasks.log"
    proc = ns.spawn([str(BIN / "hermit-unixd-tasks")], log, env=INSIDE_ENV)
    wait_for("hermit-unixd-tasks", lambda: "sent local identities" in log.read_text(), proc, log)
    # unixd answers lookups, keys and PAM only once it has them (docs/unixd.md).
    unixd_log = demo.workdir / "unixd.log"
    wait_for("hermit-unixd's local identities",
             lambda: "local identities received" in unixd_log.read_text(), proc, log)
    sent = next(line for line in log.read_text().splitlines() if "sent local identities" in line)
    demo.show(f"pid {proc.pid}: {sent.split(': ', 1)[-1]}")
    return proc


def start_sshd(demo: Demo, ns: HostNamespace, port: int) -> subprocess.Popen[str]:
    demo.heading("Start a private sshd on 127.0.0.1 (keys from hermit, PAM account and session)")
    host_key = demo.workdir / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],
                   check=True, timeout=STEP_TIMEOUT_S)
    config = demo.workdir / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\n"
        f"PidFile {demo.workdir}/sshd.pid\nUsePAM yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin no\nAuthorizedKeysFile none\n"
        "PrintMotd no\nInclude /etc/ssh/sshd_config.d/hermit.conf\n"
    )
    demo.command(["cat", str(config), "/etc/ssh/sshd_config.d/hermit.conf"], inside=True)
    print(f"(ns) $ sshd -D -e -f {config} &".replace(str(demo.workdir), "$DEMO"), flush=True)
    log = demo.workdir / "sshd.log"
    proc = ns.spawn_sshd(config, log)
    wait_for("sshd", lambda: listening(port), proc, log)
    sshd_pid = next(iter(children(proc.pid)), proc.pid)
    demo.show(f"pid {sshd_pid} (PID 1 of its own PID namespace), listening on 127.0.0.1:{port}")
    return proc


def ssh_login(demo: Demo, key: Path, port: int, uuid: str) -> None:
    remote = 'echo "HOME=$HOME"; pwd; id'
    argv = ["ssh", "-n", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-i", str(key), "-p", str(port), f"{PERSON}@127.0.0.1",
            remote]
    out = demo.run(f"Log in over SSH as {PERSON} with her key", argv)
    lines = out.splitlines()
    if f"/home/{uuid}" not in lines:
        raise StepFailed(f"the login did not land in /home/{uuid}")
    if f"HOME=/home/{PERSON}@{DOMAIN}" not in lines:
        raise StepFailed(f"HOME is not the alias /home/{PERSON}@{DOMAIN}")
    demo.show(f"landed in /home/{uuid} through the alias /home/{PERSON}@{DOMAIN}")


def ended(status: int) -> str:
    return f"ended by {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"


def stop_all(demo: Demo, ns: HostNamespace,
             daemons: list[tuple[str, subprocess.Popen[str]]],
             sshd: subprocess.Popen[str] | None) -> None:
    demo.heading("Stop everything by pid; the namespace and its mounts go with it")
    if sshd is not None:
        sshd_pid = next(iter(children(sshd.pid)), sshd.pid)
        demo.show(f"sshd (pid {sshd_pid}): {ended(ns.stop_sshd(sshd))}")
    for name, proc in reversed(daemons):
        demo.show(f"{name} (pid {proc.pid}): {ended(stop_pid(proc))}")
    demo.show(f"the namespace's holder, sleep (pid {ns.holder.pid}): {ended(ns.leave())}")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while (left := ns.remaining()) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        raise StepFailed(f"processes still in the namespace: {left}")
    demo.show(f"mnt:[{ns.inode}] is gone: no process is left in it")


def main() -> int:
    if os.geteuid() != 0:
        print("make demo must run as root: it mounts a private namespace for hermit's NSS and "
              "PAM modules\nand starts sshd there (try: sudo make demo)", file=sys.stderr)
        return 2
    missing = [tool for tool in TOOLS if shutil.which(tool, path=TOOL_PATH) is None]
    if missing:
        print(f"make demo needs {', '.join(missing)}: run make deps (as root) to install the "
              "Debian packages of packaging/debian-packages.txt",
              file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="hermit-demo-"))
    started = time.monotonic()
    try:
        run_demo(Demo(workdir))
    except (StepFailed, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"\ndemo failed: {exc}".replace(str(workdir), "$DEMO"), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ndemo finished in {time.monotonic() - started:.1f} s: every step succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
