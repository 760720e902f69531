"""libnss_hermit.so.2 called straight through ctypes (ASan + UBSan build) against a scripted
hermit-unixd on a real unix socket: statuses, errno, the caller's buffer, bad answers.

Every run happens in a child process (``nss_calls.py``) with ASan preloaded; each test also
asserts that the child did not crash, that LeakSanitizer found nothing the module lost, and
that no descriptor stayed open.
"""

from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.native.fake_unixd import Action, Raw, Stall, always, frame_of
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
    one,
    python_frame,
    run_calls,
    sent,
)
from unixd.proto import limits
from unixd.proto.messages import (
    GroupByGid,
    GroupByName,
    Initgroups,
    UserByName,
    UserByUid,
    UserList,
)

# Lookups ------------------------------------------------------------------------------------


async def test_getpwnam__fills_the_record(native_build: NativeBuild, socket_dir: Path) -> None:
    result, server = await one(native_build, socket_dir, ok(user=ALICE), getpwnam())
    assert (result["status"], result["record"]) == (Status.SUCCESS, ALICE)
    assert sent(server) == [python_frame(UserByName(name="alice"))]


async def test_getpwuid__asks_by_uid_including_0(native_build: NativeBuild,
                                                 socket_dir: Path) -> None:
    results, server = await run_calls(
        native_build, socket_dir,
        lambda r: ok(user=ALICE) if r["uid"] == 70001 else {"status": "notfound"},
        [{"fn": "getpwuid", "id": 70001, "buflen": 1024},
         {"fn": "getpwuid", "id": 0, "buflen": 1024}],
    )
    assert results[0]["record"] == ALICE
    assert (results[1]["status"], results[1]["errno"]) == (Status.NOTFOUND, errno.ENOENT)
    assert sent(server) == [python_frame(UserByUid(uid=70001)), python_frame(UserByUid(uid=0))]


async def test_getgrnam_and_getgrgid__fill_the_record(native_build: NativeBuild,
                                                     socket_dir: Path) -> None:
    results, server = await run_calls(
        native_build, socket_dir, always(ok(group=STAFF)),
        [getgrnam(), {"fn": "getgrgid", "id": 80000, "buflen": 1024}],
    )
    assert [r["record"] for r in results] == [STAFF, STAFF]
    assert sent(server) == [python_frame(GroupByName(name="staff")),
                            python_frame(GroupByGid(gid=80000))]


async def test_lookup__skips_members_it_does_not_read(native_build: NativeBuild,
                                                      socket_dir: Path) -> None:
    user = {**ALICE, "future": {"nested": [1, {"x": None}]}}
    result, _ = await one(native_build, socket_dir, ok(user=user, extra=[True]), getpwnam())
    assert result["record"] == ALICE


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        ({"status": "notfound"}, Status.NOTFOUND, errno.ENOENT),
        ({"status": "unavail"}, Status.UNAVAIL, errno.EHOSTDOWN),
        ({"status": "error", "error": "internal_error", "detail": "x"}, Status.UNAVAIL,
         errno.EBADMSG),
    ],
    ids=["notfound", "unavail", "error"],
)
async def test_lookup__maps_each_status(native_build: NativeBuild, socket_dir: Path,
                                        answer: dict[str, Any], status: Status,
                                        code: int) -> None:
    for call in (getpwnam(), getgrnam(), {"fn": "getgrgid", "id": 5, "buflen": 64}):
        result, _ = await one(native_build, socket_dir, answer, call)
        assert (result["status"], result["errno"], result["touched"]) == (status, code, False)


# The caller's buffer ------------------------------------------------------------------------


@pytest.mark.parametrize("buflen", [None, 1, ALICE_BYTES - 1], ids=["null", "1", "one-short"])
async def test_getpwnam__small_buffer_is_erange_and_leaves_the_record(
    native_build: NativeBuild, socket_dir: Path, buflen: int | None
) -> None:
    result, _ = await one(native_build, socket_dir, ok(user=ALICE), getpwnam(buflen=buflen))
    assert (result["status"], result["errno"]) == (Status.TRYAGAIN, errno.ERANGE)
    assert result["touched"] is False


