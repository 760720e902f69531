"""pamtester driving the PAM module (the ASan build, in a private mount namespace with its own
pam.d) against the scripted unixd of ``fake_unixd.py``: ``pamtester`` runs one service stack
(``stack``) and returns a ``Run`` with what unixd was asked; ``Unixd`` is the default script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from tests.native.fake_unixd import Action, FakeUnixd
from tests.native.native_build import NativeBuild
from tests.native.nss_driver import ASAN_RUNTIME

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

