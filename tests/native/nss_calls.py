"""A child process that calls ``_nss_hermit_*`` straight through ctypes and reports raw results.

Run by tests/native/nss_driver.py as ``python nss_calls.py LIBRARY`` with a JSON list of
calls on stdin; prints one JSON object: ``results`` (one per call: ``status``, ``errno`` and
the record when the call filled one), ``fds_before``/``fds_after`` (open descriptors around
all calls) and ``leaks`` (LeakSanitizer's verdict after all calls, when ASan is preloaded).

It runs as its own process so ASan can be preloaded (``LD_PRELOAD=libasan.so``) and Python's
allocations go through malloc (``PYTHONMALLOC=malloc``), which LeakSanitizer can scan: a check
in the middle of the run then reports only memory the module lost. The process ends with
``os._exit`` so the exit-time leak check, which would count what Python does not free at
exit, never runs. A crash or an ASan/UBSan error kills the process, and the test sees it.

Calls (``fn`` plus arguments):
  getpwnam NAME BUFLEN | getpwuid ID BUFLEN | getgrnam NAME BUFLEN | getgrgid ID BUFLEN
  setpwent | getpwent BUFLEN | endpwent | setgrent | getgrent BUFLEN | endgrent
  initgroups NAME GROUP START_GIDS SIZE LIMIT
  threads NAME THREADS CALLS      (getpwnam_r from several threads at once)
  replace SRC DST | unlink PATH | maps NAME   (between calls, for the memory-cache tests:
                                               replace or unlink a file, count mappings of one)
NAME is a string (UTF-8) or a list of byte values; a BUFLEN of null passes a NULL buffer.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
from ctypes import POINTER, byref, c_char_p, c_int, c_long, c_size_t, c_uint32, c_void_p
from typing import Any

SENTINEL_ID = 0xDEADBEEF


class Passwd(ctypes.Structure):
    _fields_ = [
        ("pw_name", c_char_p), ("pw_passwd", c_char_p), ("pw_uid", c_uint32),
        ("pw_gid", c_uint32), ("pw_gecos", c_char_p), ("pw_dir", c_char_p),
        ("pw_shell", c_char_p),
    ]


class Group(ctypes.Structure):
    _fields_ = [
        ("gr_name", c_char_p), ("gr_passwd", c_char_p), ("gr_gid", c_uint32),
        ("gr_mem", POINTER(c_char_p)),
    ]


def text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "surrogateescape")


def passwd_of(pw: Passwd) -> dict[str, Any]:
    return {"name": text(pw.pw_name), "passwd": text(pw.pw_passwd), "uid": pw.pw_uid,
            "gid": pw.pw_gid, "gecos": text(pw.pw_gecos), "dir": text(pw.pw_dir),
            "shell": text(pw.pw_shell)}


def group_of(gr: Group) -> dict[str, Any]:
    members = []
    i = 0
    while gr.gr_mem[i] is not None:
        members.append(text(gr.gr_mem[i]))
        i += 1
    return {"name": text(gr.gr_name), "passwd": text(gr.gr_passwd), "gid": gr.gr_gid,
            "members": members}


def name_arg(raw: str | list[int]) -> bytes:
    return bytes(raw) if isinstance(raw, list) else raw.encode()


class Caller:
    def __init__(self, path: str) -> None:
        self.lib = ctypes.CDLL(path)
        self.libc = ctypes.CDLL(None)
        self.libc.malloc.restype = c_void_p
        self.libc.malloc.argtypes = [c_size_t]
        self.libc.free.argtypes = [c_void_p]

    def fn(self, name: str) -> Any:
        f = getattr(self.lib, f"_nss_hermit_{name}")
        f.restype = c_int
        return f

    def record_call(self, fn: str, key: Any, buflen: int | None, group: bool) -> dict[str, Any]:
        record: Group | Passwd = Group() if group else Passwd()
        if isinstance(record, Group):
            record.gr_gid = SENTINEL_ID
        else:
            record.pw_uid = SENTINEL_ID
        buf = ctypes.create_string_buffer(buflen) if buflen else None
        err = c_int(0)
        args = [] if key is None else [key]
        status = self.fn(fn)(*args, byref(record), buf, c_size_t(buflen or 0), byref(err))
        filled = status == 1
        if isinstance(record, Group):
            touched = record.gr_gid != SENTINEL_ID
            shown = group_of(record) if filled else None
        else:
            touched = record.pw_uid != SENTINEL_ID
            shown = passwd_of(record) if filled else None
        result: dict[str, Any] = {"status": status, "errno": err.value, "touched": touched}
        if shown is not None:
            result["record"] = shown
        return result

    def initgroups(self, call: dict[str, Any]) -> dict[str, Any]:
        start_gids: list[int] = call["start_gids"]
        size = max(call["size"], len(start_gids))
        array = self.libc.malloc(4 * max(size, 1))
        gids = ctypes.cast(array, POINTER(c_uint32))
        for i, gid in enumerate(start_gids):
            gids[i] = gid
        start, size_c = c_long(len(start_gids)), c_long(size)
        groupsp = c_void_p(array)
        err = c_int(0)
        status = self.fn("initgroups_dyn")(
            name_arg(call["name"]), c_uint32(call["group"]), byref(start), byref(size_c),
            byref(groupsp), c_long(call["limit"]), byref(err),
        )
        grown = ctypes.cast(groupsp, POINTER(c_uint32))
        out = [grown[i] for i in range(start.value)]
        self.libc.free(groupsp)
        return {"status": status, "errno": err.value, "gids": out, "size": size_c.value}

    def threads(self, call: dict[str, Any]) -> dict[str, Any]:
        statuses: list[int] = []
        lock = threading.Lock()

        def work() -> None:
            for _ in range(call["calls"]):
                result = self.record_call("getpwnam_r", name_arg(call["name"]), 4096, False)
                with lock:
                    statuses.append(result["status"])

        workers = [threading.Thread(target=work) for _ in range(call["threads"])]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return {"statuses": sorted(set(statuses)), "count": len(statuses)}

    def call(self, call: dict[str, Any]) -> dict[str, Any]:
        fn = call["fn"]
        if fn in ("getpwnam", "getgrnam"):
            return self.record_call(f"{fn}_r", name_arg(call["name"]), call["buflen"],
                                    fn == "getgrnam")
        if fn in ("getpwuid", "getgrgid"):
            return self.record_call(f"{fn}_r", c_uint32(call["id"]), call["buflen"],
                                    fn == "getgrgid")
        if fn in ("getpwent", "getgrent"):
            return self.record_call(f"{fn}_r", None, call["buflen"], fn == "getgrent")
        if fn in ("setpwent", "setgrent"):
            return {"status": self.fn(fn)(c_int(0))}
        if fn in ("endpwent", "endgrent"):
            return {"status": self.fn(fn)()}
        if fn == "initgroups":
            return self.initgroups(call)
        if fn == "threads":
            return self.threads(call)
        if fn == "replace":
            os.replace(call["src"], call["dst"])
            return {}
        if fn == "unlink":
            os.unlink(call["path"])
            return {}
        if fn == "maps":
            with open("/proc/self/maps") as maps:
                return {"count": sum(call["name"] in line for line in maps)}
        raise ValueError(f"unknown call {fn!r}")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def main() -> None:
    calls = json.load(sys.stdin)
    caller = Caller(sys.argv[1])
    before = open_fds()
    results = [caller.call(call) for call in calls]
    after = open_fds()
    leaks = None
    check = getattr(caller.libc, "__lsan_do_recoverable_leak_check", None)
    if check is not None:
        leaks = check()
    sys.stdout.write(json.dumps({"results": results, "fds_before": before, "fds_after": after,
                                 "leaks": leaks}))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
