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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.native.conftest import NativeBuild
from tests.native.fake_unixd import Action, FakeUnixd, Raw, always, frame_of
from tests.native.test_nss_module import ASAN_RUNTIME

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a mount namespace")

SERVICE = "hermit-test"
PASSWORD = "correct horse battery"  # a test fixture, not a secret
CODE = "123456"
RUN_BOUND_SECONDS = 60
# The module runs inside pamtester with ASan preloaded; a memory error or a leak makes
# pamtester exit 99, which no test expects.
INNER = (
    'mount --bind "$0" /etc/pam.d && '
    'exec env LD_PRELOAD="$HERMIT_ASAN" '
    'ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 '
    'UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 pamtester -v "$@"'
)
USER_UNKNOWN = "User not known to the underlying authentication module"
AUTHINFO_UNAVAIL = "Authentication service cannot retrieve authentication info"


@dataclass
class Unixd:
    """unixd's side of the conversations: alice has a password; carol a text line, a password
    and a code; dave is denied at the account check; anyone else is unknown."""

    sessions: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, request: dict[str, Any]) -> Action:
        op = request["op"]
        name = str(request.get("name"))
        if op == "pam_auth_init":
            if name not in ("alice", "carol", "dave"):
                return {"status": "ok", "session": "s-none", "next": {"kind": "unknown"}}
            session = f"s-{name}"
            steps = ["text", "password", "code"] if name == "carol" else ["password"]
            self.sessions[session] = steps
            return {"status": "ok", "session": session, "next": self.prompt(steps[0])}
        if op == "pam_auth_step":
            steps = self.sessions.get(request["session"], [])
            if not steps:
                return {"status": "ok", "next": {"kind": "denied", "reason": "no session"}}
            kind = steps.pop(0)
            expected = {"text": "", "password": PASSWORD, "code": CODE}[kind]
            if request["response"] != expected:
                steps.clear()
                return {"status": "ok", "next": {"kind": "denied", "reason": "wrong password"}}
            return {"status": "ok",
                    "next": self.prompt(steps[0]) if steps else {"kind": "success"}}
        if op == "pam_account":
            result = {"alice": "allowed", "carol": "allowed", "dave": "denied"}.get(name,
                                                                                   "unknown")
            reason = {"reason": "this account is expired"} if result == "denied" else {}
            return {"status": "ok", "result": result, **reason}
        if op == "pam_session_open":
            return {"status": "ok"} if name == "alice" else {"status": "notfound"}
        return {"status": "error", "error": "unknown_op", "detail": op}

    @staticmethod
    def prompt(kind: str) -> dict[str, Any]:
        if kind == "text":
            return {"kind": "text", "text": "Welcome to hermit.\nSecond line."}
        if kind == "password":
            return {"kind": "password", "prompt": "Password: ", "echo": False}
        return {"kind": "code", "prompt": "Code: ", "echo": True}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    requests: list[dict[str, Any]]
    connections: int


def stack(build: NativeBuild, *lines: str) -> str:
    return "\n".join(line.replace("MODULE", str(build.pam_asan)) for line in lines) + "\n"


async def pamtester(
    build: NativeBuild, socket_dir: Path, service: str, user: str, ops: Sequence[str],
    answers: Sequence[str] = (), script: Any = None, socket_path: Path | None = None,
) -> Run:
    """Runs pamtester SERVICE USER OPS with ANSWERS on stdin against a scripted unixd."""
    socket_path = socket_path or socket_dir / "sock"
    build.point_at(socket_path)
    pamd = socket_dir / "pam.d"
    pamd.mkdir(exist_ok=True)
    (pamd / SERVICE).write_text(service)
    (pamd / "other").write_text("auth required pam_deny.so\naccount required pam_deny.so\n")
    server = FakeUnixd(script if script is not None else Unixd())
    async with trio.open_nursery() as nursery:
        if script is not False:
            await nursery.start(server.serve, socket_path)
        with trio.fail_after(RUN_BOUND_SECONDS):
            done = await trio.run_process(
                ["unshare", "-m", "--propagation", "private", "sh", "-c", INNER, str(pamd),
                 SERVICE, user, *ops],
                stdin="".join(a + "\n" for a in answers).encode(), capture_stdout=True,
                capture_stderr=True, check=False,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HERMIT_ASAN": ASAN_RUNTIME},
            )
        nursery.cancel_scope.cancel()
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode(), server.requests,
              server.connections)
    assert run.returncode in (0, 1), run.stderr[-3000:]  # 99: ASan found something
    return run


def steps_of(run: Run) -> list[tuple[str, str | None]]:
    """(op, response) of every request; responses of a step are test fixtures, not secrets."""
    return [(r["op"], r.get("response")) for r in run.requests]


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
