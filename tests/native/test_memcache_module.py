"""libnss_hermit.so.2's memory cache (ASan + UBSan build through ctypes): answers from files
written by unixd's own writer (``unixd.resolver.memcache``) with no socket at all; expired,
missing, corrupt and replaced files; ERANGE; names the writer leaves out.

Each run is a child process (``nss_calls.py``, through nss_driver's ``run_calls``) that
may also replace or unlink a file between calls and count its mappings of one; every run
asserts no crash, no leak and no descriptor left open.
"""

from __future__ import annotations

import errno
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.native.fake_unixd import always
from tests.native.memcache_files import FUTURE, group_rec, passwd_rec, publish
from tests.native.native_build import NativeBuild
from tests.native.nss_driver import (
    ALICE,
    ALICE_BYTES,
    BOB,
    STAFF,
    Status,
    getgrnam,
    getpwnam,
    ok,
    run_calls,
)
from unixd.resolver import memcache as mc
from unixd.resolver import records
from unixd.resolver.local import parse_local_identities
from unixd.resolver.memcache import Kind


def publish_all(socket_dir: Path) -> None:
    publish(socket_dir, Kind.PASSWD, [passwd_rec(ALICE), passwd_rec(BOB)])
    publish(socket_dir, Kind.GROUP, [group_rec(STAFF)])
    publish(socket_dir, Kind.INITGROUPS, [mc.initgroups_record("alice", (70001, 80000, 80001),
                                                               FUTURE)])


def getpwuid(uid: int, buflen: int = 1024) -> dict[str, Any]:
    return {"fn": "getpwuid", "id": uid, "buflen": buflen}


def initgroups(name: str = "alice") -> dict[str, Any]:
    return {"fn": "initgroups", "name": name, "group": 70001, "start_gids": [70001], "size": 1,
            "limit": 0}


# Hits ---------------------------------------------------------------------------------------

async def test_memcache__answers_every_lookup_with_unixd_gone(
        native_build: NativeBuild, socket_dir: Path) -> None:
    publish_all(socket_dir)
    results, _ = await run_calls(native_build, socket_dir, None, [
        getpwnam("alice"), getpwuid(70002), getgrnam("staff"),
        {"fn": "getgrgid", "id": 80000, "buflen": 1024}, initgroups(),
    ])
    assert [r["status"] for r in results] == [Status.SUCCESS] * 5
    assert [r["record"] for r in results[:4]] == [ALICE, BOB, STAFF, STAFF]
    assert results[4]["gids"] == [70001, 80000, 80001]  # the primary group not added twice


async def test_memcache__a_miss_asks_the_socket_never_notfound(
        native_build: NativeBuild, socket_dir: Path) -> None:
    publish_all(socket_dir)
    results, _ = await run_calls(native_build, socket_dir, None, [
        getpwnam("carol"), getpwuid(1), getgrnam("ops"), initgroups("bob")])
    # No record and no socket: unixd is unavailable, which is not "no such user".
    assert [r["status"] for r in results] == [Status.UNAVAIL] * 4
    results, server = await run_calls(native_build, socket_dir, always(ok(user=BOB)),
                                      [getpwnam("carol")])
    assert results[0]["record"] == BOB and len(server.requests) == 1


async def test_memcache__an_expired_record_asks_the_socket(
        native_build: NativeBuild, socket_dir: Path) -> None:
    publish(socket_dir, Kind.PASSWD, [passwd_rec(ALICE, expires=1_000_000)])
    answer = {**ALICE, "gecos": "from the socket"}
    results, server = await run_calls(native_build, socket_dir, always(ok(user=answer)),
                                      [getpwnam("alice"), getpwuid(70001)])
    assert [r["record"] for r in results] == [answer, answer]
    assert len(server.requests) == 2


async def test_memcache__unixd_service_user_is_never_served(
        native_build: NativeBuild, socket_dir: Path) -> None:
    service = {**ALICE, "name": "hermit-unixd", "uid": 999}
    publish(socket_dir, Kind.PASSWD, [passwd_rec(service)])
    results, _ = await run_calls(native_build, socket_dir, always({"status": "notfound"}),
                                 [getpwuid(999)])
    assert results[0]["status"] == Status.NOTFOUND


