"""kill -9 in the middle of a burst of writes: every acknowledged write survives.

A server of its own (the shared one must not die): person creations run concurrently through
REST; once some are acknowledged the server is killed with SIGKILL while others are in flight.
``hermit-idmd verify`` on the database must then find no problem, and after a restart on the
same database every person whose creation was answered 200 must be there.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import trio

from contrib.harness.idmd_process import IdmdProcess
from tests.integration.directory import persons
from tests.integration.idmd_server import IdmdServer, own_idmd, run_idmd, scratch_dir

WORKERS = 8
KILL_AFTER_ACKS = 40
MAX_ATTEMPTS = 2000  # bounds the burst if the server never acknowledges enough


async def burst_until_killed(server: IdmdServer, token: str) -> tuple[set[str], int]:
    """Create persons from WORKERS tasks; SIGKILL the server after KILL_AFTER_ACKS acks."""
    acked: set[str] = set()
    counter = iter(range(MAX_ATTEMPTS))
    killed = trio.Event()

    async def worker(client: httpx.AsyncClient) -> None:
        for n in counter:
            name = f"burst{n:05d}"
            try:
                response = await client.post(
                    "/v1/person", json={"name": name, "displayname": f"Burst {n}"}
                )
            except httpx.TransportError:
                if killed.is_set():
                    return
                raise
            assert response.status_code == 200, response.text
            acked.add(name)
            if len(acked) >= KILL_AFTER_ACKS and not killed.is_set():
                os.kill(server.pid, signal.SIGKILL)
                killed.set()

    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=WORKERS)
    async with (
        httpx.AsyncClient(base_url=server.url, verify=server.ssl_context(), headers=headers,
                          limits=limits, timeout=30) as client,
        trio.open_nursery() as nursery,
    ):
        for _ in range(WORKERS):
            nursery.start_soon(worker, client)
    assert killed.is_set(), "the burst ended before the server was killed"
    return acked, next(counter)


def test_server__kill_9_during_writes_loses_no_acknowledged_person() -> None:
    with scratch_dir("hermit-crash-") as workdir:
        with own_idmd(workdir) as server:
            token = server.login("idm_admin", server.idm_admin_password)
            acked, attempted = trio.run(burst_until_killed, server, token)
            assert server.process.proc.wait(timeout=30) == -signal.SIGKILL
        assert attempted > len(acked)  # some writes were in flight when the server died

        verified = run_idmd(workdir / "server.toml", "verify")
        assert (verified.returncode, verified.stdout) == (0, "verify: no problems found\n"), (
            verified.stdout + verified.stderr
        )

        restarted = IdmdProcess.launch(Path(workdir))
        try:
            restarted.idm_admin_password = server.idm_admin_password
            token = restarted.login("idm_admin", server.idm_admin_password)
            present = persons(restarted, token)
            assert acked <= present, f"lost: {sorted(acked - present)}"
        finally:
            restarted.stop()
