"""Running wrk, the HTTP load generator of the idmd benchmarks, and reading its figures.

wrk is a C client that leaves the CPU to the server it loads; ``run`` starts one wrk with one
thread and answers the median and 99th percentile latency and the rate it saw.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run(
    url: str,
    clients: int,
    seconds: int,
    *,
    headers: Sequence[str] = (),
    script: Path | None = None,
) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, requests/s) of ``clients`` connections on ``url`` for ``seconds``.

    Errors: ``RuntimeError`` when wrk saw a non-2xx answer or printed no distribution.
    """
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw error answers from {url}")
    found = {q: float(v) * _UNIT_MS[unit] for q, v, unit in _PERCENTILE.findall(output)}
    rate = _RATE.search(output)
    if "50" not in found or "99" not in found or rate is None:
        raise RuntimeError("wrk printed no latency distribution")
    return found["50"], found["99"], float(rate.group(1))
