"""PAM password + TOTP latency through the whole stack, beside PAM password-only in the same run.

As root, the script re-executes itself in a private mount namespace (the host's configuration
is untouched; everything it starts is stopped by pid) and there starts a real hermit-idmd (TLS,
a temporary directory) and hermit-unixd, builds pam_hermit.so and puts it into the real lib
dir with a read-only overlay (``nss_bench``'s setup), then times ``pamtester hermit-bench USER
authenticate`` answering each prompt from stdin:

- password only: accounts with a unix password (pwonly001..);
- password + TOTP: accounts whose unix credential carries a TOTP (mfa001..), enrolled through
  credential update sessions (what ``hermit person credential totp add --unix`` does); unixd
  asks for the password, then the code, and idmd checks the code (and stores its step) before
  the password;
- pamtester on pam_permit: the process and libpam cost alone.

The three are interleaved per round, so a noisy second hits each alike. idmd accepts a code once
(its step is remembered), so each MFA account logs in at most once per 30 s step: a round uses
the next account, and there are as many accounts as ``--reps``. Every account's view is cached
by unixd before timing (a ``getent passwd``), so both series measure a login, not a first fetch.
Argon2id runs at idmd's cost (``idmd.limits``: m=19 MiB, t=2, p=1) once per login on each side.

Usage (as root, from the repository): ``.venv/bin/python contrib/bench/pam_mfa_bench.py
[--reps N] [--quick]``. The JSON of the run goes to ``contrib/bench/results/pam-mfa-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pyotp
import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from contrib.bench.nss_bench import build, mount_hermit, wait_online  # noqa: E402
from contrib.harness.host_namespace import reexec_in_mount_namespace  # noqa: E402
from contrib.harness.idmd_process import IdmdProcess  # noqa: E402
from contrib.harness.unixd_process import UnixdProcess, write_config  # noqa: E402
from idmd import limits  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"
GROUP = "pam-bench"


def pwonly(i: int) -> str:
    return f"pwonly{i:03d}"


def mfa(i: int) -> str:
    return f"mfa{i:03d}"


class Api:
    """idmd's REST API as idm_admin; every request must succeed."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def ok(self, method: str, url: str, body: dict[str, object]) -> dict[str, Any]:
        response = await self.client.request(method, url, json=body)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")
        answer: dict[str, Any] = response.json()
        return answer

    async def enrol_unix_totp(self, name: str) -> pyotp.TOTP:
        """A unix TOTP through a credential update session, confirmed with the previous
        step's code so the current one is still unused; the person's app."""
        session = (await self.ok("POST", f"/v1/person/{name}/credential/update", {}))["session"]
        shown = await self.ok("POST", "/v1/credential/update/totp/begin",
                              {"session": session, "label": "phone", "unix": True})
        app = pyotp.parse_uri(str(shown["uri"]))
        assert isinstance(app, pyotp.TOTP)
        await self.ok("POST", "/v1/credential/update/totp/confirm",
                      {"session": session, "code": app.at(time.time() - app.interval)})
        await self.ok("POST", "/v1/credential/update/commit", {"session": session})
        return app


async def fill(server: IdmdProcess, reps: int, password: str) -> dict[str, pyotp.TOTP]:
    """``reps`` password-only and ``reps`` password + TOTP accounts; the MFA accounts' apps."""
    token = await server.login_async("idm_admin", server.idm_admin_password)
    apps: dict[str, pyotp.TOTP] = {}
    limiter = trio.CapacityLimiter(8)
    async with httpx.AsyncClient(base_url=server.url, verify=server.ssl_context(),
                                 headers={"Authorization": f"Bearer {token}"},
                                 timeout=120) as client:
        api = Api(client)

        async def person(name: str, with_totp: bool) -> None:
            async with limiter:
                await api.ok("POST", "/v1/person", {"name": name, "displayname": "Timing Account"})
                await api.ok("PUT", f"/v1/person/{name}/posix", {})
                await api.ok("PUT", f"/v1/person/{name}/unix_password", {"password": password})
                if with_totp:
                    apps[name] = await api.enrol_unix_totp(name)

        await api.ok("POST", "/v1/group", {"name": GROUP})
        await api.ok("PUT", f"/v1/group/{GROUP}/posix", {})
        async with trio.open_nursery() as nursery:
            for i in range(1, reps + 1):
                nursery.start_soon(person, pwonly(i), False)
                nursery.start_soon(person, mfa(i), True)
        names = [pwonly(i) for i in range(1, reps + 1)] + [mfa(i) for i in range(1, reps + 1)]
        await api.ok("POST", f"/v1/group/{GROUP}/members/add", {"members": names})
    return apps


