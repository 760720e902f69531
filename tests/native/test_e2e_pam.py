"""End to end through Linux-PAM: pamtester and python-pam (with a conversation of its own,
``pam_conversation.py``) run hermit's services from a real ``/etc/pam.d`` with pam_hermit.so
against a real hermit-unixd, hermit-unixd-tasks and hermit-idmd (the world of
``e2e_world.py``): passwords, unknown users with and without ``ignore_unknown_user``, the
account check (login groups, expiry) and a session that creates the home directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest

from tests.native.e2e_world import World, world_of
from tests.native.pam_in_world import (
    PAM_AUTH_ERR,
    PAM_PERM_DENIED,
    PAM_SUCCESS,
    PAM_USER_UNKNOWN,
    codes,
    python_pam,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces"),
    pytest.mark.integration,
]

FELL_THROUGH = "fell through to the next module"
PASSWORD_PROMPT = ["echo_off", "Password: "]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_of("hermit-e2e-pam-", tasks=True) as made:
        yield made


@pytest.fixture(autouse=True)
def no_softlock_left(world: World) -> Iterator[None]:
    """A wrong password makes idmd slow ewan's next attempts; the next test starts unlocked."""
    yield
    world.unlock("ewan")


# Passwords -------------------------------------------------------------------------------


def test_python_pam__right_password_and_account(world: World) -> None:
    outcome = python_pam(world, "hermit-e2e", "ewan", [world.password],
                         "authenticate", "acct_mgmt")
    assert codes(outcome) == [("authenticate", PAM_SUCCESS), ("acct_mgmt", PAM_SUCCESS)]
    assert outcome["transcript"] == [PASSWORD_PROMPT]


def test_python_pam__the_password_is_handed_to_a_stacked_module(world: World) -> None:
    # pam_exec (expose_authtok) asks for a password itself unless PAM_AUTHTOK is set; its
    # program compares what it was given with the password (DESIGN.md: PAM_AUTHTOK).
    expected = world.workdir / "authtok-expected"
    expected.write_text(world.password)
    expected.chmod(0o600)
    check = world.workdir / "authtok-check"
    check.write_text(f"#!/bin/sh\ntr -d '\\000' | cmp -s - {expected}\n")
    check.chmod(0o700)
    (world.workdir / "pam.d" / "hermit-e2e-stacked").write_text(
        "auth required pam_hermit.so\n"
        f"auth required pam_exec.so expose_authtok quiet {check}\n"
    )
    outcome = python_pam(world, "hermit-e2e-stacked", "ewan", [world.password],
                         "authenticate")
    assert codes(outcome) == [("authenticate", PAM_SUCCESS)]
    assert outcome["transcript"] == [PASSWORD_PROMPT]


def test_python_pam__wrong_password_is_refused(world: World) -> None:
    outcome = python_pam(world, "hermit-e2e", "ewan", ["wrong-e2e"], "authenticate")
    assert codes(outcome) == [("authenticate", PAM_AUTH_ERR)]
    # unixd's reason is shown to the person through the conversation.
    assert outcome["transcript"] == [PASSWORD_PROMPT, ["error", "wrong password"]]


def test_pamtester__right_and_wrong_password(world: World) -> None:
    right = world.run("pamtester", "hermit-e2e", "ewan", "authenticate", "acct_mgmt",
                      stdin=world.password + "\n")
    assert right.returncode == 0, right.stderr
    wrong = world.run("pamtester", "hermit-e2e", "ewan", "authenticate", stdin="wrong-e2e\n")
    assert wrong.returncode == 1
    assert "Authentication failure" in wrong.stderr


# Unknown users -------------------------------------------------------------------------------


def test_python_pam__unknown_user_stops_the_stack(world: World) -> None:
    outcome = python_pam(world, "hermit-e2e-strict", "nosuch-e2e", ["anything-e2e"],
                         "authenticate")
    assert codes(outcome) == [("authenticate", PAM_USER_UNKNOWN)]
    # unixd knows no such account: nothing is asked (a module stacked after would ask).
    assert outcome["transcript"] == []


def test_python_pam__unknown_user_with_ignore_unknown_user_goes_on(world: World) -> None:
    outcome = python_pam(world, "hermit-e2e-ignore", "nosuch-e2e", ["anything-e2e"],
                         "authenticate")
    assert codes(outcome) == [("authenticate", PAM_AUTH_ERR)]  # pam_deny's answer
    assert outcome["transcript"] == [["info", FELL_THROUGH]]


