"""End to end: glibc answers warm lookups from hermit-unixd's memory cache while unixd cannot
answer at all (SIGSTOPped: a socket lookup would wait out the module's deadline), as SSSD's
test_memory_cache proves its own; an invalidated cache answers through the socket again. The
world of ``e2e_world.py``, with the tasks daemon (unixd publishes nothing before it has
spoken)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from contrib.harness.waiting import wait_until
from tests.native.e2e_world import DEADLINE_MS, World, world_of

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces"),
    pytest.mark.integration,
]

# Far below the module's deadline: an answer this fast did not wait on the stopped unixd.
FAST_S = DEADLINE_MS / 1000 / 2
FILES = ("passwd.mc", "group.mc", "initgroups.mc")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_of("hermit-e2e-mc-", tasks=True) as made:
        yield made


def answers(world: World) -> list[str]:
    lookups = (("getent", "passwd", "ewan"), ("getent", "passwd", str(world.ewan.uid)),
               ("getent", "group", "e2e-inner"), ("id", "ewan"))
    out = []
    for cmd in lookups:
        done = world.run(*cmd)
        assert done.returncode == 0, (cmd, done.stderr)
        out.append(done.stdout)
    return out


def published(world: World, text: bytes) -> bool:
    return all((world.workdir / name).is_file() for name in FILES) and all(
        text in (world.workdir / name).read_bytes() for name in ("passwd.mc", "initgroups.mc"))


def test_memcache__warm_lookups_answer_while_unixd_is_stopped(world: World) -> None:
    warm = answers(world)
    # Both of ewan's groups: ``id`` names e2e-outer too (waiting for e2e-inner alone raced).
    wait_until(lambda: published(world, b"ewan") and all(
        group in (world.workdir / "group.mc").read_bytes()
        for group in (b"e2e-inner", b"e2e-outer")), "the memory cache to hold ewan")
    os.kill(world.unixd.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert answers(world) == warm
        assert time.monotonic() - started < FAST_S
    finally:
        os.kill(world.unixd.pid, signal.SIGCONT)


def test_memcache__invalidate_unlinks_the_files_and_the_socket_answers(world: World) -> None:
    answers(world)
    wait_until(lambda: published(world, b"ewan"), "the memory cache to hold ewan")
    assert world.unixd.call("cache_invalidate")["status"] == "ok"
    # Unlinked before unixd answered; a file rebuilt since holds no expired entry.
    passwd = world.workdir / "passwd.mc"
    assert not passwd.exists() or b"ewan" not in passwd.read_bytes()
    assert answers(world)[0].startswith(f"ewan:*:{world.ewan.uid}:")
