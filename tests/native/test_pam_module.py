"""pam_hermit.so (ASan + UBSan build) through the real Linux-PAM and pamtester, against a
scripted hermit-unixd on a real unix socket.

Each test writes a pam.d service that names the module by absolute path and runs pamtester in
a private mount namespace where that directory is bind-mounted over /etc/pam.d
(shared/testing recipe 01), so the host's PAM configuration is never touched. pamtester reads
each answer from a line of stdin (echo on or off alike) and prints info texts on stdout.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.native.fake_unixd import Action, Raw, always, frame_of
from tests.native.native_build import NativeBuild
from tests.native.pamtester import CODE, PASSWORD, SERVICE, pamtester, stack, steps_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a mount namespace")

USER_UNKNOWN = "User not known to the underlying authentication module"
AUTHINFO_UNAVAIL = "Authentication service cannot retrieve authentication info"


# authenticate --------------------------------------------------------------------------------


async def test_authenticate__right_password(native_build: NativeBuild, socket_dir: Path) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "alice", ["authenticate"], [PASSWORD])
    assert run.returncode == 0, run.stderr
    assert run.requests[0] == {"v": 1, "op": "pam_auth_init", "name": "alice",
                               "service": SERVICE}
    assert steps_of(run) == [("pam_auth_init", None), ("pam_auth_step", PASSWORD)]
    assert run.requests[1]["session"] == "s-alice"
    assert "Password: " in run.stdout + run.stderr


async def test_authenticate__wrong_password(native_build: NativeBuild, socket_dir: Path) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "alice", ["authenticate"], ["wrong"])
    assert run.returncode == 1
    assert "Authentication failure" in run.stderr
    assert "wrong password" in run.stderr  # unixd's reason, shown through the conversation


async def test_authenticate__text_password_and_code(native_build: NativeBuild,
                                                    socket_dir: Path) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "carol", ["authenticate"], [PASSWORD, CODE])
    assert run.returncode == 0, run.stderr
    assert "Welcome to hermit.\nSecond line." in run.stdout
    assert steps_of(run) == [("pam_auth_init", None), ("pam_auth_step", ""),
                             ("pam_auth_step", PASSWORD), ("pam_auth_step", CODE)]


async def test_authenticate__wrong_code(native_build: NativeBuild, socket_dir: Path) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "carol", ["authenticate"], [PASSWORD, "000000"])
    assert run.returncode == 1
    assert "Authentication failure" in run.stderr


async def test_authenticate__one_connection_per_conversation(native_build: NativeBuild,
                                                             socket_dir: Path) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "carol", ["authenticate"], [PASSWORD, CODE])
    assert run.returncode == 0
    assert (len(run.requests), run.connections) == (4, 1)


@pytest.mark.parametrize(
    ("option", "returncode", "message"),
    [("", 1, USER_UNKNOWN), ("ignore_unknown_user", 0, "successfully authenticated")],
    ids=["plain", "ignore_unknown_user"],
)
async def test_authenticate__unknown_user(native_build: NativeBuild, socket_dir: Path,
                                          option: str, returncode: int, message: str) -> None:
    service = stack(native_build, f"auth [success=done ignore=ignore default=die] MODULE {option}",
                    "auth required pam_permit.so")
    run = await pamtester(native_build, socket_dir, service, "nobody-here", ["authenticate"])
    assert run.returncode == returncode
    assert message in run.stdout + run.stderr
    assert steps_of(run) == [("pam_auth_init", None)]


async def test_authenticate__sets_authtok_for_a_stacked_module(native_build: NativeBuild,
                                                               socket_dir: Path) -> None:
    check = socket_dir / "check-authtok"
    check.write_text(f'#!/bin/sh\n[ "$(tr -d "\\000")" = "{PASSWORD}" ]\n')
    check.chmod(0o755)
    service = stack(native_build, "auth required MODULE",
                    f"auth required pam_exec.so expose_authtok quiet {check}")
    # One line of input: if pam_exec had to ask again it would read EOF and fail.
    run = await pamtester(native_build, socket_dir, service, "alice", ["authenticate"],
                          [PASSWORD])
    assert run.returncode == 0, run.stderr


async def test_authenticate__use_first_pass_answers_from_authtok(native_build: NativeBuild,
                                                                 socket_dir: Path) -> None:
    service = stack(native_build, "auth required MODULE", "auth required MODULE use_first_pass")
    run = await pamtester(native_build, socket_dir, service, "alice", ["authenticate"],
                          [PASSWORD])
    assert run.returncode == 0, run.stderr
    assert steps_of(run) == [("pam_auth_init", None), ("pam_auth_step", PASSWORD)] * 2


async def test_authenticate__use_first_pass_without_authtok_never_asks(
    native_build: NativeBuild, socket_dir: Path
) -> None:
    run = await pamtester(native_build, socket_dir,
                          stack(native_build, "auth required MODULE use_first_pass"),
                          "alice", ["authenticate"], [PASSWORD])
    assert run.returncode == 1
    assert steps_of(run) == [("pam_auth_init", None)]
    assert "Password" not in run.stdout + run.stderr


async def test_authenticate__untrusted_socket_gets_no_request(native_build: NativeBuild,
                                                              socket_dir: Path) -> None:
    # A directory anyone may write to: someone else could have put the socket there.
    open_dir = socket_dir / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "alice", ["authenticate"], [PASSWORD],
                          socket_path=open_dir / "sock")
    assert run.returncode == 1
    assert AUTHINFO_UNAVAIL in run.stderr
    assert run.requests == []


async def test_authenticate__unreachable_unixd(native_build: NativeBuild,
                                               socket_dir: Path) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "alice", ["authenticate"], [PASSWORD], script=False)
    assert run.returncode == 1
    assert AUTHINFO_UNAVAIL in run.stderr


@pytest.mark.parametrize(
    "answer",
    [Raw(frame_of(b"not json")), Raw(b"\x00\x00"), {"status": "unavail"},
     {"status": "ok", "session": "s", "next": {"kind": "password", "prompt": "a\x1bb"}},
     {"status": "ok", "session": "s", "next": {"kind": "dance"}},
     {"status": "ok", "next": {"kind": "success"}}],
    ids=["garbage", "short", "unavail", "control-char-prompt", "unknown-kind", "no-session"],
)
async def test_authenticate__bad_answers_are_authinfo_unavail(
    native_build: NativeBuild, socket_dir: Path, answer: Action
) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "alice", ["authenticate"], [PASSWORD], script=always(answer))
    assert run.returncode == 1
    assert AUTHINFO_UNAVAIL in run.stderr
    assert all(r["op"] == "pam_auth_init" for r in run.requests)


async def test_authenticate__endless_prompts_are_cut_off(native_build: NativeBuild,
                                                         socket_dir: Path) -> None:
    text = {"status": "ok", "session": "s", "next": {"kind": "text", "text": "again"}}
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "alice", ["authenticate"], script=always(text))
    assert run.returncode == 1
    assert len(run.requests) == 17  # the init and 16 steps


# account, session, the rest --------------------------------------------------------------------


async def test_account__allowed_and_session(native_build: NativeBuild, socket_dir: Path) -> None:
    service = stack(native_build, "account required MODULE", "session required MODULE")
    run = await pamtester(native_build, socket_dir, service, "alice",
                          ["acct_mgmt", "open_session", "close_session"])
    assert run.returncode == 0, run.stderr
    assert [r["op"] for r in run.requests] == ["pam_account", "pam_session_open"]


async def test_account__denied_shows_the_reason(native_build: NativeBuild,
                                                socket_dir: Path) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "account required MODULE"),
                          "dave", ["acct_mgmt"])
    assert run.returncode == 1
    assert "Permission denied" in run.stderr
    assert "this account is expired" in run.stderr


@pytest.mark.parametrize(
    ("option", "returncode"), [("", 1), ("ignore_unknown_user", 0)],
    ids=["plain", "ignore_unknown_user"],
)
async def test_account__unknown_user(native_build: NativeBuild, socket_dir: Path, option: str,
                                     returncode: int) -> None:
    service = stack(native_build,
                    f"account [success=done ignore=ignore default=die] MODULE {option}",
                    "account required pam_permit.so")
    run = await pamtester(native_build, socket_dir, service, "nobody-here", ["acct_mgmt"])
    assert run.returncode == returncode


async def test_session__notfound_is_ignored(native_build: NativeBuild, socket_dir: Path) -> None:
    service = stack(native_build, "session [success=ok ignore=ignore default=die] MODULE",
                    "session required pam_permit.so")
    run = await pamtester(native_build, socket_dir, service, "carol", ["open_session"])
    assert run.returncode == 0, run.stderr


async def test_setcred_and_chauthtok__ask_nothing(native_build: NativeBuild,
                                                  socket_dir: Path) -> None:
    service = stack(native_build, "auth required MODULE",
                    "password [success=ok ignore=ignore default=die] MODULE",
                    "password required pam_permit.so")
    run = await pamtester(native_build, socket_dir, service, "alice", ["setcred", "chauthtok"])
    assert run.returncode == 0, run.stderr
    assert run.requests == []


async def test_invalid_user_name__no_io(native_build: NativeBuild, socket_dir: Path) -> None:
    run = await pamtester(native_build, socket_dir, stack(native_build, "auth required MODULE"),
                          "bad:name", ["authenticate"], [PASSWORD])
    assert run.returncode == 1
    assert USER_UNKNOWN in run.stderr
    assert run.requests == []


def test_library__exports_only_pam_sm(native_build: NativeBuild) -> None:
    out = subprocess.run(["nm", "-D", "--defined-only", str(native_build.pam)],
                         capture_output=True, text=True, check=True).stdout
    assert {line.split()[-1] for line in out.splitlines() if line.strip()} == {
        "pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt", "pam_sm_open_session",
        "pam_sm_close_session", "pam_sm_chauthtok",
    }
    dyn = subprocess.run(["readelf", "-d", str(native_build.pam)], capture_output=True,
                         text=True, check=True).stdout
    assert sorted(line.split("[")[1].rstrip("]") for line in dyn.splitlines()
                  if "(NEEDED)" in line) == ["libc.so.6", "libpam.so.0"]