def test_pamtester__unknown_user_with_and_without_ignore_unknown_user(world: World) -> None:
    strict = world.run("pamtester", "hermit-e2e-strict", "nosuch-e2e", "authenticate",
                       stdin="anything-e2e\n")
    assert strict.returncode == 1
    assert "User not known to the underlying authentication module" in strict.stderr
    assert FELL_THROUGH not in strict.stdout + strict.stderr
    ignore = world.run("pamtester", "hermit-e2e-ignore", "nosuch-e2e", "authenticate",
                       stdin="anything-e2e\n")
    assert ignore.returncode == 1
    assert FELL_THROUGH in ignore.stdout + ignore.stderr
    assert "Authentication failure" in ignore.stderr


def test_python_pam__a_known_user_is_not_ignored(world: World) -> None:
    outcome = python_pam(world, "hermit-e2e-ignore", "ewan", ["wrong-e2e"], "authenticate")
    assert codes(outcome) == [("authenticate", PAM_AUTH_ERR)]
    assert ["info", FELL_THROUGH] not in outcome["transcript"]


# The account check -----------------------------------------------------------------------------


def test_python_pam__account_outside_the_login_groups_is_denied(world: World) -> None:
    outcome = python_pam(world, "hermit-e2e", "olga", [world.password],
                         "authenticate", "acct_mgmt")
    # The password is right; the host's allowed_login_groups refuse the login.
    assert codes(outcome) == [("authenticate", PAM_SUCCESS), ("acct_mgmt", PAM_PERM_DENIED)]
    errors = [text for style, text in outcome["transcript"] if style == "error"]
    assert len(errors) == 1
    assert errors[0]


def test_pamtester__account_outside_the_login_groups_is_denied(world: World) -> None:
    done = world.run("pamtester", "hermit-e2e", "olga", "acct_mgmt")
    assert done.returncode == 1
    assert "Permission denied" in done.stderr


def test_python_pam__expired_account_is_refused(world: World) -> None:
    account = python_pam(world, "hermit-e2e", "exa", [], "acct_mgmt")
    assert codes(account) == [("acct_mgmt", PAM_PERM_DENIED)]
    errors = [text for style, text in account["transcript"] if style == "error"]
    assert len(errors) == 1
    assert "expired" in errors[0]
    # Its right password does not log it in either.
    login = python_pam(world, "hermit-e2e", "exa", [world.password], "authenticate")
    assert codes(login) == [("authenticate", PAM_AUTH_ERR)]


def test_pamtester__expired_account_is_refused(world: World) -> None:
    done = world.run("pamtester", "hermit-e2e", "exa", "acct_mgmt")
    assert done.returncode == 1
    assert "Permission denied" in done.stderr


# Sessions --------------------------------------------------------------------------------------


def test_python_pam__session_creates_the_home_and_its_alias(world: World) -> None:
    ewan = world.ewan
    real, alias = world.home / ewan.uuid, world.home / ewan.spn
    assert not real.exists()
    outcome = python_pam(world, "hermit-e2e", "ewan", [world.password],
                         "authenticate", "acct_mgmt", "open_session", "close_session")
    assert codes(outcome) == [("authenticate", PAM_SUCCESS), ("acct_mgmt", PAM_SUCCESS),
                              ("open_session", PAM_SUCCESS), ("close_session", PAM_SUCCESS)]
    st = real.lstat()
    assert stat.S_ISDIR(st.st_mode)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (ewan.uid, ewan.uid, 0o700)
    assert alias.is_symlink()
    assert os.readlink(alias) == f"/home/{ewan.uuid}"
    # In the namespace, the home NSS shows is that alias, and it leads to the directory.
    shown = world.run("sh", "-c", 'cd "$(getent passwd ewan | cut -d: -f6)" && pwd -P')
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"/home/{ewan.uuid}\n", shown.stderr


def test_pamtester__session_of_a_known_home_is_opened_again(world: World) -> None:
    ewan = world.ewan
    python_pam(world, "hermit-e2e", "ewan", [], "open_session")
    before = (world.home / ewan.uuid).stat()
    done = world.run("pamtester", "hermit-e2e", "ewan", "open_session", "close_session")
    assert done.returncode == 0, done.stderr
    after = (world.home / ewan.uuid).stat()
    assert (after.st_ino, after.st_uid, after.st_mode) == (before.st_ino, before.st_uid,
                                                           before.st_mode)
