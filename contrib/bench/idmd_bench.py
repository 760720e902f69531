"""hermit-idmd benchmark: load a directory, then measure it beside a same-run baseline.

Loads 10,000 persons and 1,000 groups (nested, about 10 memberships per person) through the
REST API of a real hermit-idmd over TLS, then reports, each beside the baseline measured in the
same run (these machines are noisy, so only ratios travel):

- unix-view GET latency p50/p99 with 1 and 8 concurrent connections, and requests/s (wrk, a C
  client, so the client does not take the CPU the server needs)
  (baseline: ``GET /status`` on the same server, same clients);
- an indexed search against the same filter forced through a full scan (ratio);
- password logins per second, 8 clients as 8 accounts and as one account (whose attempts take
  turns), (baseline: bare Argon2id hashes per second at the same cost);
- server RSS after the load, in bytes per entry (baseline: the RSS of the empty server);
- start-up time with 10,000 entries (baseline: start-up time on an empty database).

Usage: ``make bench`` or ``.venv/bin/python contrib/bench/idmd_bench.py [--persons N]
[--groups N] [--out DIR]``. Results are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contrib.bench import wrk
from contrib.harness.idmd_process import IdmdProcess

CONCURRENCY = 8
SEED = 20261125


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))
    return ordered[index]


async def run_clients(
    client: httpx.AsyncClient,
    requests: list[Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]],
    concurrency: int,
) -> tuple[list[float], float]:
    """Run ``requests`` from ``concurrency`` tasks; return per-request latencies and wall time."""
    latencies: list[float] = []
    queue = list(reversed(requests))

    async def worker() -> None:
        while queue:
            request = queue.pop()
            started = time.perf_counter()
            response = await request(client)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                raise RuntimeError(f"{response.request.url.path}: {response.status_code}")

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
    return latencies, time.perf_counter() - started


async def load(server: IdmdProcess, token: str, persons: int, groups: int) -> None:
    rng = random.Random(SEED)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=server.url, verify=server.ssl_context(), headers=headers, limits=limits,
        timeout=60,
    ) as client:

        def post(path: str, body: dict[str, object]) -> Callable[..., Awaitable[httpx.Response]]:
            return lambda c: c.post(path, json=body)

        def put(path: str, body: dict[str, object]) -> Callable[..., Awaitable[httpx.Response]]:
            return lambda c: c.put(path, json=body)

        steps: list[tuple[str, list[Callable[..., Awaitable[httpx.Response]]]]] = [
            ("persons", [
                post("/v1/person", {"name": f"user{i:05d}", "displayname": f"User {i}"})
                for i in range(persons)
            ]),
            ("persons posix", [put(f"/v1/person/user{i:05d}/posix", {}) for i in range(persons)]),
            ("groups", [post("/v1/group", {"name": f"grp{g:04d}"}) for g in range(groups)]),
            ("groups posix", [put(f"/v1/group/grp{g:04d}/posix", {}) for g in range(groups)]),
        ]
        # About 10 memberships per person: each group gets persons*10/groups random members.
        per_group = max(1, persons * 10 // max(1, groups))
        memberships = []
        for g in range(groups):
            members = [f"user{i:05d}" for i in rng.sample(range(persons), min(per_group, persons))]
            # Nesting: every tenth group also contains the next two groups.
            if g % 10 == 0:
                members += [f"grp{(g + k) % groups:04d}" for k in (1, 2)]
            memberships.append(post(f"/v1/group/grp{g:04d}/members/add", {"members": members}))
        steps.append(("memberships", memberships))
        for label, requests in steps:
            _, wall = await run_clients(client, requests, CONCURRENCY)
            print(f"  loaded {label}: {len(requests)} requests in {wall:.1f} s", flush=True)


def wrk_run(
    url: str, token: str, clients: int, seconds: int, script: Path | None = None
) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, requests/s) from wrk, as the bearer of ``token``."""
    return wrk.run(
        url, clients, seconds, headers=[f"Authorization: Bearer {token}"], script=script
    )


