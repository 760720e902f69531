"""NSS and PAM benchmark: libnss_hermit.so.2 and pam_hermit.so against glibc's ``files``, in
one run, beside the SSSD + OpenLDAP anchor (shared/anchors/sssd/RESULTS.md).

As root, the script re-executes itself in a private mount namespace (nothing of the host's
configuration changes; everything it starts is stopped by pid) and there:

- starts a real hermit-idmd (TLS, a temporary directory) and fills it with the anchor's data
  (``gen_data.py``'s layout): ``--users`` people user0001.. (default 2000), 200 groups
  grp001..grp200, each user directly in 10 groups, each group with 100 direct members, and
  nesting grp196 <- grp001, grp002; grp197 <- grp003; grp198 <- grp196; grp199 <- grp004,
  grp005 (so user0001 is in 12 groups and grp198 has 400 members);
- builds the modules with ``HERMIT_CONFIG_PATH`` pointing at a temporary unixd.toml and the
  production deadlines, starts hermit-unixd (``--allow-root``), and puts the modules into the
  real lib dir with a read-only overlay, ``passwd/group: files hermit`` in nsswitch.conf and
  two PAM services (``hermit-bench``: pam_hermit; ``bench-permit``: pam_permit);
- writes the same users and groups as /etc/passwd and /etc/group lines (direct members only,
  as the anchor did) for a nested namespace with ``files`` alone: "files, same data".

Measured (medians; process times by ``hyperfine -N`` when installed, else a loop of runs):
getent passwd (warm, and with the cache invalidated before every run), in-process
getpwnam/getgrnam rate (``nss_lookup.c``), ``id`` with 10 and 12 groups (warm, invalidated),
getent group of 100 and 400 members, the first fetch of every user and group, and pamtester
authentication online, offline (idmd stopped) and with a wrong password. Each figure is
printed beside its same-run baseline (``files`` for a host entry: ``nobody``, ``nogroup``;
pamtester on pam_permit), the same data in ``files``, and the SSSD figure. "Invalidated" is
``hermit-unix cache-invalidate`` (every entry refetched on its next use), the counterpart of
the anchor's ``sss_cache -E``.

Usage (as root, from the repository): ``.venv/bin/python contrib/bench/nss_bench.py
[--users N] [--runs N] [--cold-runs N] [--calls N] [--pam-reps N] [--quick]``. The JSON of the
run goes to ``contrib/bench/results/nss-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from contrib.harness.host_namespace import (  # noqa: E402
    reexec_in_mount_namespace,
    with_sources,
)
from contrib.harness.idmd_process import IdmdProcess  # noqa: E402
from contrib.harness.unixd_client import call_unixd, send_host_identities  # noqa: E402
from contrib.harness.unixd_process import UnixdProcess, write_config  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results"
MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                           check=True).stdout.strip() or "x86_64-linux-gnu"
LIBDIR = f"/usr/lib/{MULTIARCH}"
GROUPS = 200
PER_USER = 10
NESTS = {196: [1, 2], 197: [3], 198: [196], 199: [4, 5]}
PAM_USERS = [f"user{i:04d}" for i in range(101, 111)]
READY_S = 60.0

# shared/anchors/sssd/RESULTS.md, medians over 5 rounds on this kind of machine (ms, or /s).
SSSD = {
    "getent passwd, warm": 0.96,
    "getent passwd, invalidated": 3.97,
    "getpwnam in-process, warm": 125_267.0,
    "getgrnam in-process, warm (100 members)": 106_637.0,
    "id, warm (10 groups)": 1.50,
    "id, warm (12 groups, 2 via nesting)": 1.45,
    "id, invalidated (10 groups)": 299.19,
    "getent group, warm (100 members)": 0.98,
    "getent group, warm (400 members via nesting)": 1.09,
    "getent group, invalidated (100 members)": 31.70,
    "PAM auth OK, online": 10.89,
    "PAM auth wrong password, online": 6.52,
    "PAM auth OK, 1st after idmd stop": 9.33,
    "PAM auth OK, offline": 8.56,
    "PAM auth wrong password, offline": 9.44,
    "first fetch of every user (per user)": 3.44,
    "first fetch of every group (all)": 4300.0,
}
# The anchor's in-process figure without sssd's memory-mapped cache, for the text.
SSSD_GETPWNAM_NO_MEMCACHE = 7_205.0


def user_name(i: int) -> str:
    return f"user{i:04d}"


def group_name(k: int) -> str:
    return f"grp{k:03d}"


def user_groups(i: int) -> list[int]:
    stride = GROUPS // PER_USER
    return [((i - 1) + stride * j) % GROUPS + 1 for j in range(PER_USER)]


# Setup -----------------------------------------------------------------------------------


async def fill(server: IdmdProcess, users: int, password: str) -> None:
    """The anchor's people, groups, memberships and nesting, through the REST API."""
    token = await server.login_async("idm_admin", server.idm_admin_password)
    limiter = trio.CapacityLimiter(16)
    async with httpx.AsyncClient(base_url=server.url, verify=server.ssl_context(),
                                 headers={"Authorization": f"Bearer {token}"},
                                 timeout=120) as client:

        async def ok(method: str, url: str, body: dict[str, object]) -> None:
            async with limiter:
                response = await client.request(method, url, json=body)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")

        async def person(i: int) -> None:
            name = user_name(i)
            await ok("POST", "/v1/person", {"name": name, "displayname": f"Bench {name}"})
            await ok("PUT", f"/v1/person/{name}/posix", {})
            if name in PAM_USERS:
                await ok("PUT", f"/v1/person/{name}/unix_password", {"password": password})

        async def group(k: int) -> None:
            await ok("POST", "/v1/group", {"name": group_name(k)})
            await ok("PUT", f"/v1/group/{group_name(k)}/posix", {})

        async with trio.open_nursery() as nursery:
            for k in range(1, GROUPS + 1):
                nursery.start_soon(group, k)
            for i in range(1, users + 1):
                nursery.start_soon(person, i)
        members: dict[int, list[str]] = {k: [] for k in range(1, GROUPS + 1)}
        for i in range(1, users + 1):
            for k in user_groups(i):
                members[k].append(user_name(i))
        for k, inner in NESTS.items():
            members[k] += [group_name(c) for c in inner]
        async with trio.open_nursery() as nursery:
            for k, names in members.items():
                body: dict[str, object] = {"members": names}
                nursery.start_soon(ok, "POST", f"/v1/group/{group_name(k)}/members/add", body)