async def test_memcache__names_the_writer_shadows_are_left_to_the_socket(
        native_build: NativeBuild, socket_dir: Path) -> None:
    """The real writer, with a local user named bob and one with alice's uid."""
    shaping = records.Shaping("name", "/bin/sh", Path("/home"), "name", "none", frozenset(),
                                 records.ShellList(socket_dir / "no-shells"))
    view = mc.CacheView(
        users=[({"uuid": "u1", "name": n, "spn": f"{n}@x", "gidnumber": i}, 1e9, 9e9)
               for n, i in (("alice", 70001), ("bob", 70002), ("dave", 70004))],
        groups=[], hidden_members=frozenset())
    local = parse_local_identities({"passwd": [{"name": "bob", "uid": 5}, {"name": "x",
                                                                                "uid": 70001}],
                                       "group": []})
    recs = mc.build(view, shaping, local, 1.5e9)
    publish(socket_dir, Kind.PASSWD, recs[Kind.PASSWD])
    results, server = await run_calls(native_build, socket_dir, always({"status": "notfound"}), [
        getpwnam("bob"), getpwuid(70001), getpwnam("alice"), getpwnam("dave")])
    assert [r["status"] for r in results] == [Status.NOTFOUND] * 3 + [Status.SUCCESS]
    assert results[3]["record"]["dir"] == "/home/dave"
    assert len(server.requests) == 3


# The caller's buffer -------------------------------------------------------------------------

async def test_memcache__small_buffers_are_erange(native_build: NativeBuild,
                                                  socket_dir: Path) -> None:
    publish_all(socket_dir)
    staff_bytes = 8 * 3 + len("staff") + 1 + 2 + len("alice") + 1 + len("bob") + 1
    results, _ = await run_calls(native_build, socket_dir, None, [
        getpwnam("alice", None), getpwnam("alice", ALICE_BYTES - 1), getpwnam("alice", ALICE_BYTES),
        getgrnam("staff", 8), getgrnam("staff", staff_bytes + 8),
    ])
    for r in (results[0], results[1], results[3]):
        assert (r["status"], r["errno"], r["touched"]) == (Status.TRYAGAIN, errno.ERANGE, False)
    assert (results[2]["record"], results[4]["record"]) == (ALICE, STAFF)


# Files that cannot be trusted ----------------------------------------------------------------

def corruptions() -> dict[str, bytes]:
    good = mc.encode(Kind.PASSWD, [passwd_rec(ALICE)])
    first = mc.HEADER_SIZE + 8 * mc.MIN_BUCKETS

    def poke(at: int, value: bytes) -> bytes:
        return good[:at] + value + good[at + len(value):]

    def with_header_crc(data: bytes) -> bytes:
        head = data[:20] + b"\0\0\0\0" + data[24:mc.HEADER_SIZE]
        return data[:20] + struct.pack("<I", zlib.crc32(head)) + data[24:]

    return {
        "empty": b"",
        "garbage": os.urandom(4096),
        "truncated": good[:-8],
        "header-only": good[:mc.HEADER_SIZE],
        "bad-magic": poke(0, b"HERMITMC"),
        "bad-header-crc": poke(24, b"\x01\x00\x00\x00"),
        "other-kind": mc.encode(Kind.GROUP, [group_rec({**STAFF, "name": "alice"})]),
        "record-crc": poke(first + mc.RECORD_HEAD + 6, b"X"),  # in the gecos
        "record-size-past-end": poke(first, b"\xff\xff\x00\x00"),
        "data-past-record": poke(first + 36, (999).to_bytes(4, "little")),
        "count-past-strings": poke(first + 32, (5).to_bytes(4, "little")),
        "buckets-past-end": with_header_crc(poke(24, (1 << 30).to_bytes(4, "little"))),
        "longer-than-header-says": good + b"\0" * 4,
    }


