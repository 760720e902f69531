"""Attack: restart hermit-unixd while hermit-unixd-tasks is away, and log in as a local user
with a directory account's key and groups.

Local users win over the directory only once unixd knows them, and only hermit-unixd-tasks
(root) tells it. A unixd started without it (a restart, a crash, the tasks daemon stopped or
slow) answered from its cache as if the host had no local accounts: the SSH keys of a
directory account named like a local user (``lotte``), the directory account holding a local
uid (``olga``, whose uid a local service account has here), directory group memberships for
the local name, and ``allowed`` from the account check; and the NSS memory cache published
snapshots with all of it. Now unixd answers ``unavail`` for users, groups, keys and PAM until
the first local identities arrive, publishes no snapshot before then, and ``hermit-unix
status`` says ``local identities: waiting``.

The world of ``tests/native/e2e_world.py`` (a real idmd, unixd and tasks daemon; glibc's NSS
loader, Linux-PAM through pamtester, and the real ``hermit-ssh-authorizedkeys`` run as
sshd runs it, as ``nobody``), plus one local account that holds olga's uid.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from contrib.harness.waiting import wait_until
from tests.native.e2e_world import BIN, RUN_TIMEOUT_SECONDS, World, stop_process, world_of

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces"),
    pytest.mark.integration,
]

MEMCACHE_FILES = ("passwd.mc", "group.mc", "initgroups.mc")
AS_NOBODY = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
AUTHINFO_UNAVAIL = "Authentication service cannot retrieve authentication info"
LOCAL_TWIN = "olgasvc"  # a local account with olga's uid


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_of("hermit-sec-restart-", tasks=False) as made:
        passwd = made.workdir / "etc" / "passwd"
        uid = made.accounts["olga"].uid
        passwd.write_text(passwd.read_text()
                          + f"{LOCAL_TWIN}:*:{uid}:{uid}:Local Twin:/nonexistent:/bin/sh\n")
        yield made


def keys_of(world: World, name: str) -> subprocess.CompletedProcess[str]:
    """The keys sshd would see for ``name`` (the helper runs as AuthorizedKeysCommandUser)."""
    return world.run(*AS_NOBODY, "/srv/hermit-ssh-authorizedkeys", name)


def status_lines(world: World) -> list[str]:
    done = subprocess.run([str(BIN / "hermit-unix"), "-c", str(world.unixd.config), "status"],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def group_ids(world: World, name: str) -> set[int]:
    done = world.run("id", "-G", name)
    assert done.returncode == 0, done.stderr
    return {int(gid) for gid in done.stdout.split()}


def published(world: World) -> list[str]:
    return [name for name in MEMCACHE_FILES if (world.workdir / name).exists()]


def key_line(world: World, name: str) -> str:
    key = world.accounts[name].key
    assert key is not None
    return key.with_suffix(".pub").read_text().split()[1]


def assert_local_users_win(world: World) -> None:
    """What a host with its local identities answers (the tasks daemon has spoken)."""
    for local in ("lotte", "olga"):
        done = keys_of(world, local)
        assert (done.returncode, done.stdout) == (0, ""), (local, done.stdout, done.stderr)
    ewan = keys_of(world, "ewan")
    assert ewan.returncode == 0 and key_line(world, "ewan") in ewan.stdout, ewan.stderr
    assert group_ids(world, "lotte") == {59123}
    assert world.run("getent", "passwd", "olga").returncode == 2
    assert world.run("getent", "passwd", "ewan").returncode == 0
    assert "lotte" not in world.run("getent", "group", "e2e-inner").stdout
    assert world.run("pamtester", "hermit-e2e", "ewan", "acct_mgmt").returncode == 0


def test_restart_without_tasks_daemon__unavailable_until_local_identities_arrive(
    world: World,
) -> None:
    tasks = world.start_tasks()
    try:
        wait_until(lambda: world.unixd.call("ssh_keys", name="lotte").get("keys") == [],
                   "hermit-unixd-tasks to send the local identities")
        # The host as it runs: everything cached (an enumeration stores every account,
        # lotte's and olga's directory entries included), local users winning.
        assert world.run("getent", "passwd").returncode == 0
        assert world.run("getent", "group").returncode == 0
        assert_local_users_win(world)
    finally:
        stop_process(tasks)

    # unixd restarts; hermit-unixd-tasks is not there (yet).
    world.unixd.stop()
    world.unixd.start()
    world.unixd.wait_answering()

    # sshd gets no directory key for the local name, nor for the account holding a local uid
    # (or anyone: nothing is known to be safe yet); the helper says why, on stderr.
    for name in ("lotte", "olga", "ewan"):
        done = keys_of(world, name)
        assert (done.returncode, done.stdout) == (1, ""), (name, done.stdout)
        assert "cannot answer now" in done.stderr
    # NSS: hermit answers UNAVAIL, so the local lotte gets no directory group, olga's
    # directory entry does not show under a local uid, no group lists the local lotte.
    assert group_ids(world, "lotte") == {59123}
    assert world.run("getent", "passwd", "olga").returncode == 2
    assert world.run("getent", "passwd", "ewan").returncode == 2
    assert world.run("getent", "group", "e2e-inner").returncode == 2
    # PAM: authinfo_unavail, for the account check and the password alike.
    for steps in (["acct_mgmt"], ["authenticate"]):
        done = world.run("pamtester", "hermit-e2e", "lotte", *steps, stdin=world.password + "\n")
        assert done.returncode != 0 and AUTHINFO_UNAVAIL in done.stderr, (steps, done.stderr)
    # The packaged stack's shape lets pam_unix decide for the local user meanwhile.
    assert world.run("pamtester", "sshd", "lotte", "acct_mgmt").returncode == 0
    # Nothing was published for the NSS memory cache (and what the last run left is gone).
    assert published(world) == []
    assert "local identities: waiting" in status_lines(world)

    # hermit-unixd-tasks comes: normal service resumes.
    tasks = world.start_tasks()
    try:
        wait_until(lambda: "local identities: received" in status_lines(world),
                   "hermit-unixd-tasks to send the local identities")
        assert_local_users_win(world)
        wait_until(lambda: published(world) == list(MEMCACHE_FILES),
                   "the memory cache to be published")
        assert b"lotte" not in (world.workdir / "passwd.mc").read_bytes()
    finally:
        stop_process(tasks)