def write_files_data(work: Path, users: int) -> None:
    """/etc/passwd and /etc/group with the same users and groups (direct members only)."""
    members: dict[int, list[str]] = {k: [] for k in range(1, GROUPS + 1)}
    passwd = [Path("/etc/passwd").read_text().rstrip("\n")]
    for i in range(1, users + 1):
        name = user_name(i)
        groups = user_groups(i)
        for k in groups:
            members[k].append(name)
        passwd.append(f"{name}:x:{100000 + i}:{200000 + groups[0]}:Bench {name}:"
                      f"/home/{name}:/bin/bash")
    group = [Path("/etc/group").read_text().rstrip("\n")]
    group += [f"{group_name(k)}:x:{200000 + k}:" + ",".join(members[k]) for k in members]
    (work / "passwd-data").write_text("\n".join(passwd) + "\n")
    (work / "group-data").write_text("\n".join(group) + "\n")
    (work / "users.txt").write_text("".join(user_name(i) + "\n" for i in range(1, users + 1)))
    (work / "groups.txt").write_text("".join(group_name(k) + "\n"
                                             for k in range(1, GROUPS + 1)))
    host_users = [line.split(":", 1)[0] for line in passwd[0].splitlines() if line]
    (work / "host-users.txt").write_text("\n".join(host_users) + "\n")
    for name in ("passwd-data", "group-data"):
        (work / name).chmod(0o644)


def nsswitch(work: Path, name: str, sources: str) -> Path:
    path = work / name
    path.write_text(with_sources(Path("/etc/nsswitch.conf").read_text(), sources))
    path.chmod(0o644)
    return path


def build(work: Path, config: Path) -> Path:
    out = work / "build"
    for folder in ("nss_module", "pam_module"):
        subprocess.run(["make", "-s", "-C", str(ROOT / folder), "all", f"BUILD_DIR={out}",
                        f"HERMIT_CONFIG_PATH={config}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out / "nss_lookup"),
                    str(Path(__file__).with_name("nss_lookup.c"))], check=True)
    return out


