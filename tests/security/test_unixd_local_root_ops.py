"""Attack: any local user drives the root tasks daemon and every cache on the host.

The client socket is 0666: every local uid may ask it. Two of its ops act beyond the asker:
``pam_session_open`` has the root tasks daemon create an account's home directory and home
alias (any account's, named by the asker), and ``cache_invalidate`` expires every cached
entry and ends the offline back-off, so each host's next lookups all go to idmd (an amplifier
any local user on every host can pull at once). Both are root's now: PAM opens sessions as
root (sshd, login, su), and ``hermit-unix cache-invalidate`` is an administrator's command.

A real hermit-idmd over TLS, a real hermit-unixd and hermit-unixd-tasks; the intruder is
``nobody`` through setpriv, using the real ``hermit-unix`` and a raw socket client.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from contrib.harness.runtime import everyone_runtime
from contrib.harness.waiting import wait_until
from tests.integration.directory import directory, unique
from tests.integration.idmd_server import IdmdServer, scratch_dir
from tests.integration.unixd_harness import BIN, Unixd, run_unixd
from tests.unixd.socket_client import NOBODY_CLIENT, nobody_python, run_as_nobody

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"),
    reason="needs root (hermit-unixd-tasks, setpriv) to attack as another uid")



def as_nobody(unixd: Unixd, request: dict[str, object]) -> dict[str, object]:
    """One request on the client socket from a process running as nobody."""
    done = run_as_nobody(nobody_python(), "-c", NOBODY_CLIENT, str(unixd.socket_path),
                         json.dumps({"v": 1, **request}))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert isinstance(answer, dict)
    return answer


def memcache_holds(unixd: Unixd, name: str) -> bool:
    """Whether the NSS memory cache publishes ``name`` (unixd flushes it on invalidation,
    and rebuilds it without the entries that invalidation expired)."""
    path = unixd.workdir / "passwd.mc"
    return path.exists() and name.encode() in path.read_bytes()


@pytest.fixture
def host(idmd: IdmdServer) -> Iterator[tuple[Unixd, Path, str, str]]:
    """unixd with the tasks daemon connected, homes under a prefix of the test's own, and a
    directory person with a password; yields unixd, the prefix, the person and its uuid."""
    name = unique("v")
    with directory(idmd) as made, scratch_dir("hh-") as prefix, run_unixd(
            idmd, home_prefix=str(prefix), home_alias="name", local_identities=False) as unixd:
        entry = made.person(name)
        prefix.chmod(0o755)
        unixd.workdir.chmod(0o755)  # every local user reaches the client socket, as in /run
        tasks = subprocess.Popen([str(BIN / "hermit-unixd-tasks"), "-c", str(unixd.config)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            # root is local: once its keys are refused, the tasks daemon has spoken.
            wait_until(lambda: unixd.call("ssh_keys", name="root").get("keys") == [],
                       "hermit-unixd-tasks to connect")
            yield unixd, prefix, name, str(entry["uuid"])
        finally:
            tasks.send_signal(signal.SIGTERM)
            assert tasks.wait(timeout=30) == 0


def test_pam_session_open__from_a_non_root_peer_creates_no_home(
    host: tuple[Unixd, Path, str, str],
) -> None:
    unixd, prefix, name, uuid = host
    refused = as_nobody(unixd, {"op": "pam_session_open", "name": name})
    assert refused["status"] == "error" and refused["error"] == "permission_denied", refused
    # Nothing was created: neither the home nor its alias.
    assert sorted(prefix.iterdir()) == []
    # Root (the PAM session of sshd, login, su) still opens it.
    assert unixd.call("pam_session_open", name=name) == {"status": "ok"}
    assert (prefix / uuid).is_dir() and (prefix / name).resolve() == prefix / uuid


def test_cache_invalidate__from_a_non_root_peer_invalidates_nothing(
    host: tuple[Unixd, Path, str, str],
) -> None:
    unixd, _, name, _ = host
    assert unixd.call("user_by_name", name=name)["status"] == "ok"
    wait_until(lambda: memcache_holds(unixd, name), "the memory cache to publish the person")
    tool = run_as_nobody(str(everyone_runtime().bin / "hermit-unix"), "-c", str(unixd.config),
                         "cache-invalidate")
    assert tool.returncode == 1, tool.stdout + tool.stderr
    assert "permission_denied" in tool.stderr
    raw = as_nobody(unixd, {"op": "cache_invalidate"})
    assert raw["status"] == "error" and raw["error"] == "permission_denied", raw
    # Nothing was invalidated: the published answers stand.
    assert memcache_holds(unixd, name)
    # Everyone is still served, nobody included; root may still invalidate.
    assert as_nobody(unixd, {"op": "user_by_name", "name": name})["status"] == "ok"
    assert unixd.tool("cache-invalidate").returncode == 0
    assert not memcache_holds(unixd, name)
