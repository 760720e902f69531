"""The NSS memory cache's writer: the file format (read back by a small reader written here
from the format's description), what goes in (fresh, unshadowed, shaped as unixd answers),
the debounced rebuild, and the flush on invalidate, clear and local identity changes."""

from __future__ import annotations

import errno
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from hermit_common.framing import encode_frame
from tests.unixd.fake_idmd import FakeIdmd
from tests.unixd.resolver_env import TIMEOUT, Env, started_env, wait_for
from unixd.proto import limits
from unixd.proto import messages as m
from unixd.resolver import memcache as mc
from unixd.resolver import records
from unixd.resolver.local import LocalIdentities
from unixd.resolver.memcache import Kind, MemCache
from unixd.server import handle_tasks

# A reader written from the module docstring ------------------------------------------------

@dataclass(frozen=True)
class Read:
    expires: int
    id1: int
    id2: int
    strings: list[str]
    gids: list[int]


def u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "little")


def check_header(data: bytes, kind: Kind) -> dict[str, int]:
    magic, version, k, total, crc, nbuckets, name_t, id_t, first, count = struct.unpack_from(
        "<8sIIIIIIIII", data)
    assert (magic, version, k, total) == (b"hermitmc", 1, kind, len(data))
    assert crc == zlib.crc32(data[:20] + b"\0\0\0\0" + data[24:48])
    assert name_t == 48 and first == name_t + 4 * nbuckets * (1 if kind is Kind.INITGROUPS else 2)
    assert id_t == (0 if kind is Kind.INITGROUPS else name_t + 4 * nbuckets)
    return {"nbuckets": nbuckets, "name_table": name_t, "id_table": id_t, "first": first,
            "count": count}


def decode(data: bytes, off: int, kind: Kind) -> tuple[Read, int, int]:
    size, crc, next_name, next_id, expires, id1, id2, count, dlen = struct.unpack_from(
        "<IIIIqIIII", data, off)
    assert off % 4 == 0 and size % 4 == 0 and 40 + dlen <= size
    assert crc == zlib.crc32(data[off + 8:off + size])
    body = data[off + 40:off + 40 + dlen]
    gids: list[int] = []
    if kind is Kind.INITGROUPS:
        gids = [u32(body, 4 * i) for i in range(id1)]
        body = body[4 * id1:]
    strings = body.split(b"\0")
    assert strings[-1] == b"" and len(strings) == count + 1
    return Read(expires, id1, id2, [s.decode() for s in strings[:-1]], gids), next_name, next_id


def find(data: bytes, kind: Kind, key: str | int) -> Read | None:
    head = check_header(data, kind)
    if isinstance(key, str):
        table, h = head["name_table"], mc.fnv1a(key.encode())
    else:
        table, h = head["id_table"], mc.id_hash(key)
    off = u32(data, table + 4 * (h % head["nbuckets"]))
    prev = 0
    while off:
        assert off > prev  # chains only go forward
        rec, next_name, next_id = decode(data, off, kind)
        if (rec.strings[0] == key) if isinstance(key, str) else (rec.id1 == key):
            return rec
        prev, off = off, next_name if isinstance(key, str) else next_id
    return None


# The format -------------------------------------------------------------------------------

def test_encode__every_record_is_found_by_name_and_id_through_its_chain() -> None:
    # More records than MIN_BUCKETS, so chains of several records are walked.
    recs = [mc.passwd_record(m.Passwd(f"user{i}", 1000 + i, 1000 + i, f"User {i}",
                                      f"/home/user{i}", "/bin/sh"), 2_000_000_000 + i)
            for i in range(300)]
    data = mc.encode(Kind.PASSWD, recs)
    assert check_header(data, Kind.PASSWD)["count"] == 300
    for i in (0, 1, 150, 299):
        by_name = find(data, Kind.PASSWD, f"user{i}")
        assert by_name == Read(2_000_000_000 + i, 1000 + i, 1000 + i,
                               [f"user{i}", f"User {i}", f"/home/user{i}", "/bin/sh"], [])
        assert find(data, Kind.PASSWD, 1000 + i) == by_name
    assert find(data, Kind.PASSWD, "user300") is None
    assert find(data, Kind.PASSWD, 999) is None


