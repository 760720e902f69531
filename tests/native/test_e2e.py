"""End to end: glibc's own NSS loader, Linux-PAM and OpenSSH use a real hermit-idmd through a
real hermit-unixd, hermit-unixd-tasks and the native modules (the world of
``tests/native/e2e_world.py``): NSS lookups, a pamtester login, and key logins through a
private sshd while idmd is online."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.native.e2e_world import (
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


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_of("hermit-e2e-", tasks=True) as made:
        yield made


@pytest.fixture(autouse=True)
def no_softlock_left(world: World) -> Iterator[None]:
    """A wrong password makes idmd slow ewan's next attempts; the next test starts unlocked."""
    yield
    world.unlock("ewan")


def fields(line: str) -> list[str]:
    return line.rstrip("\n").split(":")


# NSS through glibc -------------------------------------------------------------------------


def test_getent_passwd__by_name_and_by_uid(world: World) -> None:
    ewan = world.ewan
    by_name = world.run("getent", "passwd", "ewan")
    assert by_name.returncode == 0, by_name.stderr
    name, passwd, uid, gid, gecos, home, shell = fields(by_name.stdout)
    assert (name, passwd, int(uid), int(gid), gecos, home, shell) == (
        "ewan", "*", ewan.uid, ewan.uid, "Ewan Test", f"/home/{ewan.spn}", "/bin/bash")
    by_uid = world.run("getent", "passwd", str(ewan.uid))
    assert by_uid.returncode == 0, by_uid.stderr
    assert by_uid.stdout == by_name.stdout


def test_getent_passwd__unknown_name_is_exit_2(world: World) -> None:
    assert world.run("getent", "passwd", "nosuch-e2e").returncode == 2


def test_getent_passwd__a_local_user_wins_over_the_directory(world: World) -> None:
    done = world.run("getent", "passwd", "lotte")
    assert done.returncode == 0, done.stderr
    assert fields(done.stdout)[2:5] == ["59123", "59123", "Lotte Local"]
    by_uid = world.run("getent", "passwd", str(world.accounts["lotte"].uid))
    assert by_uid.returncode == 2


def test_getent_group__nested_members(world: World) -> None:
    done = world.run("getent", "group", "e2e-outer", str(world.inner_gid))
    assert done.returncode == 0, done.stderr
    groups = {name: (passwd, int(gid), set(members.split(",")))
              for name, passwd, gid, members in map(fields, done.stdout.splitlines())}
    assert groups.keys() == {"e2e-outer", "e2e-inner"}
    assert groups["e2e-outer"][:2] == ("*", world.outer_gid)
    assert groups["e2e-inner"][:2] == ("*", world.inner_gid)
    # ewan and exa directly in e2e-inner, and through it in e2e-outer; olga in neither.
    for _, _, members in groups.values():
        assert {"ewan", "exa"} <= members
        assert "olga" not in members


def test_getent_group__a_shadowed_member_name_is_not_listed(world: World) -> None:
    # Tools that check gr_mem by name (sudo, pam_succeed_if ingroup) would count the local
    # lotte in if the directory lotte's membership were listed.
    done = world.run("getent", "group", "e2e-inner")
    assert done.returncode == 0, done.stderr
    assert "lotte" not in fields(done.stdout)[3].split(",")


def test_getent__enumeration(world: World) -> None:
    users = world.run("getent", "passwd")
    groups = world.run("getent", "group")
    assert (users.returncode, groups.returncode) == (0, 0), users.stderr + groups.stderr
    assert any(fields(line)[0] == "ewan" for line in users.stdout.splitlines())
    assert any(fields(line)[0] == "root" for line in users.stdout.splitlines())
    names = {fields(line)[0] for line in groups.stdout.splitlines()}
    assert {"e2e-inner", "e2e-outer", "root"} <= names


def test_id__lists_nested_groups(world: World) -> None:
    done = world.run("id", "ewan")
    assert done.returncode == 0, done.stderr
    uid = world.ewan.uid
    assert done.stdout.startswith(f"uid={uid}(ewan) gid={uid}(ewan) groups=")
    assert f"{world.inner_gid}(e2e-inner)" in done.stdout
    assert f"{world.outer_gid}(e2e-outer)" in done.stdout


