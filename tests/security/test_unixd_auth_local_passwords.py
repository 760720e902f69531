"""Issue 9, finding 1: any local user could guess local passwords, root's included.

hermit-unixd-tasks used to read /etc/shadow and ship its hashes to the unprivileged unixd, and
unixd checked them with crypt() for any peer on the 0666 client socket (or through
``hermit-unix auth-test --name root``), with no delay and no log line. Now hermit never holds
or checks a local password hash: local accounts are pam_unix's, pam_hermit steps aside for a
local name (PAM_USER_UNKNOWN, which the packaged stack ignores), and /etc/shadow is never
opened by hermit.

The attacks:
- the tasks daemon's ``local_identities`` frame is built from a host whose /etc/shadow holds a
  hash: the frame carries no hash, and unixd refuses a frame that tries to carry one;
- any uid asks unixd to check a local password on the client socket: unixd answers ``unknown``
  at once, saying the account is local, and never asks for a password;
- end to end, in a private mount namespace laid out by ``make install`` and Debian's
  ``pam-auth-update`` (the real Linux-PAM stack ``packaging/pam-configs/hermit`` produces,
  with pam_unix): an inotify watch on the namespace's own /etc/shadow sees no open while the
  tasks daemon starts and sends the local identities; a local user's password is checked by
  pam_unix alone (right accepted, wrong refused) and its account and session pass the stack;
  ``hermit-unix auth-test --name root`` (as nobody) says root is a local account; a directory
  user still logs in through the same stack.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trio
from inotify_simple import INotify, flags

from contrib.harness.host_namespace import (
    HostNamespace,
    prepare_pam_auth_update,
    stage_file,
    stage_native,
    stop_pid,
    with_hermit,
)
from contrib.harness.runtime import everyone_runtime
from contrib.harness.unixd_process import UnixdProcess
from tests.idmd.crypt_hashes import make_hash
from tests.integration.directory import directory, new_password, unique
from tests.integration.idmd_server import IdmdServer, scratch_dir
from tests.native.native_build import build_native
from tests.unixd.fake_idmd import FakeIdmd
from tests.unixd.resolver_env import PASSWORD, started_env
from unixd.proto import messages as m
from unixd.proto.errors import InvalidField
from unixd.resolver.dispatch import Peer, answer
from unixd.resolver.tasklink import TaskLink
from unixd.tasks.identities import IdentityFiles, read_identities

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
LOCAL_USER = "lena"
LOCAL_UID = 59211
# What a local account's password hash looks like in /etc/shadow (never sent anywhere now).
SHADOW_HASH = "$6$saltsaltsalt$" + "x" * 86
WAIT_S = 30.0
INSIDE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
# The service the test stages: exactly the common-* stacks pam-auth-update wrote.
SERVICE = "hermit-sec"


# The task protocol carries no hash ---------------------------------------------------------


def test_unixd_auth__local_identities_never_carry_a_shadow_hash(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(f"root:x:0:0:root:/root:/bin/bash\n"
                                f"{LOCAL_USER}:x:{LOCAL_UID}:{LOCAL_UID}::/home/l:/bin/sh\n")
    (etc / "group").write_text(f"root:x:0:\n{LOCAL_USER}:x:{LOCAL_UID}:\n")
    (etc / "shadow").write_text(f"root:{SHADOW_HASH}:19000:0:99999:7:::\n"
                                f"{LOCAL_USER}:{SHADOW_HASH}:19000:0:99999:7:::\n")
    # Every file IdentityFiles names points into tmp_path (it used to name /etc/shadow too).
    files = IdentityFiles(**{name: etc / name for name in IdentityFiles.__dataclass_fields__})
    sent = read_identities(files)
    assert sent is not None
    assert set(sent) == {"passwd", "group"}
    assert SHADOW_HASH not in json.dumps(sent)
    assert [user["name"] for user in sent["passwd"]] == ["root", LOCAL_USER]
    assert all(path.name != "shadow" for path in files.all())


async def test_unixd_auth__a_local_identities_frame_with_hashes_is_refused() -> None:
    link = TaskLink()
    good = {"v": 1, "id": 1, "op": "local_identities",
            "passwd": [{"name": LOCAL_USER, "uid": LOCAL_UID}], "group": []}
    assert await link.on_frame(good) == {"re": 1, "status": "ok"}
    before = link.local
    with pytest.raises(InvalidField):
        await link.on_frame({**good, "id": 2,
                             "shadow": [{"name": LOCAL_USER, "hash": SHADOW_HASH}]})
    # Nothing changed: the local names in force still shadow the directory.
    assert link.local is before and link.local.has_user(LOCAL_USER)
    assert SHADOW_HASH not in repr(vars(link.local))


# The client socket never checks a local password ------------------------------------------


@pytest.mark.parametrize("uid", [0, 1000, LOCAL_UID])
async def test_unixd_auth__no_peer_can_have_a_local_password_checked(
    tmp_path: Path, nursery: trio.Nursery, uid: int
) -> None:
    fake = FakeIdmd()
    fake.add_user("alice", 70001, password=PASSWORD)
    env = await started_env(tmp_path, fake, nursery)
    await env.link.on_frame({"v": 1, "id": 1, "op": "local_identities",
                             "passwd": [{"name": "root", "uid": 0},
                                        {"name": LOCAL_USER, "uid": LOCAL_UID}], "group": []})
    peer = Peer(uid=uid)
    for name in ("root", LOCAL_USER):
        init = (await answer(env.resolver, m.PamAuthInit(name, "login"), peer)).to_json()
        assert init["next"] == {"kind": "unknown", "reason": m.LOCAL_ACCOUNT_REASON}, name
        # No conversation was opened: a step cannot reach any check.
        step = await answer(env.resolver, m.PamAuthStep(str(init["session"]), "guess"), peer)
        assert step.to_json()["next"]["kind"] == "denied"  # type: ignore[index]
    assert len(peer.sessions) == 0
    assert env.fake.count("POST /v1/unix/auth") == 0
    # Everyone else is still served: a directory account logs in as before (as root).
    root = Peer(uid=0)
    init = (await answer(env.resolver, m.PamAuthInit("alice", "login"), root)).to_json()
    step = await answer(env.resolver, m.PamAuthStep(str(init["session"]), PASSWORD), root)
    assert step.to_json()["next"] == {"kind": "success"}
    env.cache.close()


# End to end: the packaged PAM stack with pam_unix, and /etc/shadow never opened -----------


def _wait(what: str, check: object, proc: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():  # type: ignore[operator]
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {log.read_text()[-2000:]}")
        time.sleep(0.05)


@contextmanager
def _shadow_watch(path: Path) -> Iterator[INotify]:
    watch = INotify()
    try:
        watch.add_watch(path, flags.OPEN | flags.ACCESS)
        yield watch
    finally:
        watch.close()


def _stage(work: Path, idmd: IdmdServer, group: str, local_password: str) -> Path:
    build = work / "build"
    build.mkdir(mode=0o755)
    build_native(build, Path("/etc/hermit/unixd.toml"), 5000, asan=False)
    root = work / "root"
    stage_native(root, build)
    stage_file(root, "etc/nsswitch.conf", with_hermit(Path("/etc/nsswitch.conf").read_text()))
    stage_file(root, "etc/hermit/ca.pem", idmd.ca.read_text())
    stage_file(root, "etc/hermit/unixd.toml",
               f'uri = "{idmd.url}"\nca_path = "/etc/hermit/ca.pem"\n'
               f'allowed_login_groups = ["{group}"]\ncache_path = "{work}/cache/cache.db"\n')
    stage_file(root, "etc/passwd", Path("/etc/passwd").read_text()
               + f"{LOCAL_USER}:x:{LOCAL_UID}:{LOCAL_UID}:Lena Local:/:/bin/sh\n")
    stage_file(root, "etc/group", Path("/etc/group").read_text()
               + f"{LOCAL_USER}:x:{LOCAL_UID}:\n")
    done = subprocess.run(prepare_pam_auth_update(
        root, ROOT / "packaging/pam-configs/hermit", work), capture_output=True, text=True,
        timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    stage_file(root, f"etc/pam.d/{SERVICE}",
               "@include common-auth\n@include common-account\n@include common-session\n")
    # The namespace's /etc/shadow: a file of the test's own, bound over the real one.
    shadow = work / "shadow"
    shadow.write_text(f"root:*:19000:0:99999:7:::\n"
                      f"{LOCAL_USER}:{make_hash('$6$', local_password)}:19000:0:99999:7:::\n")
    shadow.chmod(0o640)
    return root


def test_unixd_auth__local_accounts_are_pam_units_and_shadow_is_never_read(
    idmd: IdmdServer,
) -> None:
    for tool in ("pamtester", "pam-auth-update", "nsenter", "setpriv", "gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    local_password = new_password()
    person, group = unique("sl"), unique("slg")
    person_password = new_password()
    nobody = pwd.getpwnam("nobody")
    unixd_user = f"{nobody.pw_uid}:{nobody.pw_gid}"
    with scratch_dir("hsl-") as work, directory(idmd) as made:
        work.chmod(0o755)
        made.person(person, password=person_password)
        made.group(group, person)
        root = _stage(work, idmd, group, local_password)
        cache = work / "cache"
        cache.mkdir(mode=0o700)
        os.chown(cache, nobody.pw_uid, nobody.pw_gid)
        ns = HostNamespace.enter(root, unixd_user)
        daemons: list[subprocess.Popen[str]] = []
        try:
            bound = ns.run(["mount", "--bind", str(work / "shadow"), "/etc/shadow"])
            assert bound.returncode == 0, bound.stderr
            with _shadow_watch(work / "shadow") as watch:
                # As nobody, on the staged /etc/hermit/unixd.toml; back once it is READY.
                unixd = UnixdProcess.launch(None, prefix=ns.argv([], user=unixd_user),
                                            allow_root=False, environ=INSIDE_ENV,
                                            bin_dir=everyone_runtime().bin,
                                            notify_dir=work, log=work / "unixd.log")
                daemons.append(unixd.proc)
                tasks_log = work / "tasks.log"
                tasks = ns.spawn([str(BIN / "hermit-unixd-tasks")], tasks_log, env=INSIDE_ENV)
                daemons.append(tasks)
                _wait("the local identities", lambda: "sent local identities"
                      in tasks_log.read_text(), tasks, tasks_log)
                # The attack's first half: nothing hermit runs opened /etc/shadow.
                assert watch.read(timeout=0) == []

                tool = ns.run(["setpriv", f"--reuid={nobody.pw_uid}",
                               f"--regid={nobody.pw_gid}", "--clear-groups",
                               str(everyone_runtime().bin / "hermit-unix"), "auth-test",
                               "--name", "root"],
                              stdin="guess\n")
                assert tool.returncode == 1
                assert "root is a local account" in tool.stdout, tool.stdout + tool.stderr
                local_test = ns.run([str(BIN / "hermit-unix"), "auth-test", "--name",
                                     LOCAL_USER], stdin=local_password + "\n")
                assert local_test.returncode == 1  # hermit does not vouch for it, even to root
                assert f"{LOCAL_USER} is a local account" in local_test.stdout
                assert watch.read(timeout=0) == []

                # The packaged stack: pam_unix alone checks the local password.
                pam = ["pamtester", "-v", SERVICE, LOCAL_USER]
                right = ns.run([*pam, "authenticate", "acct_mgmt", "open_session",
                                "close_session"], stdin=local_password + "\n")
                assert right.returncode == 0, right.stdout + right.stderr
                wrong = ns.run([*pam, "authenticate"], stdin="not the password\n")
                assert wrong.returncode != 0
                # The watch works: pam_unix (root) did read the namespace's /etc/shadow.
                assert watch.read(timeout=0) != []

            # Everyone else: a directory person through the same stack.
            directory_login = ns.run(["pamtester", "-v", SERVICE, person, "authenticate",
                                      "acct_mgmt", "open_session", "close_session"],
                                     stdin=person_password + "\n")
            assert directory_login.returncode == 0, (directory_login.stdout
                                                     + directory_login.stderr)
            assert tasks.poll() is None and unixd.proc.poll() is None
        finally:
            for proc in reversed(daemons):
                stop_pid(proc)
            ns.leave()