def test_encode__group_and_initgroups_records() -> None:
    group = mc.encode(Kind.GROUP, [mc.group_record(m.Group("staff", 500, ("a", "b")), 7)])
    assert find(group, Kind.GROUP, 500) == Read(7, 500, 0, ["staff", "a", "b"], [])
    init = mc.encode(Kind.INITGROUPS, [mc.initgroups_record("alice", (500, 600), 9)])
    assert find(init, Kind.INITGROUPS, "alice") == Read(9, 2, 0, ["alice"], [500, 600])
    assert find(mc.encode(Kind.GROUP, []), Kind.GROUP, "staff") is None


def test_encode__refuses_a_file_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mc, "MAX_FILE_BYTES", 1024)
    recs = [mc.group_record(m.Group(f"g{i}", i, ()), 1) for i in range(20)]
    with pytest.raises(mc.SnapshotTooLarge):
        mc.encode(Kind.GROUP, recs)


# What goes in, through a resolver over a real cache ----------------------------------------

@pytest.fixture
async def env(tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery) -> AsyncIterator[Env]:
    env = await started_env(tmp_path, fake, nursery)
    yield env
    env.cache.close()


@pytest.fixture
def fake() -> FakeIdmd:
    fake = FakeIdmd()
    fake.add_user("alice", 70001, shell="/bin/sh")
    fake.add_user("bob", 70002)
    fake.add_group("staff", 70100, members=("alice", "bob"))
    fake.add_group("ops", 70200, members=("alice",))
    return fake


def published(env: Env, kind: Kind) -> bytes:
    return (env.tmp / "run" / kind.file_name).read_bytes()


@pytest.fixture
def memcache(env: Env) -> MemCache:
    (env.tmp / "run").mkdir()
    return MemCache(env.tmp / "run", env.resolver)


async def warm(env: Env) -> None:
    for request in (m.UserByName("alice"), m.UserByName("bob"), m.GroupByName("staff"),
                    m.GroupByName("ops")):
        assert (await env.ask(request))["status"] == "ok"


async def test_rebuild__records_are_what_unixd_answers(env: Env, memcache: MemCache) -> None:
    await warm(env)
    await memcache.rebuild()
    passwd, group = published(env, Kind.PASSWD), published(env, Kind.GROUP)
    for name in ("alice", "bob"):
        user = (await env.ask(m.UserByName(name)))["user"]
        assert isinstance(user, dict)
        rec = find(passwd, Kind.PASSWD, name)
        assert rec is not None and rec == find(passwd, Kind.PASSWD, user["uid"])
        assert rec.strings == [user["name"], user["gecos"], user["dir"], user["shell"]]
        assert (rec.id1, rec.id2) == (user["uid"], user["gid"])
        gids = (await env.ask(m.Initgroups(name)))["gids"]
        assert find(published(env, Kind.INITGROUPS), Kind.INITGROUPS, name) == Read(
            rec.expires, len(gids), 0, [name], gids)  # type: ignore[arg-type]
    staff = (await env.ask(m.GroupByName("staff")))["group"]
    assert isinstance(staff, dict)
    assert find(group, Kind.GROUP, 70100) == Read(
        find(group, Kind.GROUP, "staff").expires, 70100, 0,  # type: ignore[union-attr]
        ["staff", *staff["members"]], [])
    private = (await env.ask(m.GroupByName("alice")))["group"]
    assert private == {"name": "alice", "passwd": "*", "gid": 70001, "members": []}
    assert find(group, Kind.GROUP, "alice") == find(group, Kind.GROUP, 70001) == Read(
        find(passwd, Kind.PASSWD, "alice").expires, 70001, 0, ["alice"], [])  # type: ignore[union-attr]
    assert oct((env.tmp / "run" / "passwd.mc").stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in (env.tmp / "run").iterdir()) == [
        "group.mc", "initgroups.mc", "passwd.mc"]  # no temporary file left behind


