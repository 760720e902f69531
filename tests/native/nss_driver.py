"""Driving the NSS module from the tests: ``run_calls`` runs ``nss_calls.py`` (the module called
through ctypes in a child process, ASan preloaded for the ASan build) against the scripted unixd
of ``fake_unixd.py``, with the records and statuses the tests of tests/native and tests/security
compare against.
"""

from __future__ import annotations

import enum
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import trio

from tests.native.fake_unixd import Action, FakeUnixd, Script, always
from tests.native.native_build import NativeBuild
from unixd.proto.messages import encode_request

HERE = Path(__file__).resolve().parent
ASAN_RUNTIME = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                              text=True, check=True).stdout.strip()
CHILD_ENV = {
    "PATH": "/usr/bin:/bin",
    "LD_PRELOAD": ASAN_RUNTIME,
    "PYTHONMALLOC": "malloc",  # so LeakSanitizer can see (and scan) Python's memory
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
RUN_BOUND_SECONDS = 60


class Status(enum.IntEnum):
    TRYAGAIN = -2
    UNAVAIL = -1
    NOTFOUND = 0
    SUCCESS = 1


ALICE = {"name": "alice", "passwd": "*", "uid": 70001, "gid": 70001, "gecos": "Alice Liddell",
         "dir": "/home/alice", "shell": "/bin/bash"}
BOB = {"name": "bob", "passwd": "*", "uid": 70002, "gid": 70002, "gecos": "",
       "dir": "/home/bob", "shell": "/bin/sh"}
STAFF = {"name": "staff", "passwd": "*", "gid": 80000, "members": ["alice", "bob"]}
# What glibc needs for ALICE: every string and its NUL.
ALICE_BYTES = sum(len(str(ALICE[k])) + 1 for k in ("name", "passwd", "gecos", "dir", "shell"))


def ok(**fields: Any) -> dict[str, Any]:
    return {"status": "ok", **fields}


async def run_calls(
    build: NativeBuild, socket_dir: Path, script: Script | None, calls: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], FakeUnixd]:
    """Runs CALLS in the ASan child against a server answering with SCRIPT (None: no server)."""
    socket_path = socket_dir / "sock"
    build.point_at(socket_path)
    server = FakeUnixd(script or always({}))
    async with trio.open_nursery() as nursery:
        if script is not None:
            socket_path.unlink(missing_ok=True)
            await nursery.start(server.serve, socket_path)
        with trio.fail_after(RUN_BOUND_SECONDS):
            done = await trio.run_process(
                [sys.executable, str(HERE / "nss_calls.py"), str(build.nss_asan)],
                stdin=json.dumps(calls).encode(), capture_stdout=True, capture_stderr=True,
                check=False, env=CHILD_ENV,
            )
        nursery.cancel_scope.cancel()
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout)
    assert report["leaks"] == 0, done.stderr.decode()[-3000:]
    assert report["fds_after"] == report["fds_before"]
    return report["results"], server


async def one(build: NativeBuild, socket_dir: Path, action: Action,
              call: dict[str, Any]) -> tuple[dict[str, Any], FakeUnixd]:
    results, server = await run_calls(build, socket_dir, always(action), [call])
    return results[0], server


def getpwnam(name: str | list[int] = "alice", buflen: int | None = 1024) -> dict[str, Any]:
    return {"fn": "getpwnam", "name": name, "buflen": buflen}


def getgrnam(name: str = "staff", buflen: int | None = 1024) -> dict[str, Any]:
    return {"fn": "getgrnam", "name": name, "buflen": buflen}


def sent(server: FakeUnixd) -> list[bytes]:
    return [json.dumps(r, separators=(",", ":")).encode() for r in server.requests]


def python_frame(request: Any) -> bytes:
    """The body Python's protocol module sends, in the compact form the C writer uses."""
    return json.dumps(json.loads(encode_request(request)[4:]), separators=(",", ":")).encode()