def pamtester(service: str, user: str, answers: Sequence[str]) -> tuple[float, int]:
    """ms of one ``pamtester SERVICE USER authenticate`` and its exit code."""
    started = time.perf_counter()
    done = subprocess.run(["pamtester", service, user, "authenticate"],
                          input="".join(answer + "\n" for answer in answers),
                          capture_output=True, text=True, check=False)
    return (time.perf_counter() - started) * 1e3, done.returncode


def measure(reps: int, password: str, apps: dict[str, pyotp.TOTP]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"password": [], "password+totp": [], "pam_permit": []}
    for i in range(1, reps + 1):
        elapsed, code = pamtester("hermit-bench", pwonly(i), [password])
        if code:
            raise RuntimeError(f"{pwonly(i)}: password login failed (exit {code})")
        times["password"].append(elapsed)
        # The code is read as late as possible: a step turning mid-login is still accepted.
        elapsed, code = pamtester("hermit-bench", mfa(i), [password, apps[mfa(i)].now()])
        if code:
            raise RuntimeError(f"{mfa(i)}: password + TOTP login failed (exit {code})")
        times["password+totp"].append(elapsed)
        elapsed, code = pamtester("bench-permit", pwonly(i), ["x"])
        assert code == 0, "pam_permit refused"
        times["pam_permit"].append(elapsed)
    return times


def inside(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="hermit-pammfa-"))
    work.chmod(0o755)  # processes that dropped privileges load the module from here
    unixd: UnixdProcess | None = None
    notes: dict[str, object] = {
        "reps": args.reps,
        "argon2id": f"m={limits.ARGON2_MEMORY_KIB} KiB, t={limits.ARGON2_ITERATIONS}, "
                    f"p={limits.ARGON2_LANES}",
        "client": "pamtester, answers on stdin",
    }
    try:
        config = work / "unixd.toml"
        print("building the PAM and NSS modules ...", flush=True)
        out = build(work, config)
        (work / "idmd").mkdir()
        with IdmdProcess.start(work / "idmd") as server:
            password = secrets.token_urlsafe(18)
            started = time.perf_counter()
            print(f"filling idmd with {args.reps} password and {args.reps} TOTP accounts ...",
                  flush=True)
            apps = trio.run(fill, server, args.reps, password)
            notes["fill_seconds"] = round(time.perf_counter() - started, 1)
            write_config(work, server.url, server.ca_path, allowed_login_groups=[GROUP])
            config.chmod(0o644)
            unixd = UnixdProcess.launch(config)
            wait_online(work / "sock", unixd.proc)
            mount_hermit(work, out)
            names = [pwonly(i) for i in range(1, args.reps + 1)] + list(apps)
            warm = subprocess.run(["getent", "passwd", *names], capture_output=True, text=True,
                                  check=False)
            if len(warm.stdout.splitlines()) != len(names):
                raise RuntimeError(f"getent passwd found {len(warm.stdout.splitlines())} of "
                                   f"{len(names)} bench accounts")
            times = measure(args.reps, password, apps)
    finally:
        if unixd is not None:
            unixd.stop()
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    p90 = {name: statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]
           for name, values in times.items()}
    print("| PAM authenticate (pamtester, online) | median | p90 |\n|---|---|---|")
    for name in ("password", "password+totp", "pam_permit"):
        print(f"| {name} | {medians[name]:.1f} ms | {p90[name]:.1f} ms |")
    ratio = medians["password+totp"] / medians["password"]
    net = ((medians["password+totp"] - medians["pam_permit"])
           / (medians["password"] - medians["pam_permit"]))
    print(f"ratio password+totp / password: {ratio:.2f} "
          f"(without pamtester's own cost, the pam_permit run: {net:.2f})")
    notes.update(medians_ms={k: round(v, 2) for k, v in medians.items()},
                 p90_ms={k: round(v, 2) for k, v in p90.items()},
                 ratio=round(ratio, 3), ratio_net=round(net, 3))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / time.strftime("pam-mfa-%Y%m%dT%H%M%S.json")
    path.write_text(json.dumps({"notes": notes, "times_ms": times}, indent=1) + "\n")
    print(f"notes: {json.dumps(notes)}\nwrote {path}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=40,
                        help="logins per series (and accounts of each kind)")
    parser.add_argument("--quick", action="store_true", help="few runs: a smoke test")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = 5
    if os.geteuid() != 0:
        sys.exit("run as root: the module is mounted into a private mount namespace")
    if not args.inside:
        forwarded = list(argv if argv is not None else sys.argv[1:])
        reexec_in_mount_namespace(__file__, forwarded)
    inside(args)


if __name__ == "__main__":
    main()
