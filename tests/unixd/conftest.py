"""Fixtures of unixd's tests: ``sockdir`` (a short private directory for unix sockets, reachable
by nobody) and ``served`` (the resolver of ``resolver_env.build_env`` running, behind a client
socket and a task socket in ``sockdir``; yields the Env and both socket paths).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from tests.unixd.fake_idmd import FakeIdmd
from tests.unixd.resolver_env import Env, build_env
from unixd.server import bind_unix_socket, handle_client, handle_tasks, serve_socket


@pytest.fixture
def sockdir() -> Iterator[Path]:
    # tmp_path is too long for sun_path; the directory is reachable by nobody on purpose.
    path = Path(tempfile.mkdtemp(prefix="hu-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def served(
    tmp_path: Path, sockdir: Path, nursery: trio.Nursery
) -> AsyncIterator[tuple[Env, Path, Path]]:
    fake = FakeIdmd()
    fake.add_user("alice", 70001, password="correct horse battery")
    env, resolver = build_env(tmp_path, fake)
    await nursery.start(resolver.run)
    client_path, task_path = sockdir / "sock", sockdir / "task.sock"
    client_sock = bind_unix_socket(client_path, 0o666)
    task_sock = bind_unix_socket(task_path, 0o600)
    await nursery.start(serve_socket, client_sock, partial(handle_client, resolver=resolver))
    await nursery.start(serve_socket, task_sock, partial(handle_tasks, link=env.link))
    yield env, client_path, task_path
    env.cache.close()