async def test_getpwnam__exactly_enough_buffer_succeeds(native_build: NativeBuild,
                                                         socket_dir: Path) -> None:
    result, _ = await one(native_build, socket_dir, ok(user=ALICE), getpwnam(buflen=ALICE_BYTES))
    assert result["record"] == ALICE


async def test_getgrnam__two_thousand_members(native_build: NativeBuild,
                                              socket_dir: Path) -> None:
    members = [f"member{i:04d}" for i in range(2000)]
    group = {"name": "big", "passwd": "*", "gid": 80001, "members": members}
    needed = 8 * 2001 + len("big") + 1 + 2 + sum(len(m) + 1 for m in members)
    results, _ = await run_calls(
        native_build, socket_dir, always(ok(group=group)),
        [getgrnam("big", 1024), getgrnam("big", needed - 1), getgrnam("big", needed + 8)],
    )
    for small in results[:2]:
        assert (small["status"], small["errno"], small["touched"]) == (
            Status.TRYAGAIN, errno.ERANGE, False)
    assert results[2]["record"] == group


async def test_getpwnam__a_field_larger_than_any_buffer(native_build: NativeBuild,
                                                        socket_dir: Path) -> None:
    huge = {**ALICE, "gecos": "g" * (1 << 20)}
    results, _ = await run_calls(
        native_build, socket_dir, always(ok(user=huge)),
        [getpwnam(buflen=65536), getpwnam(buflen=2 << 20)],
    )
    assert (results[0]["status"], results[0]["errno"]) == (Status.TRYAGAIN, errno.ERANGE)
    assert results[1]["record"] == huge


# Names that are never sent -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a:b", "a\nb", "x" * 300, "a/b", "a b", "a,b", "", ".", "..", "é", "hermit-unixd"],
    ids=repr,
)
async def test_lookup__names_unixd_would_refuse_are_notfound_without_io(
    native_build: NativeBuild, socket_dir: Path, name: str
) -> None:
    results, server = await run_calls(
        native_build, socket_dir, always(ok(user=ALICE)),
        [getpwnam(name), getgrnam(name),
         {"fn": "initgroups", "name": name, "group": 1, "start_gids": [1], "size": 4,
          "limit": 0}],
    )
    for result in results:
        assert (result["status"], result["errno"]) == (Status.NOTFOUND, errno.ENOENT)
    assert server.connections == 0


async def test_lookup__a_name_of_256_characters_is_asked(native_build: NativeBuild,
                                                         socket_dir: Path) -> None:
    result, server = await one(native_build, socket_dir, {"status": "notfound"},
                               getpwnam("x" * 256))
    assert result["status"] == Status.NOTFOUND
    assert server.connections == 1


async def test_lookup__unixd_naming_its_own_user_is_notfound(native_build: NativeBuild,
                                                             socket_dir: Path) -> None:
    itself = {**ALICE, "name": "hermit-unixd"}
    result, _ = await one(native_build, socket_dir, ok(user=itself),
                          {"fn": "getpwuid", "id": 999, "buflen": 1024})
    assert (result["status"], result["touched"]) == (Status.NOTFOUND, False)


async def test_lookup__uid_minus_one_is_notfound_without_io(native_build: NativeBuild,
                                                            socket_dir: Path) -> None:
    result, server = await one(native_build, socket_dir, ok(user=ALICE),
                               {"fn": "getpwuid", "id": 2**32 - 1, "buflen": 1024})
    assert result["status"] == Status.NOTFOUND
    assert server.connections == 0


# Failures -------------------------------------------------------------------------------------


