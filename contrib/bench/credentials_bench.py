"""Credentials benchmark: logins per second through a real hermit-idmd over TLS, with the
Argon2id cost stated, beside a same-run baseline of bare Argon2id verifications per second.

Measures, with 8 concurrent clients:

- password logins/s (``begin`` + a password step), each client on its own account;
- password + TOTP logins/s (``begin`` + a TOTP step + a password step). A TOTP code is accepted
  once per account and time step, so every login uses an account of its own, enrolled through a
  credential update session beforehand;
- the baseline: bare Argon2id verifications/s of a hash at the server's cost, on as many
  threads as the server gives Argon2id (``ARGON2_CONCURRENCY``), in this process.

The ratio login/s ÷ verifications/s says what the rest of a login (TLS, JSON, the auth session,
the session record write, token signing, the TOTP check and its write) costs on top of Argon2id.

Usage: ``make bench`` or ``.venv/bin/python contrib/bench/credentials_bench.py [--logins N]
[--out DIR]``. Results are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pyotp
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contrib.harness.idmd_process import IdmdProcess

CONCURRENCY = 8


class Bench:
    def __init__(self, server: IdmdProcess, admin_token: str) -> None:
        self.server = server
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.limits = httpx.Limits(max_connections=CONCURRENCY * 2)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.server.url, verify=self.server.ssl_context(), limits=self.limits,
            timeout=60,
        )

    async def make_person(self, client: httpx.AsyncClient, name: str) -> str:
        password = "bench-" + os.urandom(12).hex()
        created = await client.post(
            "/v1/person", json={"name": name, "displayname": name}, headers=self.admin
        )
        created.raise_for_status()
        response = await client.put(
            f"/v1/person/{name}/password", json={"password": password}, headers=self.admin
        )
        response.raise_for_status()
        return password

    async def enrol_totp(self, client: httpx.AsyncClient, name: str) -> pyotp.TOTP:
        async def call(path: str, body: dict[str, object] | None = None) -> Any:
            response = await client.post(path, json=body or {}, headers=self.admin)
            response.raise_for_status()
            return response.json()

        session = (await call(f"/v1/person/{name}/credential/update"))["session"]
        enrol = await call(
            "/v1/credential/update/totp/begin",
            {"session": session, "label": "bench", "algorithm": "sha1"},
        )
        totp = pyotp.TOTP(
            enrol["secret"], digits=enrol["digits"], interval=enrol["step"],
            digest=getattr(hashlib, enrol["algorithm"]),
        )
        # Confirmed with the previous step's code, so the current one is free for the login.
        previous = totp.at(int(time.time()) - totp.interval)
        await call("/v1/credential/update/totp/confirm", {"session": session, "code": previous})
        await call("/v1/credential/update/commit", {"session": session})
        return totp


async def login(
    client: httpx.AsyncClient, name: str, password: str, totp: pyotp.TOTP | None
) -> None:
    begin = await client.post("/v1/auth/begin", json={"name": name})
    begin.raise_for_status()
    session = {"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]}
    steps: list[dict[str, str]] = []
    if totp is not None:
        steps.append({"method": "totp", "totp": totp.now()})
    steps.append({"method": "password", "password": password})
    for body in steps:
        response = await client.post("/v1/auth/step", json=body, headers=session)
        response.raise_for_status()
        state = response.json()["state"]
        if state == "denied":
            raise RuntimeError(f"login of {name} denied: {response.json()['reason']}")
    if state != "success":
        raise RuntimeError(f"login of {name} ended in {state}")


async def run_workers(jobs: Sequence[Callable[[], Awaitable[None]]]) -> float:
    """Run ``jobs`` from ``CONCURRENCY`` tasks; the wall time in seconds."""
    queue = list(reversed(jobs))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(CONCURRENCY):
            nursery.start_soon(worker)
    return time.perf_counter() - started


async def measure(bench: Bench, logins: int) -> dict[str, float]:
    async with bench.client() as client:
        print(f"making {CONCURRENCY} password accounts and {logins} TOTP accounts ...", flush=True)
        plain = [f"pw{i:03d}" for i in range(CONCURRENCY)]
        plain_passwords = {n: await bench.make_person(client, n) for n in plain}
        with_totp = [f"totp{i:04d}" for i in range(logins)]
        totp_passwords = {n: await bench.make_person(client, n) for n in with_totp}
        totps = {n: await bench.enrol_totp(client, n) for n in with_totp}

        # Warm-up: one login each way, so connections and caches are set up.
        await login(client, plain[0], plain_passwords[plain[0]], None)

        per_account = max(1, logins // CONCURRENCY)
        password_jobs = [
            partial(login, client, n, plain_passwords[n], None)
            for n in plain
            for _ in range(per_account)
        ]
        password_wall = await run_workers(password_jobs)
        totp_jobs = [partial(login, client, n, totp_passwords[n], totps[n]) for n in with_totp]
        totp_wall = await run_workers(totp_jobs)
    return {
        "password_logins": float(len(password_jobs)),
        "password_logins_per_s": len(password_jobs) / password_wall,
        "totp_logins": float(len(totp_jobs)),
        "password_totp_logins_per_s": len(totp_jobs) / totp_wall,
    }


def measure_argon2_verify(count: int) -> float:
    """Bare Argon2id verifications/s at the server's cost, ``ARGON2_CONCURRENCY`` at once."""
    from idmd import limits
    from idmd.idm.credentials.passwords import hash_password_sync, verify_password_sync

    phc = hash_password_sync("benchmark password")
    remaining = [count]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            if not verify_password_sync("benchmark password", phc):
                raise RuntimeError("the baseline hash did not verify")

    threads = [threading.Thread(target=worker) for _ in range(limits.ARGON2_CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=64, help="logins of each kind")
    parser.add_argument("--out", type=Path, default=Path("contrib/bench/results"))
    args = parser.parse_args()

    from idmd import limits

    results: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="hermit-cred-bench-") as tmp,
        IdmdProcess.start(Path(tmp)) as server,
    ):
        admin_token = server.login("idm_admin", server.idm_admin_password)
        results.update(trio.run(measure, Bench(server, admin_token), args.logins))
    results["argon2_verifications_per_s"] = measure_argon2_verify(args.logins)

    cost = (
        f"Argon2id m={limits.ARGON2_MEMORY_KIB} KiB, t={limits.ARGON2_ITERATIONS},"
        f" p={limits.ARGON2_LANES}; {limits.ARGON2_CONCURRENCY} at once"
    )
    baseline = results["argon2_verifications_per_s"]
    rows = [
        ("password logins/s", results["password_logins_per_s"]),
        ("password + TOTP logins/s", results["password_totp_logins_per_s"]),
    ]
    print(f"\nhermit-idmd logins over TLS, {CONCURRENCY} clients; cost: {cost}")
    print(f"{'measurement':28} {'hermit':>10}   {'bare Argon2id verify':>22} {'ratio':>7}")
    for label, value in rows:
        print(f"{label:28} {value:>8.1f}/s   {baseline:>20.1f}/s {value / baseline:7.2f}")
    results["argon2_memory_kib"] = float(limits.ARGON2_MEMORY_KIB)
    results["argon2_iterations"] = float(limits.ARGON2_ITERATIONS)
    results["argon2_lanes"] = float(limits.ARGON2_LANES)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"credentials-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