async def test_rebuild__expiry_is_the_refresh_point_and_stale_entries_stay_out(
        env: Env, memcache: MemCache) -> None:
    await warm(env)
    fetched = env.clock.now()
    await memcache.rebuild()
    rec = find(published(env, Kind.PASSWD), Kind.PASSWD, "alice")
    assert rec is not None and rec.expires == int(fetched + 0.75 * TIMEOUT)
    env.clock.advance(0.75 * TIMEOUT + 1)
    await memcache.rebuild()
    assert find(published(env, Kind.PASSWD), Kind.PASSWD, "alice") is None


async def test_rebuild__shadowed_names_ids_and_members_stay_out(
        env: Env, memcache: MemCache) -> None:
    await warm(env)
    env.set_local([("bob", 5000), ("carol", 70001)], [("ops", 6000)])
    await memcache.rebuild()
    passwd, group = published(env, Kind.PASSWD), published(env, Kind.GROUP)
    assert find(passwd, Kind.PASSWD, "bob") is None  # local name
    assert find(passwd, Kind.PASSWD, "alice") is None  # local uid 70001
    assert find(passwd, Kind.PASSWD, 70001) is None
    assert find(published(env, Kind.INITGROUPS), Kind.INITGROUPS, "bob") is None
    assert find(group, Kind.GROUP, "ops") is None
    assert find(group, Kind.GROUP, "bob") is None  # no private group for a shadowed account
    assert find(group, Kind.GROUP, 70001) is None
    staff = find(group, Kind.GROUP, "staff")
    assert staff is not None and staff.strings == ["staff"]  # alice (by uid) and bob hidden
    assert (await env.ask(m.GroupByName("staff")))["group"]["members"] == []  # type: ignore[index]


def test_build__no_private_group_where_a_cached_group_has_the_gid() -> None:
    shaping = records.Shaping("name", "/bin/sh", Path("/home"), "name", "none", frozenset(),
                              records.ShellList(Path("/nonexistent")))
    user = {"uuid": "u", "name": "dan", "spn": "dan@x", "gidnumber": 5000}
    group = {"uuid": "g", "name": "old", "spn": "old@x", "gidnumber": 5000, "members": []}
    view = mc.CacheView(users=[(user, 100.0, 1000.0)], groups=[(group, 0.0, 1.0)],
                        hidden_members=frozenset())
    built = mc.build(view, shaping, LocalIdentities(), 200.0)
    assert [r.name for r in built[Kind.PASSWD]] == ["dan"]
    assert built[Kind.GROUP] == []  # the expired group is what unixd looks at first


async def test_rebuild__a_flush_meanwhile_discards_it(
        env: Env, memcache: MemCache, monkeypatch: pytest.MonkeyPatch) -> None:
    await warm(env)
    user_rows = env.cache.user_rows

    def flushed_while_reading() -> list[tuple[object, ...]]:
        trio.from_thread.run_sync(memcache.flush)
        return user_rows()

    monkeypatch.setattr(env.cache, "user_rows", flushed_while_reading)
    await memcache.rebuild()
    assert not list((env.tmp / "run").iterdir())
    assert memcache.rebuilds == 0


# The task: debounce and flush ----------------------------------------------------------------

@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


async def test_run__flushes_at_start_then_rebuilds_at_most_once_a_second(
        env: Env, memcache: MemCache, nursery: trio.Nursery,
        autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch) -> None:
    env.resolver.on_change = memcache.changed
    stale = env.tmp / "run" / "passwd.mc"
    stale.write_bytes(b"left by an earlier unixd")
    started: list[float] = []
    rebuild = memcache.rebuild

    async def timed() -> None:
        started.append(trio.current_time())
        await rebuild()

    monkeypatch.setattr(memcache, "rebuild", timed)
    await nursery.start(memcache.run)
    assert not stale.exists()
    await wait_for(lambda: memcache.rebuilds == 1, limit=100_000)
    await warm(env)  # several changes, one after another
    await wait_for(lambda: memcache.rebuilds == 2, limit=100_000)
    # The mock clock's times are sums of sleeps (0.001 + 1.0): compare with room for the
    # rounding of floats, which made 1.001 - 0.001 fall short of 1.0.
    assert started[1] - started[0] >= mc.REBUILD_INTERVAL_SECONDS - 1e-9
    await trio.sleep(5)
    assert memcache.rebuilds == 2  # nothing changed since
    assert find(published(env, Kind.PASSWD), Kind.PASSWD, "alice") is not None