async def test_lookup__unreachable_socket_is_unavail_at_once(native_build: NativeBuild,
                                                             socket_dir: Path) -> None:
    # ENOENT (not ETIMEDOUT): the module gave up on connect, without waiting for a deadline.
    results, _ = await run_calls(native_build, socket_dir, None, [getpwnam(), getgrnam()])
    for result in results:
        assert (result["status"], result["errno"]) == (Status.UNAVAIL, errno.ENOENT)


async def test_lookup__socket_nobody_listens_on_is_unavail(native_build: NativeBuild,
                                                           socket_dir: Path) -> None:
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(str(socket_dir / "sock"))
    sock.close()
    results, _ = await run_calls(native_build, socket_dir, None, [getpwnam()])
    assert (results[0]["status"], results[0]["errno"]) == (Status.UNAVAIL, errno.ECONNREFUSED)


async def test_lookup__daemon_closing_mid_frame_is_unavail(native_build: NativeBuild,
                                                           socket_dir: Path) -> None:
    partial = frame_of(json.dumps(ok(user=ALICE)).encode())[:30]
    result, _ = await one(native_build, socket_dir, Raw(partial), getpwnam())
    assert (result["status"], result["errno"]) == (Status.UNAVAIL, errno.ECONNRESET)


async def test_lookup__stalled_daemon_is_bounded_by_the_deadline(native_build: NativeBuild,
                                                                 socket_dir: Path) -> None:
    result, _ = await one(native_build, socket_dir, Stall(b"\x00\x00"), getpwnam())
    assert (result["status"], result["errno"]) == (Status.UNAVAIL, errno.ETIMEDOUT)


@pytest.mark.parametrize(
    "header",
    [(limits.MAX_RESPONSE_FRAME_BYTES + 1).to_bytes(4, "big"), b"\xff\xff\xff\xff",
     b"\x00\x00\x00\x00"],
    ids=["limit+1", "4GiB", "zero"],
)
async def test_lookup__refuses_a_bad_length_on_the_header(native_build: NativeBuild,
                                                          socket_dir: Path, header: bytes) -> None:
    result, _ = await one(native_build, socket_dir, Raw(header), getpwnam())
    assert (result["status"], result["errno"]) == (Status.UNAVAIL, errno.EBADMSG)


def user_with(**changes: Any) -> bytes:
    return json.dumps(ok(user={**ALICE, **changes})).encode()


GARBAGE = {
    "not json": b"this is not json",
    "array": b"[]",
    "no status": json.dumps({"user": ALICE}).encode(),
    "unknown status": b'{"status":"maybe"}',
    "ok without user": b'{"status":"ok"}',
    "user not an object": b'{"status":"ok","user":"alice"}',
    "missing shell": json.dumps(ok(user={k: v for k, v in ALICE.items() if k != "shell"})).encode(),
    "uid negative": user_with(uid=-1),
    "uid too big": user_with(uid=2**32 - 1),
    "uid fraction": user_with(uid=1.5),
    "uid string": user_with(uid="1"),
    "passwd not star": user_with(passwd="x"),
    "name with colon": user_with(name="a:b"),
    "name with newline": user_with(name="a\nb"),
    "name of 300": user_with(name="x" * 300),
    "gecos with colon": user_with(gecos="a:b"),
    "dir with newline": user_with(dir="/home/a\nroot::0:0::/:/bin/sh"),
    "shell with NUL": user_with(shell="/bin/sh\u0000x"),
    "two users": b'{"status":"ok","user":' + json.dumps(ALICE).encode() + b',"user":'
                 + json.dumps(ALICE).encode() + b"}",
    "two uids": json.dumps(ok(user=ALICE)).encode().replace(b'"uid": 70001',
                                                            b'"uid": 1, "uid": 70001'),
    "lone surrogate": user_with().replace(b"Alice", b"\\ud800"),
    "too deep": b'{"x":' + b"[" * 100 + b"]" * 100 + b',"status":"notfound"}',
    "trailing data": b'{"status":"notfound"} {}',
    "truncated object": user_with()[:-1],
}


