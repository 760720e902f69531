"""hermit-unixd benchmark: cached lookups, enumeration, PAM password latency and memory.

Starts a real hermit-idmd (TLS, its own temporary directory), fills it with ``--users``
POSIX people through the REST API, then runs hermit-unixd and hermit-unixd-tasks (root) on a
temporary config and measures, over the client socket with one connection per request (as
the NSS module does):

- cached ``user_by_name`` of a directory user: requests/s and p99 with 1 and 16 concurrent
  clients, beside the same-run baseline ``user_by_name`` of a local user (``root``, answered
  from the local identities in memory: the cost of the socket and the framing alone);
- ``user_list`` of every cached user (the enumeration ``getent passwd`` does);
- a PAM password login online (idmd checks it, unixd keeps an offline hash) and offline
  (idmd stopped; unixd checks the cached Argon2id hash);
- VmRSS of hermit-unixd, and of hermit-unixd-tasks, once every user is cached
  (goal: together under 48 MiB).

Only ratios and orders of magnitude travel: these machines are noisy and shared.

Usage (as root, from the repository): ``.venv/bin/python contrib/bench/unixd_bench.py
[--users N] [--seconds S] [--state DIR] [--bin DIR]``.

``--state DIR`` keeps the filled idmd in DIR and reuses it on the next run (filling 10 000
users takes minutes). ``--bin DIR`` runs the daemons from another installation, e.g. a
runtime-only venv made with ``python3 -m venv /tmp/rt && /tmp/rt/bin/pip install .`` (no test
extra): the development venv also holds the test tools, and some of them change what the
daemons import (schemathesis brings rich, so httpx imports its command line), so only such an
installation measures memory as a host runs it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contrib.harness.idmd_process import IdmdProcess
from contrib.harness.unixd_client import call_unixd
from contrib.harness.unixd_process import UnixdProcess, write_config
from hermit_common.framing import FrameDecoder, decode_payload, encode_frame

BIN = Path(sys.executable).parent
PASSWORD = "bench-password-0123456789"


async def fill(server: IdmdProcess, count: int) -> None:
    """``count`` POSIX people u00000.. through the REST API, 16 requests at a time."""
    token = await server.login_async("idm_admin", server.idm_admin_password)
    limiter = trio.CapacityLimiter(16)
    async with httpx.AsyncClient(base_url=server.url, verify=server.ssl_context(),
                                 headers={"Authorization": f"Bearer {token}"},
                                 timeout=60) as client:

        async def one(number: int) -> None:
            name = f"u{number:05d}"
            async with limiter:
                created = await client.post("/v1/person", json={"name": name,
                                                                 "displayname": name})
                assert created.status_code == 200, created.text
                posix = await client.put(f"/v1/person/{name}/posix", json={})
                assert posix.status_code == 200, posix.text
                if number == 0:
                    pw = await client.put(f"/v1/person/{name}/unix_password",
                                          json={"password": PASSWORD})
                    assert pw.status_code == 200, pw.text

        async with trio.open_nursery() as nursery:
            for number in range(count):
                nursery.start_soon(one, number)


def login(path: Path, name: str, password: str) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(path))
        replies = []
        for request in ({"v": 1, "op": "pam_auth_init", "name": name, "service": "bench"},
                        None):
            if request is None:
                request = {"v": 1, "op": "pam_auth_step", "session": replies[0]["session"],
                           "response": password}
            sock.sendall(encode_frame(request, 65536))
            decoder = FrameDecoder(1 << 20)
            while not isinstance(frame := decoder.next_frame(), bytes):
                decoder.feed(sock.recv(65536))
            replies.append(decode_payload(frame))
        final = replies[-1]["next"]
        assert isinstance(final, dict)
        return final


def load(path: Path, name: str, clients: int, seconds: float) -> tuple[float, float]:
    """Requests/s and p99 (ms) of user_by_name(name) from ``clients`` threads."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def worker(mine: list[float]) -> None:
        while (start := time.perf_counter()) < stop:
            reply = call_unixd(path, {"v": 1, "op": "user_by_name", "name": name})
            mine.append(time.perf_counter() - start)
            assert reply["status"] in ("ok", "notfound"), reply

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in latencies]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for mine in latencies for x in mine)
    p99 = every[int(len(every) * 0.99) - 1] if every else float("nan")
    return len(every) / elapsed, p99 * 1000