def mount_hermit(work: Path, out: Path) -> None:
    """In this (private) namespace: the modules, nsswitch.conf and pam.d."""
    layer = work / "layer"
    (layer / "security").mkdir(parents=True)
    shutil.copy2(out / "libnss_hermit.so.2", layer)
    shutil.copy2(out / "pam_hermit.so", layer / "security")
    pamd = work / "pam.d"
    shutil.copytree("/etc/pam.d", pamd, symlinks=True)
    (pamd / "hermit-bench").write_text("auth required pam_hermit.so\n"
                                       "account required pam_hermit.so\n")
    (pamd / "bench-permit").write_text("auth required pam_permit.so\n"
                                       "account required pam_permit.so\n")
    mounts = [["mount", "-t", "overlay", "hermit-bench", "-o",
               f"lowerdir={layer}:{LIBDIR}", LIBDIR],
              ["mount", "--bind", str(nsswitch(work, "nsswitch-hermit", "files hermit")),
               "/etc/nsswitch.conf"],
              ["mount", "--bind", str(pamd), "/etc/pam.d"]]
    for argv in mounts:
        subprocess.run(argv, check=True)


def files_prefix(work: Path) -> list[str]:
    """A nested namespace where passwd and group are ``files`` alone, with the same data."""
    script = ('mount --bind "$1" /etc/nsswitch.conf && mount --bind "$2" /etc/passwd && '
              'mount --bind "$3" /etc/group && shift 3 && exec "$@"')
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "files",
            str(nsswitch(work, "nsswitch-files", "files")), str(work / "passwd-data"),
            str(work / "group-data")]


# Measuring -------------------------------------------------------------------------------


def run(argv: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False)


class Timer:
    """Medians (ms) of commands, by hyperfine -N when installed, else by a loop of runs."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.hyperfine = shutil.which("hyperfine")

    def compare(self, commands: dict[str, list[str]], runs: int, *,
                prepare: list[str] | None = None,
                prefix: Sequence[str] = ()) -> dict[str, float]:
        if self.hyperfine:
            return self._hyperfine(commands, runs, prepare, prefix)
        return self._loop(commands, runs, prepare, prefix)

    def _hyperfine(self, commands: dict[str, list[str]], runs: int,
                   prepare: list[str] | None, prefix: Sequence[str]) -> dict[str, float]:
        export = self.work / "hyperfine.json"
        argv = [*prefix, "hyperfine", "-N", "--style", "none", "--warmup",
                "1" if prepare else "3", "--runs", str(runs), "--export-json", str(export)]
        if prepare:
            argv += ["--prepare", shlex.join(prepare)]
        for name, command in commands.items():
            argv += ["-n", name, shlex.join(command)]
        done = run(argv)
        if done.returncode:
            raise RuntimeError(f"hyperfine failed: {done.stderr[-2000:]}")
        data = json.loads(export.read_text())
        return {result["command"]: statistics.median(result["times"]) * 1e3
                for result in data["results"]}

    def _loop(self, commands: dict[str, list[str]], runs: int,
              prepare: list[str] | None, prefix: Sequence[str]) -> dict[str, float]:
        # Interleaved, so that a noisy second hits every command alike; the prefix (a nested
        # namespace) is part of every run here, which hyperfine inside it would not count.
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                if prepare:
                    run(prepare)
                started = time.perf_counter()
                done = run([*prefix, *command])
                times[name].append((time.perf_counter() - started) * 1e3)
                if done.returncode:
                    raise RuntimeError(f"{command} failed: {done.stderr}")
        return {name: statistics.median(values) for name, values in times.items()}


def lookup_rate(out: Path, names: Path, calls: int, *, group: bool = False,
                prefix: Sequence[str] = (), reps: int = 3) -> float:
    rates = []
    for _ in range(reps):
        argv = [*prefix, str(out / "nss_lookup"), str(names), str(calls)]
        done = run([*argv, "--group"] if group else argv)
        if done.returncode:
            raise RuntimeError(f"nss_lookup failed: {done.stdout} {done.stderr}")
        rates.append(float(json.loads(done.stdout)["per_sec"]))
    return statistics.median(rates)


def unlock(server: IdmdProcess, names: Sequence[str]) -> None:
    token = server.login("idm_admin", server.idm_admin_password)
    with httpx.Client(base_url=server.url, verify=server.ssl_context(),
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for name in names:
            client.post(f"/v1/person/{name}/credential/unlock", json={}).raise_for_status()


def pam_auth(user: str, password: str, service: str = "hermit-bench") -> tuple[float, int]:
    started = time.perf_counter()
    done = run(["pamtester", service, user, "authenticate"], stdin=password + "\n")
    return (time.perf_counter() - started) * 1e3, done.returncode


def pam_series(password: str, reps: int, *, expect_ok: bool) -> tuple[float, float]:
    """Median ms of pamtester on hermit-bench and, interleaved, on pam_permit."""
    hermit, permit = [], []
    for i in range(reps):
        user = PAM_USERS[i % len(PAM_USERS)]
        elapsed, code = pam_auth(user, password)
        if (code == 0) != expect_ok:
            raise RuntimeError(f"pamtester {user}: exit {code}, expected ok={expect_ok}")
        hermit.append(elapsed)
        elapsed, code = pam_auth(user, "x", "bench-permit")
        assert code == 0, "pam_permit refused"
        permit.append(elapsed)
    return statistics.median(hermit), statistics.median(permit)


# Reporting ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One figure; for a rate (unit "/s") the ratios are inverted, so > 1 always means
    hermit is slower than the other."""

    name: str
    hermit: float
    unit: str = "ms"
    baseline: float | None = None
    baseline_name: str = ""
    files_data: float | None = None
    sssd: float | None = None

    def ratio(self, other: float | None) -> float | None:
        if not other:
            return None
        return other / self.hermit if self.unit == "/s" else self.hermit / other

    def value(self, number: float | None) -> str:
        if number is None:
            return "-"
        return f"{number:,.0f}/s" if self.unit == "/s" else f"{number:.2f} ms"

    def markdown(self) -> str:
        def times(number: float | None) -> str:
            return "-" if number is None else f"{number:.2f}"
        base = (f"{self.baseline_name} {self.value(self.baseline)}"
                if self.baseline is not None else "-")
        return (f"| {self.name} | {self.value(self.hermit)} | {base} | "
                f"{times(self.ratio(self.baseline))} | {self.value(self.files_data)} | "
                f"{times(self.ratio(self.files_data))} | {self.value(self.sssd)} | "
                f"{times(self.ratio(self.sssd))} |")