@pytest.mark.parametrize("payload", GARBAGE.values(), ids=GARBAGE.keys())
async def test_lookup__garbage_is_unavail(native_build: NativeBuild, socket_dir: Path,
                                          payload: bytes) -> None:
    result, _ = await one(native_build, socket_dir, Raw(frame_of(payload)), getpwnam())
    assert (result["status"], result["errno"], result["touched"]) == (
        Status.UNAVAIL, errno.EBADMSG, False)


GROUP_GARBAGE = {
    "member with comma": {**STAFF, "members": ["a,b"]},
    "member not a string": {**STAFF, "members": [1]},
    "members not a list": {**STAFF, "members": "alice"},
    "no members": {k: v for k, v in STAFF.items() if k != "members"},
}


@pytest.mark.parametrize("group", GROUP_GARBAGE.values(), ids=GROUP_GARBAGE.keys())
async def test_getgrnam__garbage_is_unavail(native_build: NativeBuild, socket_dir: Path,
                                            group: dict[str, Any]) -> None:
    result, _ = await one(native_build, socket_dir, ok(group=group), getgrnam())
    assert (result["status"], result["errno"]) == (Status.UNAVAIL, errno.EBADMSG)


# initgroups_dyn --------------------------------------------------------------------------------


def initgroups(start: list[int], size: int, limit: int, group: int = 70001) -> dict[str, Any]:
    return {"fn": "initgroups", "name": "alice", "group": group, "start_gids": start,
            "size": size, "limit": limit}


async def test_initgroups__adds_new_gids_and_grows_the_array(native_build: NativeBuild,
                                                             socket_dir: Path) -> None:
    gids = [70001, 80000, 80001, 80002, 80003]  # the primary gid is skipped
    result, server = await one(native_build, socket_dir, ok(gids=gids),
                               initgroups([70001, 80001], size=2, limit=0))
    assert result["status"] == Status.SUCCESS
    assert result["gids"] == [70001, 80001, 80000, 80002, 80003]
    assert result["size"] >= 5
    assert sent(server) == [python_frame(Initgroups(name="alice"))]


async def test_initgroups__respects_limit(native_build: NativeBuild, socket_dir: Path) -> None:
    gids = list(range(80000, 80050))
    result, _ = await one(native_build, socket_dir, ok(gids=gids),
                          initgroups([70001], size=1, limit=10))
    assert result["status"] == Status.SUCCESS
    assert result["gids"] == [70001, *range(80000, 80009)]
    assert result["size"] == 10


@pytest.mark.parametrize(
    ("answer", "status"),
    [({"status": "notfound"}, Status.NOTFOUND), ({"status": "unavail"}, Status.UNAVAIL),
     (Raw(frame_of(b'{"status":"ok","gids":[-1]}')), Status.UNAVAIL)],
    ids=["notfound", "unavail", "garbage"],
)
async def test_initgroups__failures_leave_the_array(native_build: NativeBuild, socket_dir: Path,
                                                    answer: Action, status: Status) -> None:
    result, _ = await one(native_build, socket_dir, answer, initgroups([70001], 4, 0))
    assert (result["status"], result["gids"]) == (status, [70001])


# Enumeration -----------------------------------------------------------------------------------


