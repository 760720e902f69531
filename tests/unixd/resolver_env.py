"""The resolver wired over a real cache file, idmd faked at the provider seam (``fake_idmd.py``).

``build_env`` and ``started_env`` give an ``Env`` (the fake, the cache, a FakeClock, the
resolver, its task link) to the resolver's tests and to the tests of what sits on it (the
server, the tool, the memory cache, the attacks in tests/security).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import trio
import trio.testing

from hermit_common.clock import FakeClock
from tests.unixd.fake_idmd import FakeIdmd, make_provider
from unixd.config import parse_config
from unixd.proto import messages as m
from unixd.resolver import records
from unixd.resolver.authlog import AuthLog
from unixd.resolver.cache import Cache
from unixd.resolver.dispatch import Peer, answer
from unixd.resolver.local import LocalIdentities, parse_local_identities
from unixd.resolver.pam import OfflineMfa
from unixd.resolver.resolver import Resolver
from unixd.resolver.tasklink import TaskLink

TIMEOUT = 300
PASSWORD = "correct horse battery"


@dataclass
class Env:
    fake: FakeIdmd
    cache: Cache
    clock: FakeClock
    resolver: Resolver
    link: TaskLink
    shells: Path
    tmp: Path

    async def ask(self, request: m.Request, uid: int = 1000,
                  peer: Peer | None = None) -> dict[str, object]:
        response = await answer(self.resolver, request, peer or Peer(uid=uid))
        return response.to_json()

    def set_local(self, users: list[tuple[str, int]],
                  groups: list[tuple[str, int]] = ()) -> None:  # type: ignore[assignment]
        self.link.local = parse_local_identities({
            "passwd": [{"name": n, "uid": i, "gid": i, "gecos": "", "dir": "/", "shell": "/bin/sh",
                        "passwd": "x"} for n, i in users],
            "group": [{"name": n, "gid": i, "members": [], "passwd": "x"} for n, i in groups],
        })


def build_env(tmp: Path, fake: FakeIdmd, **config: object) -> tuple[Env, Resolver]:
    raw: dict[str, object] = {"uri": "https://idm.test:8443", "cache_timeout": TIMEOUT,
                              "allowed_login_groups": ["staff"], **config}
    cfg = parse_config(raw, tmp / "unixd.toml")
    clock = FakeClock()
    cache = Cache(tmp / "cache" / "cache.db", clock, cache_timeout=cfg.cache_timeout)
    shells = tmp / "shells"
    shells.write_text("/bin/sh\n/bin/bash\n/usr/bin/zsh-not-here\n")
    # A host whose tasks daemon has spoken (tests of the time before: test_tasks_link.py).
    link = TaskLink(LocalIdentities())
    resolver = Resolver(
        cache, make_provider(fake),
        records.Shaping.from_config(cfg, records.ShellList(shells)), link,
        clock=clock, cache_timeout=cfg.cache_timeout, request_timeout=cfg.request_timeout,
        use_etc_skel=cfg.use_etc_skel, offline_mfa=OfflineMfa(cfg.offline_mfa),
        offline_failed_login_attempts=cfg.offline_failed_login_attempts,
        offline_failed_login_delay=cfg.offline_failed_login_delay,
        auth_log=AuthLog(sink=lambda line: None), rng=random.Random(1),
    )
    return Env(fake, cache, clock, resolver, link, shells, tmp), resolver


async def started_env(tmp: Path, fake: FakeIdmd, nursery: trio.Nursery,
                      **config: object) -> Env:
    """``build_env`` with the resolver running and online (the first contact at start-up is
    part of ``run``; it has finished)."""
    env, resolver = build_env(tmp, fake, **config)
    await nursery.start(resolver.run)
    await wait_for(lambda: resolver.state.is_online)
    return env


async def wait_for(predicate: object, limit: int = 2000) -> None:
    for _ in range(limit):
        if predicate():  # type: ignore[operator]
            return
        await trio.sleep(0.001)
    raise AssertionError("condition not reached")