def test_ls__shows_names(world: World) -> None:
    target = world.workdir / "owned"
    target.write_text("")
    os.chown(target, world.ewan.uid, world.inner_gid)
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


@pytest.fixture(scope="module")
def sshd(world: World) -> Iterator[int]:
    with running_sshd(world) as port:
        yield port


def test_sshd__key_login_lands_in_the_home_directory(world: World, sshd: int) -> None:
    ewan = world.ewan
    assert ewan.key is not None
    done = ssh_with_key(sshd, "ewan", ewan.key, 'id; pwd -P; echo "$HOME"')
    assert done.returncode == 0, done.stderr
    ident, cwd, home = done.stdout.splitlines()
    assert ident.startswith(f"uid={ewan.uid}(ewan) gid={ewan.uid}(ewan) groups=")
    assert f"{world.outer_gid}(e2e-outer)" in ident
    # pam_hermit's session had hermit-unixd-tasks make /home/<uuid> and /home/<spn> -> it.
    assert (cwd, home) == (f"/home/{ewan.uuid}", f"/home/{ewan.spn}")
    real = world.home / ewan.uuid
    assert (real.stat().st_uid, real.stat().st_mode & 0o777) == (ewan.uid, 0o700)
    assert os.readlink(world.home / ewan.spn) == f"/home/{ewan.uuid}"


def test_sshd__a_key_not_on_the_account_is_refused(world: World, sshd: int) -> None:
    other = world.accounts["olga"].key
    assert other is not None
    done = ssh_with_key(sshd, "ewan", other, "id")
    assert done.returncode == 255
    assert done.stdout == ""


def test_sshd__a_user_outside_the_allowed_groups_is_refused(world: World, sshd: int) -> None:
    olga = world.accounts["olga"]
    assert olga.key is not None
    # Her key is hers (the helper prints it); the account check refuses the login.
    keys = world.run("/srv/hermit-ssh-authorizedkeys", "olga")
    assert keys.returncode == 0, keys.stderr
    assert keys.stdout.split()[:2] == olga.key.with_suffix(".pub").read_text().split()[:2]
    done = ssh_with_key(sshd, "olga", olga.key, "id")
    assert done.returncode == 255
    assert done.stdout == ""
    assert not (world.home / olga.uuid).exists()


def test_sshd__a_local_user_gets_none_of_the_directory_users_keys(
    world: World, sshd: int
) -> None:
    lotte = world.accounts["lotte"]
    assert lotte.key is not None
    keys = world.run("/srv/hermit-ssh-authorizedkeys", "lotte")
    assert (keys.returncode, keys.stdout) == (0, "")
    done = ssh_with_key(sshd, "lotte", lotte.key, "id")
    assert done.returncode == 255
    assert done.stdout == ""


def login_records(path: Path) -> tuple[int, int] | None:
    """(size, mtime in ns) of a login record file, None when there is none."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def test_sshd__failed_logins_are_recorded_in_the_worlds_btmp_not_the_machines(
    world: World, sshd: int
) -> None:
    machine = {name: login_records(Path("/var/log", name)) for name in ("btmp", "wtmp")}
    worlds = world.workdir / "log" / "btmp"
    before = worlds.stat().st_size
    right = ssh_with_password(world, sshd, "ewan", world.password, "password", "id -un")
    assert (right.returncode, right.stdout) == (0, "ewan\n"), right.stderr
    wrong = ssh_with_password(world, sshd, "ewan", "wrong-e2e", "password", "id -un")
    assert (wrong.returncode, wrong.stdout) == (255, "")
    world.unlock("ewan")  # the failure softlocked the password for the next tests
    assert worlds.stat().st_size > before  # sshd did record the failure, in the world
    assert {name: login_records(Path("/var/log", name)) for name in machine} == machine


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_sshd__password_login_through_pam(world: World, sshd: int, method: str) -> None:
    done = ssh_with_password(world, sshd, "ewan", world.password, method, "id -un")
    assert (done.returncode, done.stdout) == (0, "ewan\n"), done.stderr
    wrong = ssh_with_password(world, sshd, "ewan", "wrong-e2e", method, "id -un")
    assert (wrong.returncode, wrong.stdout) == (255, "")