async def test_getpwent__walks_the_list_fetched_once(native_build: NativeBuild,
                                                     socket_dir: Path) -> None:
    itself = {**BOB, "name": "hermit-unixd", "uid": 999}
    listing = ok(users=[ALICE, itself, BOB])
    results, server = await run_calls(
        native_build, socket_dir, always(listing),
        [{"fn": "setpwent"}, {"fn": "getpwent", "buflen": 1024},
         {"fn": "getpwent", "buflen": 4},  # too small: BOB is offered again
         {"fn": "getpwent", "buflen": 1024}, {"fn": "getpwent", "buflen": 1024},
         {"fn": "endpwent"}, {"fn": "setpwent"}, {"fn": "getpwent", "buflen": 1024},
         {"fn": "endpwent"}],
    )
    assert results[0]["status"] == Status.SUCCESS
    assert results[1]["record"] == ALICE
    assert (results[2]["status"], results[2]["errno"]) == (Status.TRYAGAIN, errno.ERANGE)
    assert results[3]["record"] == BOB
    assert (results[4]["status"], results[4]["errno"]) == (Status.NOTFOUND, errno.ENOENT)
    assert results[7]["record"] == ALICE
    assert sent(server) == [python_frame(UserList())] * 2


async def test_getgrent__walks_the_list(native_build: NativeBuild, socket_dir: Path) -> None:
    other = {"name": "wheel2", "passwd": "*", "gid": 80009, "members": []}
    results, _ = await run_calls(
        native_build, socket_dir, always(ok(groups=[STAFF, other])),
        [{"fn": "setgrent"}, {"fn": "getgrent", "buflen": 1024},
         {"fn": "getgrent", "buflen": 1024}, {"fn": "getgrent", "buflen": 1024},
         {"fn": "endgrent"}],
    )
    assert [r.get("record") for r in results[1:3]] == [STAFF, other]
    assert results[3]["status"] == Status.NOTFOUND


async def test_getpwent__unreachable_is_unavail(native_build: NativeBuild,
                                                socket_dir: Path) -> None:
    results, _ = await run_calls(
        native_build, socket_dir, None,
        [{"fn": "setpwent"}, {"fn": "getpwent", "buflen": 1024}, {"fn": "endpwent"}],
    )
    assert results[0]["status"] == Status.UNAVAIL
    assert (results[1]["status"], results[1]["errno"]) == (Status.UNAVAIL, errno.ENOENT)


async def test_getpwent__garbage_list_is_unavail(native_build: NativeBuild,
                                                 socket_dir: Path) -> None:
    broken = Raw(frame_of(json.dumps(ok(users=[ALICE, {**BOB, "uid": -5}])).encode()))
    results, _ = await run_calls(
        native_build, socket_dir, always(broken),
        [{"fn": "setpwent"}, {"fn": "getpwent", "buflen": 1024}, {"fn": "endpwent"}],
    )
    assert [r["status"] for r in results[:2]] == [Status.UNAVAIL, Status.UNAVAIL]


# Threads ----------------------------------------------------------------------------------------


async def test_lookup__many_threads_at_once(native_build: NativeBuild, socket_dir: Path) -> None:
    results, server = await run_calls(
        native_build, socket_dir, always(ok(user=ALICE)),
        [{"fn": "threads", "name": "alice", "threads": 8, "calls": 10},
         {"fn": "setpwent"}, {"fn": "endpwent"}],
    )
    assert results[0] == {"statuses": [Status.SUCCESS], "count": 80}
    assert server.connections == 81


# The library itself ------------------------------------------------------------------------------


def dynamic_symbols(path: Path) -> set[str]:
    out = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return sorted(line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line)


def test_library__exports_only_the_nss_entry_points(native_build: NativeBuild) -> None:
    assert dynamic_symbols(native_build.nss) == {
        f"_nss_hermit_{fn}" for fn in (
            "getpwnam_r", "getpwuid_r", "setpwent", "getpwent_r", "endpwent", "getgrnam_r",
            "getgrgid_r", "setgrent", "getgrent_r", "endgrent", "initgroups_dyn",
        )
    }
    assert needed(native_build.nss) == ["libc.so.6"]


def test_library__has_the_soname_glibc_loads(native_build: NativeBuild) -> None:
    out = subprocess.run(["readelf", "-d", str(native_build.nss)], capture_output=True,
                         text=True, check=True).stdout
    assert "Library soname: [libnss_hermit.so.2]" in out