@pytest.mark.parametrize("damage", sorted(corruptions()))
async def test_memcache__a_damaged_file_falls_back_to_the_socket(
        native_build: NativeBuild, socket_dir: Path, damage: str) -> None:
    (socket_dir / "passwd.mc").write_bytes(corruptions()[damage])
    answer = {**ALICE, "gecos": "from the socket"}
    results, server = await run_calls(native_build, socket_dir, always(ok(user=answer)),
                                      [getpwnam("alice"), getpwnam("alice"), getpwuid(70001)])
    assert [r.get("record") for r in results] == [answer] * 3
    assert len(server.requests) == 3


async def test_memcache__a_chain_that_loops_ends(native_build: NativeBuild,
                                                 socket_dir: Path) -> None:
    good = mc.encode(Kind.PASSWD, [passwd_rec(ALICE)])
    first = mc.HEADER_SIZE + 8 * mc.MIN_BUCKETS
    # Both links of alice's record point back at itself; a name and a uid in its buckets
    # that are not alice's walk it.
    looped = good[:first + 8] + first.to_bytes(4, "little") * 2 + good[first + 16:]
    size = struct.unpack_from("<I", looped, first)[0]
    looped = (looped[:first + 4] + struct.pack("<I", zlib.crc32(looped[first + 8:first + size]))
              + looped[first + 8:])
    (socket_dir / "passwd.mc").write_bytes(looped)
    bucket = mc.fnv1a(b"alice") % mc.MIN_BUCKETS
    other = next(f"n{i}" for i in range(10_000) if mc.fnv1a(f"n{i}".encode()) % 64 == bucket)
    uid = next(u for u in range(1, 10_000) if mc.id_hash(u) % 64 == mc.id_hash(70001) % 64)
    results, server = await run_calls(native_build, socket_dir, always({"status": "notfound"}),
                                      [getpwnam(other), getpwuid(uid), getpwnam("alice")])
    assert [r["status"] for r in results] == [Status.NOTFOUND, Status.NOTFOUND, Status.SUCCESS]
    assert len(server.requests) == 2


async def test_memcache__a_directory_in_place_of_the_file(native_build: NativeBuild,
                                                          socket_dir: Path) -> None:
    (socket_dir / "passwd.mc").mkdir()
    results, server = await run_calls(native_build, socket_dir, always(ok(user=BOB)), [getpwnam()])
    assert results[0]["record"] == BOB and len(server.requests) == 1


async def test_memcache__a_replaced_file_is_mapped_anew_and_the_old_released(
        native_build: NativeBuild, socket_dir: Path) -> None:
    publish(socket_dir, Kind.PASSWD, [passwd_rec(ALICE)])
    renamed = {**ALICE, "gecos": "Alice, renamed"}
    newer = publish(socket_dir, Kind.PASSWD, [passwd_rec(renamed)], name=".passwd.mc.new")
    target = str(socket_dir / "passwd.mc")
    results, server = await run_calls(native_build, socket_dir, always(ok(user=BOB)), [
        getpwnam("alice"), {"fn": "maps", "name": "passwd.mc"},
        {"fn": "replace", "src": str(newer), "dst": target},
        getpwnam("alice"), {"fn": "maps", "name": "passwd.mc"},
        {"fn": "unlink", "path": target},
        getpwnam("alice"), {"fn": "maps", "name": "passwd.mc"},
    ])
    assert results[0]["record"] == ALICE and results[1]["count"] == 1
    assert results[3]["record"] == renamed and results[4]["count"] == 1
    assert results[6]["record"] == BOB and results[7]["count"] == 0
    assert len(server.requests) == 1


async def test_memcache__threads_share_one_mapping(native_build: NativeBuild,
                                                   socket_dir: Path) -> None:
    publish_all(socket_dir)
    results, _ = await run_calls(native_build, socket_dir, None, [
        {"fn": "threads", "name": "alice", "threads": 4, "calls": 200},
        {"fn": "maps", "name": "passwd.mc"}])
    assert results[0] == {"statuses": [Status.SUCCESS], "count": 800}
    assert results[1]["count"] == 1