# Longer than one offline hash (about 50 ms here, a few hundred on a small host).
OFFLINE_HASH_SETTLE_S = 1.0


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def pss_mib(pid: int) -> float:
    """Proportional set size: shared library pages divided among the processes mapping them."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no Pss")


def memory_line(name: str, pid: int) -> str:
    return (f"{name} {rss_mib(pid):.1f} MiB (anonymous {rss_mib(pid, 'RssAnon'):.1f}, "
            f"files {rss_mib(pid, 'RssFile'):.1f}; PSS {pss_mib(pid):.1f})")


def timed(fn: object, *args: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--state", type=Path, default=None,
                        help="keep the filled idmd here and reuse it on later runs")
    parser.add_argument("--bin", type=Path, default=BIN,
                        help="where hermit-unixd and hermit-unixd-tasks are installed")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: hermit-unixd-tasks is part of the measurement")
    print(f"daemons from {args.bin}")
    work = Path(tempfile.mkdtemp(prefix="hu-bench-"))
    try:
        state = args.state or work / "idmd"
        filled = state / "filled"
        reuse = filled.exists() and filled.read_text() == str(args.users)
        state.mkdir(parents=True, exist_ok=True)
        with IdmdProcess.start(state, fresh=not reuse) as server:
            if reuse:
                print(f"reusing {args.users} users in {state}")
            else:
                started = time.perf_counter()
                print(f"filling idmd with {args.users} users ...", flush=True)
                trio.run(fill, server, args.users)
                print(f"filled {args.users} users in {time.perf_counter() - started:.1f} s")
                filled.write_text(str(args.users))
            run_unixd(server, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_unixd(server: IdmdProcess, work: Path, args: argparse.Namespace) -> None:
    sock = work / "sock"
    config = write_config(work, server.url, server.ca_path, home_prefix=f"{work}/home",
                          request_timeout=30, connect_timeout=2, cache_timeout=3600)
    unixd = UnixdProcess.launch(config, bin_dir=args.bin)
    tasks = None
    try:
        deadline = time.monotonic() + 30
        tasks = subprocess.Popen([str(args.bin / "hermit-unixd-tasks"), "-c", str(config)],
                                 stderr=subprocess.DEVNULL, cwd="/")
        while call_unixd(sock, {"v": 1, "op": "ssh_keys", "name": "root"}).get("keys") != []:
            assert time.monotonic() < deadline, "hermit-unixd-tasks did not connect"
            time.sleep(0.05)

        first_ms, reply = timed(call_unixd, sock, {"v": 1, "op": "user_list"})
        users = reply["users"]
        assert isinstance(users, list) and len(users) >= args.users, len(users)
        cached_ms, _ = timed(call_unixd, sock, {"v": 1, "op": "user_list"})
        print(f"user_list of {len(users)} users: first (from idmd) {first_ms:.0f} ms, "
              f"cached {cached_ms:.0f} ms")

        for clients in (1, 16):
            base_rps, base_p99 = load(sock, "root", clients, args.seconds)
            rps, p99 = load(sock, "u00001", clients, args.seconds)
            print(f"{clients:2} clients: cached user_by_name {rps:8.0f} req/s p99 {p99:6.2f} ms"
                  f" | baseline (local user) {base_rps:8.0f} req/s p99 {base_p99:6.2f} ms"
                  f" | ratio {rps / base_rps:.2f}")

        print(memory_line("before any password: hermit-unixd", unixd.pid))
        online = [timed(login, sock, "u00000", PASSWORD) for _ in range(5)]
        assert all(reply == {"kind": "success"} for _, reply in online), online
        print(f"PAM password online:  median {statistics.median(t for t, _ in online):.0f} ms")
        # unixd stores the offline hash after it answered: sampled at once, the RSS sometimes
        # holds that hash's Argon2id buffer (19 MiB, returned when it ends), not what stays.
        time.sleep(OFFLINE_HASH_SETTLE_S)
        print(memory_line("RSS: hermit-unixd", unixd.pid))
        print(memory_line("RSS: hermit-unixd-tasks", tasks.pid))
        print(f"RSS together {rss_mib(unixd.pid) + rss_mib(tasks.pid):.1f} MiB (goal < 48), "
              f"PSS together {pss_mib(unixd.pid) + pss_mib(tasks.pid):.1f} MiB")

        server.stop()
        call_unixd(sock, {"v": 1, "op": "cache_invalidate"})
        offline = [timed(login, sock, "u00000", PASSWORD) for _ in range(5)]
        assert all(reply == {"kind": "success"} for _, reply in offline), offline
        print(f"PAM password offline: median {statistics.median(t for t, _ in offline):.0f} ms")
    finally:
        if tasks is not None and tasks.poll() is None:
            os.kill(tasks.pid, signal.SIGTERM)
            tasks.wait(timeout=30)
        unixd.stop()


if __name__ == "__main__":
    main()
