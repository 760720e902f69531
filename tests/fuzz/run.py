"""Builds and runs hermit's fuzz targets: ``make fuzz`` and the smoke test use this.

What it owns: the list of targets (``TARGETS``), building the C harnesses (``build_c``,
through tests/fuzz/Makefile), running one target for a number of seconds (``run_target``) and
judging the run. What it does not do: decide what a harness checks (each harness says), or
keep what a run found (a crash stays in the run's work directory until someone fixes it and
copies the input to ``regressions/<target>/``, see README.md).

Rules:
- One target at a time, each one libFuzzer process without ``-jobs``/``-workers`` (the
  machine is shared), stopped by ``-max_total_time`` and, should it hang, by a timeout here.
- Every run reads the seeds (``corpus/<target>``) and the kept crashes
  (``regressions/<target>``) first; those directories are never written. New inputs go to the
  work directory's ``corpus/<target>``, crashes to its ``artifacts/<target>/``.
- A run fails on a non-zero exit, any artifact, or a sanitizer's or Python's report in the
  output, so a report that does not stop the process still counts.

    .venv/bin/python -m tests.fuzz.run --seconds 60 [--work build/fuzz/work] [TARGET ...]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DICT = HERE / "json.dict"
# Seconds a run may take past -max_total_time (loading the corpus, a last slow input, the
# final report) before it is called hung and killed.
GRACE_SECONDS = 120
# An input slower than this is a hang (libFuzzer's -timeout); the parsers take microseconds.
INPUT_TIMEOUT_SECONDS = 10
# What no clean run prints. A sanitizer or a harness's CHECK aborts, which libFuzzer reports
# as a crash; these catch a report that somehow did not stop the run.
REPORT = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)"
    r"|runtime error:|broken promise:|Uncaught Python exception"
)
EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
# libFuzzer's last status line: coverage, features and corpus at the end of the run.
DONE = re.compile(r"DONE\s+(cov: \d+ ft: \d+ corp: \S+)")


@dataclass(frozen=True)
class Target:
    """One harness: ``c`` ones are built to ``<build>/fuzz/<name>_fuzz``, ``python`` ones
    run with the venv's python."""

    name: str
    language: str
    what: str
    use_dict: bool = True
    # libFuzzer's -max_len where the default (4096) would only slow a target down.
    max_len: int | None = None
    # Where the python harness, corpus/ and regressions/ are: elsewhere than tests/fuzz
    # only for the runner's own tests.
    home: Path = HERE

    @property
    def seeds(self) -> Path:
        return self.home / "corpus" / self.name

    @property
    def regressions(self) -> Path:
        return self.home / "regressions" / self.name

    def command(self, build: Path) -> list[str]:
        if self.language == "c":
            return [str(build / "fuzz" / f"{self.name}_fuzz")]
        return [sys.executable, str(self.home / f"{self.name}_fuzz.py")]


TARGETS = (
    Target("json", "c", "cclient/json.c: the bounded JSON reader and writer"),
    Target("nss_reply", "c", "nss_module/reply.c: the NSS module's reading of unixd's answers"),
    Target("nss_memcache", "c", "nss_module/memcache.c: the memory-cache files' reader",
           use_dict=False),
    Target("unixd_frames", "python", "hermit_common/framing.py: the FrameDecoder unixd reads with",
           use_dict=False, max_len=1024),
    Target("unixd_requests", "python",
           "unixd/proto/messages.py: decode_request and each op's checks"),
)


@dataclass(frozen=True)
class Result:
    target: Target
    seconds: int
    executions: int
    returncode: int | None  # None: killed as hung
    artifacts: tuple[Path, ...]
    reports: tuple[str, ...]
    output: str

    @property
    def coverage(self) -> str:
        """libFuzzer's final "cov: N ft: N corp: N/size", or "" when it did not finish."""
        found = DONE.search(self.output)
        return found.group(1) if found else ""

    @property
    def ok(self) -> bool:
        return (self.returncode == 0 and not self.artifacts and not self.reports
                and self.executions > 0)

    def describe(self) -> str:
        """What went wrong, with the tail of the output, for a failure message."""
        lines = [f"fuzz target {self.target.name}: exit {self.returncode}, "
                 f"{self.executions} executions"]
        lines += [f"  report: {r}" for r in self.reports]
        lines += [f"  input kept: {a}" for a in self.artifacts]
        lines += ["  last output:", *("    " + ln for ln in self.output.splitlines()[-40:])]
        return "\n".join(lines)