def measure_reads(server: IdmdProcess, persons: int, seconds: int) -> dict[str, float]:
    """unix-view GETs of random persons beside ``GET /status``, 1 and 8 connections."""
    anonymous = server.login("anonymous", None)
    script = server.workdir / "unix_views.lua"
    # wrk asks for a different person on each request, in a fixed pseudo-random order.
    script.write_text(
        f"math.randomseed({SEED})\n"
        "request = function()\n"
        f'  local path = string.format("/v1/unix/user/user%05d", math.random(0, {persons - 1}))\n'
        '  return wrk.format("GET", path)\n'
        "end\n"
    )
    results: dict[str, float] = {}
    wrk_run(f"{server.url}/v1/unix/user/user00000", anonymous, CONCURRENCY, 2, script)  # warm
    for clients, prefix in ((1, "solo_"), (CONCURRENCY, "")):
        p50, p99, rps = wrk_run(f"{server.url}/status", anonymous, clients, seconds)
        results |= {f"{prefix}status_p50_ms": p50, f"{prefix}status_p99_ms": p99,
                    f"{prefix}status_rps": rps}
        p50, p99, rps = wrk_run(f"{server.url}/", anonymous, clients, seconds, script)
        results |= {f"{prefix}unix_view_p50_ms": p50, f"{prefix}unix_view_p99_ms": p99,
                    f"{prefix}unix_view_rps": rps}
    return results


