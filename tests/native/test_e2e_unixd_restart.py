"""End to end: glibc lookups through libnss_hermit.so.2 when hermit-unixd hangs or dies in the
middle of an answer (the world of ``e2e_world.py``, with the tasks daemon). A stopped
unixd costs a lookup at most the module's deadline, a killed one ends it at once, and in both
cases getent answers "not found" (UNAVAIL; files answered before) instead of hanging; a
restarted unixd answers again from its cache once the tasks daemon, which reconnects by
itself, has sent it the local identities."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contrib.harness.waiting import wait_until
from tests.native.e2e_world import DEADLINE_MS, RUN_TIMEOUT_SECONDS, World, world_of

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces"),
    pytest.mark.integration,
]

DEADLINE_S = DEADLINE_MS / 1000
# Room for starting the namespace and getent around the deadline on a busy machine.
SLACK_S = 2.0


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_of("hermit-e2e-kill-", tasks=True) as made:
        yield made


@pytest.fixture
def stopped_unixd(world: World) -> Iterator[int]:
    """unixd's pid, SIGSTOPped: it accepts connections (the kernel's backlog) but never
    answers. Continued afterwards, whatever the test did to it."""
    pid = world.unixd.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        if world.unixd.proc is not None and world.unixd.proc.poll() is None:
            os.kill(world.unixd.pid, signal.SIGCONT)


def blocked_on_a_socket(pid: int) -> bool:
    """The process sleeps with a socket open: it sent its request and waits for the answer."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        exe = os.readlink(f"/proc/{pid}/exe")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return exe.endswith("/getent") and state == "S" and any(
        fd.startswith("socket:") for fd in fds)


def getent_ewan(world: World) -> subprocess.CompletedProcess[str]:
    return world.run("getent", "passwd", "ewan")


def test_getent__a_hung_unixd_costs_at_most_the_deadline(
    world: World, stopped_unixd: int
) -> None:
    started = time.monotonic()
    done = getent_ewan(world)
    elapsed = time.monotonic() - started
    assert (done.returncode, done.stdout) == (2, "")
    assert DEADLINE_S * 0.9 <= elapsed <= DEADLINE_S + SLACK_S


def test_getent__a_continued_unixd_answers_again(world: World) -> None:
    # The previous test left an abandoned request in unixd's backlog; it answers into a
    # closed connection and goes on.
    done = getent_ewan(world)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ewan:*:")


def test_getent__unixd_killed_mid_lookup_ends_it_at_once_and_a_restart_restores(
    world: World, stopped_unixd: int
) -> None:
    # The memory cache would answer ewan without unixd; this lookup must reach the socket.
    (world.workdir / "passwd.mc").unlink(missing_ok=True)
    waiting = subprocess.Popen(world.namespace("getent", "passwd", "ewan"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # unshare execs sh, which execs getent: the Popen's pid is getent's.
        wait_until(lambda: blocked_on_a_socket(waiting.pid), "getent to wait on hermit-unixd")
        started = time.monotonic()
        os.kill(stopped_unixd, signal.SIGKILL)
        out, _ = waiting.communicate(timeout=DEADLINE_S + SLACK_S)
        elapsed = time.monotonic() - started
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert world.unixd.proc is not None
    assert world.unixd.proc.wait(timeout=RUN_TIMEOUT_SECONDS) == -signal.SIGKILL
    assert (waiting.returncode, out) == (2, "")
    # The connection reset ends the lookup; it does not wait for the deadline.
    assert elapsed < DEADLINE_S / 2
    # Nobody listens now: the lookup fails at once too.
    assert getent_ewan(world).returncode == 2
    world.unixd.start()
    world.unixd.wait_answering(local_identities=True)
    done = getent_ewan(world)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ewan:*:{world.ewan.uid}:")