def build_c(build: Path) -> None:
    """Builds the C harnesses into ``build/fuzz`` (needs clang and libclang-rt-dev)."""
    subprocess.run(["make", "-s", "-C", str(HERE), f"BUILD_DIR={build}"], check=True,
                   stdout=subprocess.DEVNULL)


def sanitizer_env() -> dict[str, str]:
    env = dict(os.environ)
    # Leaks are reports too; UBSan's report comes with a stack. (-fno-sanitize-recover makes
    # every UBSan report fatal at build time already.)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1:symbolize=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


def run_target(target: Target, seconds: int, build: Path, work: Path) -> Result:
    """Runs ``target`` for ``seconds`` from its seeds and kept crashes, and judges the run.

    Resources: a libFuzzer process, ended before this returns; files only under ``work``.
    """
    corpus = work / "corpus" / target.name
    artifacts = work / "artifacts" / target.name
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    args = [
        f"-max_total_time={seconds}", f"-timeout={INPUT_TIMEOUT_SECONDS}",
        "-print_final_stats=1", f"-artifact_prefix={artifacts}/",
    ]
    if target.use_dict:
        args.append(f"-dict={DICT}")
    if target.max_len is not None:
        args.append(f"-max_len={target.max_len}")
    dirs = [str(corpus), str(target.seeds)]
    if target.regressions.is_dir():
        dirs.append(str(target.regressions))
    try:
        proc = subprocess.run(
            [*target.command(build), *args, *dirs], cwd=work, env=sanitizer_env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=seconds + GRACE_SECONDS, check=False,
        )
        output = proc.stdout.decode("utf-8", "replace")
        returncode: int | None = proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode("utf-8", "replace") + "\n(killed: hung)"
        returncode = None
    found = EXECUTED.search(output)
    return Result(
        target=target, seconds=seconds, executions=int(found.group(1)) if found else 0,
        returncode=returncode,
        artifacts=tuple(sorted(set(artifacts.iterdir()) - before)),
        reports=tuple(m.group(0) for m in REPORT.finditer(output)), output=output,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run hermit's fuzz targets one at a time.")
    parser.add_argument("--seconds", type=int, default=60, help="per target (default 60)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "fuzz" / "work",
                        help="new corpus entries and crashes (default build/fuzz/work)")
    parser.add_argument("--build", type=Path, default=ROOT / "build",
                        help="BUILD_DIR of the C harnesses (default build)")
    names = [t.name for t in TARGETS]
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help=f"default: all of {', '.join(names)}")
    opts = parser.parse_args(argv)
    unknown = set(opts.targets) - set(names)
    if unknown:
        parser.error(f"no such target: {', '.join(sorted(unknown))}")
    chosen = [t for t in TARGETS if not opts.targets or t.name in opts.targets]
    build_c(opts.build)
    opts.work.mkdir(parents=True, exist_ok=True)
    failed = []
    for target in chosen:
        print(f"{target.name}: {opts.seconds} s ({target.what})", flush=True)
        result = run_target(target, opts.seconds, opts.build, opts.work)
        verdict = "ok" if result.ok else "FAILED"
        print(f"{target.name}: {verdict}, {result.executions} executions"
              + (f" ({result.coverage})" if result.coverage else ""), flush=True)
        if not result.ok:
            failed.append(result)
            print(result.describe(), flush=True)
    if failed:
        print(f"{len(failed)} target(s) failed; reproduce with the harness and the kept input "
              "(tests/fuzz/README.md)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