class Report:
    HEADER = ("| measurement | hermit | same-run baseline | x baseline | files, same data | "
              "x files data | SSSD (anchor) | x SSSD |\n|---|---|---|---|---|---|---|---|")

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, name: str, hermit: float, unit: str = "ms", *, baseline: float | None = None,
            baseline_name: str = "", files_data: float | None = None) -> None:
        row = Row(name, hermit, unit, baseline, baseline_name, files_data, SSSD.get(name))
        self.rows.append(row)
        print(row.markdown(), flush=True)


# The run ---------------------------------------------------------------------------------


# hermit-unixd rebuilds the NSS memory cache at most once a second after a change; warm
# figures are taken once the rebuild that follows a bulk warm-up has been published.
MEMCACHE_SETTLE_S = 2.5


def settle() -> None:
    time.sleep(MEMCACHE_SETTLE_S)


def measure(args: argparse.Namespace, work: Path, server: IdmdProcess, out: Path,
            config: Path, report: Report, notes: dict[str, object]) -> None:
    timer = Timer(work)
    files = files_prefix(work)
    invalidate = [str(BIN / "hermit-unix"), "-c", str(config), "cache-invalidate"]
    users = [user_name(i) for i in range(1, args.users + 1)]
    groups = [group_name(k) for k in range(1, GROUPS + 1)]
    gp, gg = ["getent", "passwd"], ["getent", "group"]
    probe = user_name(min(1234, args.users))
    print(Report.HEADER, flush=True)

    # First fetch: every user in one getent, then every group (the cache is empty).
    started = time.perf_counter()
    done = run([*gp, *users])
    assert done.returncode == 0 and len(done.stdout.splitlines()) == len(users), done.stderr
    report.add("first fetch of every user (per user)",
               (time.perf_counter() - started) * 1e3 / len(users))
    started = time.perf_counter()
    done = run([*gg, *groups])
    assert done.returncode == 0 and len(done.stdout.splitlines()) == len(groups), done.stderr
    report.add("first fetch of every group (all)", (time.perf_counter() - started) * 1e3)
    settle()

    # (a) getent passwd
    warm = timer.compare({"files": [*gp, "nobody"], "hermit": [*gp, probe]}, args.runs)
    same = timer.compare({"files": [*gp, "nobody"], "data": [*gp, probe]}, args.runs,
                         prefix=files)
    report.add("getent passwd, warm", warm["hermit"], baseline=warm["files"],
               baseline_name="`getent passwd nobody`", files_data=same["data"])
    cold = timer.compare({"files": [*gp, "nobody"], "hermit": [*gp, probe]}, args.cold_runs,
                         prepare=invalidate)
    report.add("getent passwd, invalidated", cold["hermit"], baseline=cold["files"],
               baseline_name="`getent passwd nobody`", files_data=same["data"])

    # (b) in-process lookups
    run([*gp, *users])  # warm again after the invalidations
    run([*gg, *groups])
    settle()
    host = lookup_rate(out, work / "host-users.txt", args.calls * 10)
    rate = lookup_rate(out, work / "users.txt", args.calls)
    rate_data = lookup_rate(out, work / "users.txt", args.calls, prefix=files)
    report.add("getpwnam in-process, warm", rate, "/s", baseline=host,
               baseline_name="files (host)", files_data=rate_data)
    grate = lookup_rate(out, work / "groups.txt", args.calls, group=True)
    grate_data = lookup_rate(out, work / "groups.txt", args.calls, group=True, prefix=files)
    report.add("getgrnam in-process, warm (100 members)", grate, "/s", baseline=host,
               baseline_name="files (host)", files_data=grate_data)

    # (c) id
    flat, nested = user_name(min(10, args.users)), user_name(1)
    warm = timer.compare({"files": ["id", "nobody"], "flat": ["id", flat],
                          "nested": ["id", nested]}, args.runs)
    same = timer.compare({"files": ["id", "nobody"], "data": ["id", flat]}, args.runs,
                         prefix=files)
    report.add("id, warm (10 groups)", warm["flat"], baseline=warm["files"],
               baseline_name="`id nobody`", files_data=same["data"])
    report.add("id, warm (12 groups, 2 via nesting)", warm["nested"], baseline=warm["files"],
               baseline_name="`id nobody`")
    cold = timer.compare({"files": ["id", "nobody"], "flat": ["id", flat]}, args.cold_runs,
                         prepare=invalidate)
    report.add("id, invalidated (10 groups)", cold["flat"], baseline=cold["files"],
               baseline_name="`id nobody`", files_data=same["data"])

    # (d) getent group
    run([*gg, *groups])
    settle()
    warm = timer.compare({"files": [*gg, "nogroup"], "g100": [*gg, group_name(100)],
                          "g400": [*gg, group_name(198)]}, args.runs)
    same = timer.compare({"files": [*gg, "nogroup"], "data": [*gg, group_name(100)]},
                         args.runs, prefix=files)
    report.add("getent group, warm (100 members)", warm["g100"], baseline=warm["files"],
               baseline_name="`getent group nogroup`", files_data=same["data"])
    report.add("getent group, warm (400 members via nesting)", warm["g400"],
               baseline=warm["files"], baseline_name="`getent group nogroup`")
    cold = timer.compare({"files": [*gg, "nogroup"], "g100": [*gg, group_name(100)]},
                         args.cold_runs, prepare=invalidate)
    report.add("getent group, invalidated (100 members)", cold["g100"],
               baseline=cold["files"], baseline_name="`getent group nogroup`",
               files_data=same["data"])

    # (e) PAM: online, then with idmd stopped
    password = str(notes.pop("password"))
    # A wrong password online drops the account's offline hash (the password may have been
    # changed upstream), so the right ones come after: they leave a hash for offline.
    bad, permit = pam_series("wrong-" + password, max(5, args.pam_reps // 3), expect_ok=False)
    report.add("PAM auth wrong password, online", bad, baseline=permit,
               baseline_name="pamtester+pam_permit")
    # Each failure made idmd slow the account's next attempts (its softlock): an admin lifts
    # them, as `hermit person credential unlock` does, so the right passwords are let in.
    unlock(server, PAM_USERS)
    ok, permit = pam_series(password, max(args.pam_reps, len(PAM_USERS)), expect_ok=True)
    report.add("PAM auth OK, online", ok, baseline=permit, baseline_name="pamtester+pam_permit")
    server.stop()
    first, code = pam_auth(PAM_USERS[0], password)
    assert code == 0, "the first login after idmd stopped failed"
    report.add("PAM auth OK, 1st after idmd stop", first)
    ok, permit = pam_series(password, args.pam_reps, expect_ok=True)
    report.add("PAM auth OK, offline", ok, baseline=permit, baseline_name="pamtester+pam_permit")
    bad, permit = pam_series("wrong-" + password, max(5, args.pam_reps // 3), expect_ok=False)
    report.add("PAM auth wrong password, offline", bad, baseline=permit,
               baseline_name="pamtester+pam_permit")
    status = call_unixd(work / "sock", {"op": "status"})
    notes["offline_status"] = status.get("server")
    notes["offline_getent_ok"] = run([*gp, probe]).returncode == 0


def inside(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="hermit-nssbench-"))
    work.chmod(0o755)  # processes that dropped privileges load the modules from here
    unixd: UnixdProcess | None = None
    report = Report()
    notes: dict[str, object] = {"users": args.users, "groups": GROUPS,
                                "timer": "hyperfine -N" if shutil.which("hyperfine")
                                else "subprocess loop"}
    try:
        config = work / "unixd.toml"
        print("building the NSS module and the lookup program ...", flush=True)
        out = build(work, config)
        write_files_data(work, args.users)
        (work / "idmd").mkdir()
        with IdmdProcess.start(work / "idmd") as server:
            # Random only: idmd refuses a password holding the display name ("Bench ...").
            password = secrets.token_urlsafe(18)
            started = time.perf_counter()
            print(f"filling idmd with {args.users} users and {GROUPS} groups ...", flush=True)
            trio.run(fill, server, args.users, password)
            notes["fill_seconds"] = round(time.perf_counter() - started, 1)
            print(f"filled idmd with {args.users} users and {GROUPS} groups in "
                  f"{notes['fill_seconds']} s", flush=True)
            write_config(work, server.url, server.ca_path, allowed_login_groups=["grp001"])
            config.chmod(0o644)
            unixd = UnixdProcess.launch(config)
            wait_online(work / "sock", unixd.proc)
            mount_hermit(work, out)
            notes["password"] = password
            measure(args, work, server, out, config, report, notes)
    finally:
        if unixd is not None:
            unixd.stop()
        shutil.rmtree(work, ignore_errors=True)
    notes.pop("password", None)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / time.strftime("nss-%Y%m%dT%H%M%S.json")
    rows = [asdict(row) for row in report.rows]
    path.write_text(json.dumps({"notes": notes, "rows": rows}, indent=1) + "\n")
    print(f"notes: {json.dumps(notes)}\nwrote {path}")


def wait_online(sock: Path, proc: subprocess.Popen[str]) -> None:
    """Until unixd at ``sock`` is online; then it gets the host's local identities on the
    task socket beside it (it answers nothing else before them; no tasks daemon runs here)."""
    deadline = time.monotonic() + READY_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError("hermit-unixd exited")
        try:
            if call_unixd(sock, {"op": "status"}).get("server") == "online":
                send_host_identities(sock.parent / "task.sock")
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("hermit-unixd did not come online")
        time.sleep(0.05)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=40, help="runs per warm figure")
    parser.add_argument("--cold-runs", type=int, default=15, help="runs per invalidated figure")
    parser.add_argument("--calls", type=int, default=3000, help="in-process lookups per rep")
    parser.add_argument("--pam-reps", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="few runs: a smoke test")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.cold_runs, args.calls, args.pam_reps = 5, 3, 300, 3
    if os.geteuid() != 0:
        sys.exit("run as root: the modules are mounted into a private mount namespace")
    if not args.inside:
        # Everything from here on runs in a mount namespace of its own.
        forwarded = list(argv if argv is not None else sys.argv[1:])
        reexec_in_mount_namespace(__file__, forwarded)
    inside(args)


if __name__ == "__main__":
    main()
