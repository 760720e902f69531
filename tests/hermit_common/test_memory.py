"""Argon2id's buffers go back to the system once the mmap threshold is pinned."""

import subprocess
import sys

PROBE = """
import sys, threading
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from idmd import limits
from hermit_common.memory import pin_mmap_threshold

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

if sys.argv[1] == "pinned":
    assert pin_mmap_threshold()

def hash_once():
    Argon2id(salt=b"0" * 16, length=32, iterations=1, lanes=1,
             memory_cost=limits.ARGON2_MEMORY_KIB).derive(b"x")

before = rss_kib()
for _ in range(3):
    threads = [threading.Thread(target=hash_once) for _ in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
print(rss_kib() - before)
"""


def grown_kib(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(result.stdout)


def test_pin_mmap_threshold__argon2_buffers_are_returned() -> None:
    # Without the pin the two threads keep their 19 MiB buffers; with it they do not.
    assert grown_kib("default") > 19 * 1024
    assert grown_kib("pinned") < 8 * 1024
