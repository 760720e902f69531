"""Keeps a daemon's memory from growing with Argon2id's working buffers (hermit-idmd's and
hermit-unixd's alike).

Each Argon2id hash allocates ``argon2id.MEMORY_KIB`` (19 MiB) in a worker thread. glibc
serves such a block with mmap and returns it on free, but it also raises its mmap threshold
after the first such free (up to 32 MiB), so every later block comes from a thread's heap arena
and stays resident: two hashing threads kept about 38 MiB for good. Pinning the threshold turns
that dynamic adjustment off, and the buffers go back to the system after each hash.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_MMAP_THRESHOLD = -3  # from <malloc.h>
# Allocations of 1 MiB and more are mmapped: far above what the entry cache and the HTTP stack
# allocate one at a time, far below Argon2id's blocks.
MMAP_THRESHOLD_BYTES = 1024 * 1024


def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
