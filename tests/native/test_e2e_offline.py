"""End to end while hermit-idmd is gone: after one online password login, the server is
stopped and unixd's cache invalidated (every answer must then come from the offline path),
and a private sshd still logs the directory user in by key and by password through PAM
(the world of ``e2e_world.py``), and still refuses a wrong password."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.native.e2e_world import (
    BIN,
    RUN_TIMEOUT_SECONDS,
    World,
    running_sshd,
    ssh_with_key,
    ssh_with_password,
    world_of,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces"),
    pytest.mark.integration,
]


def hermit_unix(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "hermit-unix"), "-c", str(world.unixd.config), *args],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                          check=False)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_of("hermit-e2e-off-", tasks=True) as made:
        yield made


@pytest.fixture(scope="module")
def offline_sshd(world: World) -> Iterator[int]:
    """sshd's port, once ewan has logged in online by password and idmd is stopped."""
    with running_sshd(world) as port:
        online = ssh_with_password(world, port, "ewan", world.password,
                                   "keyboard-interactive", "true")
        assert online.returncode == 0, online.stderr
        # e2e-inner is resolved once online; e2e-outer only ever as a gid of ewan's login.
        assert world.run("getent", "group", "e2e-inner").returncode == 0
        assert "server: online" in hermit_unix(world, "status").stdout
        world.idmd.process.stop()
        assert hermit_unix(world, "cache-invalidate").returncode == 0
        status = hermit_unix(world, "status")
        assert "server: offline" in status.stdout, status.stdout + status.stderr
        yield port


def test_offline__nss_answers_from_the_cache(world: World, offline_sshd: int) -> None:
    user = world.run("getent", "passwd", "ewan")
    assert user.returncode == 0, user.stderr
    assert user.stdout.startswith(f"ewan:*:{world.ewan.uid}:"), user.stderr
    group = world.run("getent", "group", "e2e-inner")
    assert group.returncode == 0, group.stderr
    assert group.stdout.startswith(f"e2e-inner:*:{world.inner_gid}:"), group.stderr
    done = world.run("id", "ewan")
    assert done.returncode == 0, done.stderr
    assert f"{world.inner_gid}(e2e-inner)" in done.stdout


def test_offline__id_names_every_group_of_a_user_who_logged_in(
    world: World, offline_sshd: int
) -> None:
    # e2e-outer was never fetched as a group: its name comes from ewan's cached view.
    done = world.run("id", "ewan")
    assert done.returncode == 0, done.stderr
    assert f"{world.outer_gid}(e2e-outer)" in done.stdout


def test_offline__key_login_lands_in_the_home_directory(world: World, offline_sshd: int) -> None:
    ewan = world.ewan
    assert ewan.key is not None
    done = ssh_with_key(offline_sshd, "ewan", ewan.key, "id -un; pwd -P")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"ewan\n/home/{ewan.uuid}\n"


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_offline__password_login_from_the_cached_hash(
    world: World, offline_sshd: int, method: str
) -> None:
    done = ssh_with_password(world, offline_sshd, "ewan", world.password, method, "id -un")
    assert (done.returncode, done.stdout) == (0, "ewan\n"), done.stderr


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_offline__wrong_password_is_refused(world: World, offline_sshd: int, method: str) -> None:
    done = ssh_with_password(world, offline_sshd, "ewan", "wrong-e2e", method, "id -un")
    assert (done.returncode, done.stdout) == (255, "")


def test_offline__still_offline_after_the_logins(world: World, offline_sshd: int) -> None:
    # Nothing above reached a server: the logins were answered offline.
    assert "server: offline" in hermit_unix(world, "status").stdout