async def measure_logins(server: IdmdProcess, count: int) -> dict[str, float]:
    """Logins/s from 8 clients, each as its own account (the server's capacity), and from 8
    clients all as one account (attempts on one credential take turns: docs/security.md)."""
    names = [f"user{n:05d}" for n in range(1, CONCURRENCY + 1)]
    passwords = {name: await server.set_password_async(name) for name in names}

    async def rate(accounts: list[str]) -> float:
        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for index in range(CONCURRENCY):
                name = accounts[index % len(accounts)]

                async def worker(name: str = name) -> None:
                    for _ in range(count // CONCURRENCY):
                        await server.login_async(name, passwords[name])
                nursery.start_soon(worker)
        return (count // CONCURRENCY * CONCURRENCY) / (time.perf_counter() - started)

    return {"logins_per_s": await rate(names), "one_account_logins_per_s": await rate(names[:1])}


def measure_argon2(count: int) -> float:
    """Bare Argon2id hashes per second at the server's cost, on the same two cores."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    from idmd import limits

    def one() -> None:
        Argon2id(
            salt=os.urandom(16), length=32, iterations=limits.ARGON2_ITERATIONS,
            lanes=limits.ARGON2_LANES, memory_cost=limits.ARGON2_MEMORY_KIB,
        ).derive(b"benchmark password")

    async def main() -> float:
        limiter = trio.CapacityLimiter(limits.ARGON2_CONCURRENCY)
        started = time.perf_counter()
        async def hash_one() -> None:
            await trio.to_thread.run_sync(one, limiter=limiter)

        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(hash_one)
        return count / (time.perf_counter() - started)

    return trio.run(main)


def measure_search(db_path: Path, probe: str) -> dict[str, float]:
    """The same filter answered from the indexes and forced through a full scan."""
    from hermit_common.clock import SystemClock
    from idmd.filter import parse_filter
    from idmd.server import QueryServer

    qs = QueryServer(str(db_path), domain="bench.example", clock=SystemClock())
    try:
        filt = parse_filter({"and": [{"eq": ["class", "posix_account"]},
                                     {"eq": ["name", probe]}]})
        rounds = 200

        def timed(full_scan: bool) -> float:
            with qs.read() as txn:
                started = time.perf_counter()
                for _ in range(rounds):
                    found = txn.internal_search(
                        filt, allow_full_scan=full_scan, force_full_scan=full_scan
                    )
                    assert len(found) == 1
                return (time.perf_counter() - started) / rounds

        indexed = statistics.median(timed(False) for _ in range(3))
        full = statistics.median(timed(True) for _ in range(1))
    finally:
        qs.close()
    return {"search_indexed_ms": indexed * 1000, "search_full_scan_ms": full * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--seconds", type=int, default=10, help="per read measurement")
    parser.add_argument("--logins", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("contrib/bench/results"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("make bench needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hermit-bench-") as tmp:
        workdir = Path(tmp)
        with IdmdProcess.start(workdir) as server:
            results["rss_empty_bytes"] = server.rss_bytes()
            results["startup_empty_s"] = server.startup_seconds
            admin_token = server.login("idm_admin", server.idm_admin_password)
            print(f"loading {args.persons} persons and {args.groups} groups ...", flush=True)
            started = time.perf_counter()
            trio.run(load, server, admin_token, args.persons, args.groups)
            results["load_s"] = time.perf_counter() - started
            results.update(measure_reads(server, args.persons, args.seconds))
            results["rss_loaded_bytes"] = server.rss_bytes()
            results.update(trio.run(measure_logins, server, args.logins))
        entries = args.persons + args.groups
        results["rss_bytes_per_entry"] = (
            results["rss_loaded_bytes"] - results["rss_empty_bytes"]
        ) / entries
        with IdmdProcess.start(workdir, fresh=False) as server:
            results["startup_loaded_s"] = server.startup_seconds
        results.update(measure_search(workdir / "hermit.db", f"user{args.persons // 2:05d}"))
    results["argon2_hashes_per_s"] = measure_argon2(16)

    rows = [
        ("unix-view GET p50 (1 client)", f"{results['solo_unix_view_p50_ms']:.2f} ms",
         f"GET /status {results['solo_status_p50_ms']:.2f} ms",
         results["solo_unix_view_p50_ms"] / results["solo_status_p50_ms"]),
        ("unix-view GET p99 (1 client)", f"{results['solo_unix_view_p99_ms']:.2f} ms",
         f"GET /status {results['solo_status_p99_ms']:.2f} ms",
         results["solo_unix_view_p99_ms"] / results["solo_status_p99_ms"]),
        ("unix-view GET p50 (8 clients)", f"{results['unix_view_p50_ms']:.2f} ms",
         f"GET /status {results['status_p50_ms']:.2f} ms",
         results["unix_view_p50_ms"] / results["status_p50_ms"]),
        ("unix-view GET p99 (8 clients)", f"{results['unix_view_p99_ms']:.2f} ms",
         f"GET /status {results['status_p99_ms']:.2f} ms",
         results["unix_view_p99_ms"] / results["status_p99_ms"]),
        ("unix-view GET requests/s (8 clients)", f"{results['unix_view_rps']:.0f}/s",
         f"GET /status {results['status_rps']:.0f}/s",
         results["unix_view_rps"] / results["status_rps"]),
        ("indexed search vs full scan", f"{results['search_indexed_ms']:.3f} ms",
         f"full scan {results['search_full_scan_ms']:.1f} ms",
         results["search_full_scan_ms"] / results["search_indexed_ms"]),
        ("password logins/s (8 clients, 8 accounts)", f"{results['logins_per_s']:.1f}/s",
         f"bare Argon2id {results['argon2_hashes_per_s']:.1f}/s",
         results["logins_per_s"] / results["argon2_hashes_per_s"]),
        ("password logins/s (8 clients, 1 account)",
         f"{results['one_account_logins_per_s']:.1f}/s",
         f"bare Argon2id {results['argon2_hashes_per_s']:.1f}/s",
         results["one_account_logins_per_s"] / results["argon2_hashes_per_s"]),
        ("RSS per entry after load", f"{results['rss_bytes_per_entry']:.0f} B",
         f"empty server {results['rss_empty_bytes'] / 2**20:.1f} MiB",
         results["rss_loaded_bytes"] / results["rss_empty_bytes"]),
        (f"start-up with {entries:,} entries", f"{results['startup_loaded_s'] * 1000:.0f} ms",
         f"empty {results['startup_empty_s'] * 1000:.0f} ms",
         results["startup_loaded_s"] / results["startup_empty_s"]),
    ]
    print(
        f"\nhermit-idmd, {args.persons} persons + {args.groups} groups,"
        f" loaded in {results['load_s']:.0f} s"
    )
    print(f"{'measurement':34} {'hermit':>12}   {'same-run baseline':28} {'ratio':>7}")
    for label, value, baseline, ratio in rows:
        print(f"{label:34} {value:>12}   {baseline:28} {ratio:7.2f}")
    goals = [
        ("p99 under 5 ms (1 client)", results["solo_unix_view_p99_ms"] < 5.0),
        ("p99 under 5 ms (8 clients)", results["unix_view_p99_ms"] < 5.0),
        ("under 8 KB of RAM per entry", results["rss_bytes_per_entry"] < 8 * 1024),
    ]
    for goal, met in goals:
        print(f"goal {goal}: {'met' if met else 'NOT met'}")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"idmd-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