@pytest.mark.parametrize("how", ["invalidate", "clear", "local"])
async def test_flush__unlinks_at_once_then_rebuilds(
        env: Env, memcache: MemCache, nursery: trio.Nursery, how: str) -> None:
    env.resolver.on_change, env.resolver.on_flush = memcache.changed, memcache.flush
    await warm(env)
    await memcache.rebuild()
    assert (env.tmp / "run" / "passwd.mc").exists()
    if how == "invalidate":
        await env.resolver.invalidate()
    elif how == "clear":
        await env.resolver.clear()
    else:
        env.set_local([("alice", 5000)])
        memcache.flush()  # what server.handle_tasks calls when local identities change
    assert not list((env.tmp / "run").iterdir())
    before = memcache.rebuilds
    await nursery.start(memcache.run)
    await wait_for(lambda: memcache.rebuilds > before)
    assert find(published(env, Kind.PASSWD), Kind.PASSWD, "alice") is None


async def test_run__publishes_nothing_before_the_local_identities_arrive(
        env: Env, memcache: MemCache, nursery: trio.Nursery) -> None:
    await warm(env)
    env.link.received = False  # as in a unixd started without hermit-unixd-tasks
    stale = env.tmp / "run" / "passwd.mc"
    stale.write_bytes(b"left by an earlier unixd")
    await nursery.start(memcache.run)
    assert not stale.exists()
    await trio.testing.wait_all_tasks_blocked()
    assert not list((env.tmp / "run").iterdir())
    assert memcache.rebuilds == 0
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(partial(handle_tasks, theirs, 0, link=env.link,
                               on_local_change=memcache.flush))
    await ours.send_all(encode_frame(
        {"v": 1, "id": 1, "op": "local_identities", "passwd": [{"name": "bob", "uid": 5}],
         "group": []}, limits.MAX_TASK_FRAME_BYTES))
    await wait_for(lambda: memcache.rebuilds == 1)
    passwd = published(env, Kind.PASSWD)
    assert find(passwd, Kind.PASSWD, "alice") is not None
    assert find(passwd, Kind.PASSWD, "bob") is None  # local now, and never published
    await ours.aclose()


async def test_handle_tasks__new_local_identities_flush_the_files(
        env: Env, nursery: trio.Nursery) -> None:
    flushed: list[bool] = []
    ours, theirs = trio.testing.memory_stream_pair()
    nursery.start_soon(partial(handle_tasks, theirs, 0, link=env.link,
                               on_local_change=lambda: flushed.append(True)))
    await ours.send_all(encode_frame(
        {"v": 1, "id": 1, "op": "local_identities", "passwd": [{"name": "bob", "uid": 5}],
         "group": []}, limits.MAX_TASK_FRAME_BYTES))
    await wait_for(lambda: flushed == [True])
    assert env.link.local.has_user("bob")
    await ours.aclose()


async def test_rebuild__a_failed_write_leaves_no_temporary_file(
        env: Env, memcache: MemCache, monkeypatch: pytest.MonkeyPatch) -> None:
    await warm(env)
    real = mc.write_file
    calls: list[Kind] = []

    def disk_full_on_the_second(directory: Path, kind: Kind, content: bytes) -> Path:
        calls.append(kind)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(directory, kind, content)

    monkeypatch.setattr(mc, "write_file", disk_full_on_the_second)
    with pytest.raises(OSError):
        await memcache.rebuild()
    assert not list((env.tmp / "run").iterdir())
