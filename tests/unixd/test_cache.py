"""The unixd cache on a real SQLite file in tmp_path, with a fake clock: lookups, expiry,
separate negative caches, offline password hashes keyed by the host secret, file modes, and
rebuilding a corrupt, deleted or replaced file."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from hermit_common.clock import FakeClock
from hermit_common.errors import InvalidValue
from unixd.resolver.cache import NEGATIVE_TIMEOUT_SECONDS, Cache, CacheError
from unixd.resolver.hostsecret import HOST_SECRET_BYTES, HOST_SECRET_NAME

TIMEOUT = 300.0


def unix_user(
    name: str = "alice", uid: int = 70001, uuid: str = "00000000-0000-4000-8000-000000000001"
) -> dict[str, object]:
    return {
        "uuid": uuid, "name": name, "spn": f"{name}@example.com", "displayname": name.title(),
        "gidnumber": uid, "shell": None, "ssh_keys": ["ssh-ed25519 AAAA k"],
        "valid_from": None, "expire_at": None,
        "groups": [{"uuid": uuid, "name": name, "spn": f"{name}@example.com", "gidnumber": uid}],
    }


def unix_group(
    name: str = "staff", gid: int = 70100, uuid: str = "00000000-0000-4000-8000-000000000100"
) -> dict[str, object]:
    return {
        "uuid": uuid, "name": name, "spn": f"{name}@example.com", "gidnumber": gid,
        "members": ["alice"],
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "cache.db"


@pytest.fixture
def cache(cache_path: Path, clock: FakeClock) -> Iterator[Cache]:
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)
    yield cache
    cache.close()


def reopen(cache: Cache, clock: FakeClock) -> Cache:
    cache.close()
    return Cache(cache.path, clock, cache_timeout=TIMEOUT)


# Users and groups -------------------------------------------------------------------------


def test_user__found_by_name_uid_uuid_and_spn(cache: Cache, clock: FakeClock) -> None:
    user = unix_user()
    cache.put_user(user)
    for entry in (
        cache.user_by_name("alice"),
        cache.user_by_uid(70001),
        cache.user_by_uuid("00000000-0000-4000-8000-000000000001"),
        cache.user_by_spn("alice@example.com"),
    ):
        assert entry is not None
        assert entry.data == user
        assert entry.fetched_at == clock.now()
        assert entry.expires_at == clock.now() + TIMEOUT
    assert cache.user_by_name("bob") is None
    assert cache.user_by_uid(70002) is None


def test_user__expires_after_cache_timeout_but_is_still_returned(
    cache: Cache, clock: FakeClock
) -> None:
    cache.put_user(unix_user())
    clock.advance(TIMEOUT - 1)
    entry = cache.user_by_name("alice")
    assert entry is not None and not entry.is_expired(clock.now())
    clock.advance(1)
    entry = cache.user_by_name("alice")
    assert entry is not None and entry.is_expired(clock.now())


def test_user__refetch_renews_expiry(cache: Cache, clock: FakeClock) -> None:
    cache.put_user(unix_user())
    clock.advance(TIMEOUT)
    cache.put_user(unix_user())
    entry = cache.user_by_uid(70001)
    assert entry is not None and entry.fetched_at == clock.now()
    assert not entry.is_expired(clock.now())


def test_user__rename_replaces_the_old_name(cache: Cache) -> None:
    cache.put_user(unix_user("alice"))
    cache.put_user(unix_user("alicia"))
    assert cache.user_by_name("alice") is None
    entry = cache.user_by_name("alicia")
    assert entry is not None and entry.data["spn"] == "alicia@example.com"
    assert cache.counts() == (1, 0)


def test_user__a_newer_entry_takes_a_name_or_uid_from_a_stale_one(cache: Cache) -> None:
    cache.put_user(unix_user("alice", 70001, uuid="u-old"))
    cache.put_user(unix_user("alice", 70009, uuid="u-new"))  # the name now belongs to u-new
    assert cache.user_by_uuid("u-old") is None
    cache.put_user(unix_user("bob", 70009, uuid="u-bob"))  # and the uid to u-bob
    assert cache.user_by_uuid("u-new") is None
    assert [e.data["name"] for e in cache.users()] == ["bob"]


def test_users__lists_in_uid_order(cache: Cache) -> None:
    cache.put_user(unix_user("bob", 70002, uuid="u2"))
    cache.put_user(unix_user("alice", 70001, uuid="u1"))
    assert [e.data["name"] for e in cache.users()] == ["alice", "bob"]


def test_fold_users__hands_each_user_in_uid_order_to_build(cache: Cache) -> None:
    cache.put_user(unix_user("bob", 70002, uuid="u2"))
    cache.put_user(unix_user("alice", 70001, uuid="u1"))
    seen: list[object] = []

    def build(entries: Iterator[Mapping[str, object]]) -> int:
        for entry in entries:
            seen.append(entry["name"])
        return len(seen)

    assert cache.fold_users(build) == 2
    assert seen == ["alice", "bob"]
    assert cache.fold_groups(lambda entries: list(entries)) == []


def test_delete_user__forgets_the_user_and_its_password(cache: Cache) -> None:
    cache.put_user(unix_user(uuid="u1"))
    cache.store_password("u1", "correct horse")
    cache.delete_user("u1")
    assert cache.user_by_uuid("u1") is None
    assert not cache.verify_password("u1", "correct horse")


def test_group__found_by_name_and_gid(cache: Cache, clock: FakeClock) -> None:
    group = unix_group()
    cache.put_group(group)
    for entry in (cache.group_by_name("staff"), cache.group_by_gid(70100)):
        assert entry is not None and entry.data == group
        assert entry.expires_at == clock.now() + TIMEOUT
    assert cache.group_by_name("ops") is None
    assert cache.counts() == (0, 1)


def test_group__rename_replaces_and_delete_forgets(cache: Cache) -> None:
    cache.put_group(unix_group("staff"))
    cache.put_group(unix_group("crew"))
    assert cache.group_by_name("staff") is None
    assert [g.data["name"] for g in cache.groups()] == ["crew"]
    cache.delete_group("00000000-0000-4000-8000-000000000100")
    assert cache.groups() == []


def test_users_and_groups__of_one_name_are_kept_apart(cache: Cache) -> None:
    cache.put_user(unix_user("alice", 70001, uuid="same"))
    cache.put_group(unix_group("alice", 70001, uuid="same"))
    assert cache.user_by_name("alice") is not None
    assert cache.group_by_name("alice") is not None
    assert cache.counts() == (1, 1)


# Groups known from users' views ----------------------------------------------------------

STAFF = {"uuid": "g-staff", "name": "staff", "spn": "staff@example.com", "gidnumber": 70100}


def member_of(user: dict[str, object], *refs: Mapping[str, object]) -> dict[str, object]:
    """``user`` whose view also lists the groups ``refs``."""
    groups = user["groups"]
    assert isinstance(groups, list)
    return {**user, "groups": [*groups, *refs]}


def test_group_stub__found_by_every_key_with_the_cached_users_naming_it_as_members(
    cache: Cache,
) -> None:
    cache.put_user(member_of(unix_user("bob", 70002, uuid="u2"), STAFF))
    cache.put_user(member_of(unix_user("alice", 70001, uuid="u1"), STAFF))
    expected = {**STAFF, "members": ["alice", "bob"]}
    for column, key in (("gid", 70100), ("name", "staff"), ("spn", "staff@example.com"),
                        ("uuid", "g-staff")):
        assert cache.group_stub(column, key) == expected, column
    assert cache.group_stub("gid", 70999) is None
    assert cache.counts() == (2, 0)  # a stub is no cached group


def test_group_stub__never_for_a_private_group_or_a_malformed_reference(cache: Cache) -> None:
    broken = {"uuid": "g-x", "name": "x", "spn": "x@example.com", "gidnumber": "7"}
    cache.put_user(member_of(unix_user(uuid="u1"), broken, {"name": "y"}))
    assert cache.group_stub("gid", 70001) is None  # alice's own group
    assert cache.group_stub("name", "alice") is None
    assert cache.group_stub("name", "x") is None
    assert cache.group_stub("name", "y") is None
    with pytest.raises(ValueError, match="column"):
        cache.group_stub("data", "x")


def test_group_stub__a_fetched_group_wins(cache: Cache) -> None:
    cache.put_user(member_of(unix_user(uuid="u1"), STAFF))
    cache.put_group({**STAFF, "members": ["alice", "carol"]})
    assert cache.group_stub("gid", 70100) is None
    cache.delete_group("g-staff")
    # idmd said the group is gone: alice's older view no longer makes it resolvable.
    assert cache.group_stub("gid", 70100) is None


def test_group_stub__the_latest_fetched_view_names_it(cache: Cache, clock: FakeClock) -> None:
    cache.put_user(member_of(unix_user("alice", 70001, uuid="u1"), STAFF))
    clock.advance(10)
    renamed = {**STAFF, "name": "crew", "spn": "crew@example.com"}
    cache.put_user(member_of(unix_user("bob", 70002, uuid="u2"), renamed))
    assert cache.group_stub("gid", 70100) == {**renamed, "members": ["alice", "bob"]}


def test_group_stub__gone_when_no_cached_user_names_it(cache: Cache) -> None:
    cache.put_user(member_of(unix_user("alice", 70001, uuid="u1"), STAFF))
    cache.put_user(member_of(unix_user("bob", 70002, uuid="u2"), STAFF))
    cache.put_user(unix_user("alice", 70001, uuid="u1"))  # alice left staff
    assert cache.group_stub("gid", 70100) == {**STAFF, "members": ["bob"]}
    cache.delete_user("u2")
    assert cache.group_stub("gid", 70100) is None
    cache.put_user(member_of(unix_user("bob", 70002, uuid="u2"), STAFF))
    cache.put_user(member_of(unix_user("bob", 70003, uuid="u3"), STAFF))  # takes bob's name
    assert cache.group_stub("gid", 70100) == {**STAFF, "members": ["bob"]}
    cache.replace_users([unix_user("alice", 70001, uuid="u1")])  # a listing without u3
    assert cache.group_stub("gid", 70100) is None


def test_group_stub__dropped_by_idmd_saying_the_group_is_gone(cache: Cache) -> None:
    ops = {"uuid": "g-ops", "name": "ops", "spn": "ops@example.com", "gidnumber": 70200}
    cache.put_user(member_of(unix_user(uuid="u1"), STAFF, ops))
    cache.put_group_miss(70100)
    assert cache.group_stub("name", "staff") is None
    cache.put_user(member_of(unix_user(uuid="u1"), STAFF, ops))
    cache.put_group_miss("staff@example.com")
    assert cache.group_stub("gid", 70100) is None
    assert cache.group_stub("gid", 70200) is not None
    cache.replace_groups([unix_group()])  # a full listing without ops
    assert cache.group_stub("gid", 70200) is None


def test_group_stub__clear_forgets_it(cache: Cache) -> None:
    cache.put_user(member_of(unix_user(uuid="u1"), STAFF))
    cache.clear()
    assert cache.group_stub("gid", 70100) is None


def test_user_names_with_uids__names_the_cached_users_with_those_uids(cache: Cache) -> None:
    cache.put_user(unix_user("alice", 70001, uuid="u1"))
    cache.put_user(unix_user("bob", 70002, uuid="u2"))
    assert cache.user_names_with_uids(frozenset({0, 70002, 65534})) == {"bob"}
    assert cache.user_names_with_uids(frozenset()) == frozenset()


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "a", "spn": "a@x", "gidnumber": 1},
        {"uuid": "", "name": "a", "spn": "a@x", "gidnumber": 1},
        {"uuid": "u", "name": 5, "spn": "a@x", "gidnumber": 1},
        {"uuid": "u", "name": "a", "spn": "a@x", "gidnumber": "1"},
        {"uuid": "u", "name": "a", "spn": "a@x", "gidnumber": True},
    ],
    ids=repr,
)
def test_put__refuses_an_entry_without_its_keys(cache: Cache, bad: dict[str, object]) -> None:
    with pytest.raises(InvalidValue):
        cache.put_user(bad)
    with pytest.raises(InvalidValue):
        cache.put_group(bad)
    assert cache.counts() == (0, 0)


def test_cache__survives_a_restart(cache: Cache, clock: FakeClock) -> None:
    cache.put_user(unix_user())
    cache.put_group(unix_group())
    cache = reopen(cache, clock)
    try:
        assert cache.counts() == (1, 1)
        assert cache.user_by_name("alice") is not None
    finally:
        cache.close()


# Negative caches --------------------------------------------------------------------------


def test_user_miss__expires_after_the_negative_timeout(cache: Cache, clock: FakeClock) -> None:
    cache.put_user_miss("ghost")
    assert cache.is_user_miss("ghost")
    clock.advance(NEGATIVE_TIMEOUT_SECONDS - 1)
    assert cache.is_user_miss("ghost")
    clock.advance(1)
    assert not cache.is_user_miss("ghost")


def test_misses__for_users_never_hide_groups_and_back(cache: Cache) -> None:
    cache.put_user_miss("staff")
    cache.put_group_miss("alice")
    assert cache.is_user_miss("staff") and not cache.is_group_miss("staff")
    assert cache.is_group_miss("alice") and not cache.is_user_miss("alice")


def test_misses__keep_a_name_of_digits_apart_from_an_id(cache: Cache) -> None:
    cache.put_user_miss(1000)
    assert cache.is_user_miss(1000)
    assert not cache.is_user_miss("1000")


def test_misses__are_dropped_when_the_entry_is_stored(cache: Cache) -> None:
    for key in ("alice", "alice@example.com", 70001):
        cache.put_user_miss(key)
    cache.put_group_miss("staff")
    cache.put_group_miss(70100)
    cache.put_user(unix_user())
    cache.put_group(unix_group())
    assert not any(cache.is_user_miss(k) for k in ("alice", "alice@example.com", 70001))
    assert not cache.is_group_miss("staff") and not cache.is_group_miss(70100)


def test_negative_timeout__is_configurable(cache_path: Path, clock: FakeClock) -> None:
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT, negative_timeout=2)
    try:
        cache.put_group_miss("g")
        clock.advance(2)
        assert not cache.is_group_miss("g")
    finally:
        cache.close()


# invalidate and clear --------------------------------------------------------------------


def test_invalidate__expires_everything_and_forgets_misses(cache: Cache, clock: FakeClock) -> None:
    cache.put_user(unix_user())
    cache.put_group(unix_group())
    cache.put_user_miss("ghost")
    cache.put_group_miss("ghosts")
    cache.invalidate()
    user, group = cache.user_by_name("alice"), cache.group_by_name("staff")
    assert user is not None and user.is_expired(clock.now())
    assert group is not None and group.is_expired(clock.now())
    assert not cache.is_user_miss("ghost") and not cache.is_group_miss("ghosts")
    assert cache.counts() == (1, 1)


def test_clear__forgets_everything_including_password_hashes(cache: Cache) -> None:
    cache.put_user(unix_user(uuid="u1"))
    cache.put_group(unix_group())
    cache.put_user_miss("ghost")
    cache.store_password("u1", "correct horse")
    cache.clear()
    assert cache.counts() == (0, 0)
    assert not cache.is_user_miss("ghost")
    assert not cache.verify_password("u1", "correct horse")


# Offline passwords ------------------------------------------------------------------------


def test_password__verifies_only_the_stored_password(cache: Cache) -> None:
    cache.store_password("u1", "correct horse")
    assert cache.verify_password("u1", "correct horse")
    assert not cache.verify_password("u1", "correct horsE")
    assert not cache.verify_password("u2", "correct horse")


def test_password__hash_is_argon2id_and_never_the_password(
    cache: Cache, cache_path: Path
) -> None:
    cache.store_password("u1", "correct horse")
    cache.close()
    raw = cache_path.read_bytes()
    assert b"$argon2id$" in raw
    assert b"correct horse" not in raw


def test_password__survives_a_restart(cache: Cache, clock: FakeClock) -> None:
    cache.store_password("u1", "correct horse")
    cache = reopen(cache, clock)
    try:
        assert cache.verify_password("u1", "correct horse")
    finally:
        cache.close()


def test_password__a_new_host_secret_drops_every_hash(
    cache: Cache, cache_path: Path, clock: FakeClock
) -> None:
    cache.store_password("u1", "correct horse")
    cache.close()
    (cache_path.parent / HOST_SECRET_NAME).unlink()
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)
    try:
        assert not cache.verify_password("u1", "correct horse")
    finally:
        cache.close()


def test_password__hash_is_keyed_by_the_host_secret(
    cache: Cache, cache_path: Path, clock: FakeClock
) -> None:
    # Another host's secret (the cache file copied elsewhere) cannot verify the hash.
    cache.store_password("u1", "correct horse")
    cache.close()
    secret_path = cache_path.parent / HOST_SECRET_NAME
    secret_path.write_bytes(bytes(HOST_SECRET_BYTES))  # a well-formed, different secret
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)
    try:
        assert not cache.verify_password("u1", "correct horse")
    finally:
        cache.close()


# Files: modes, the host secret, rebuilding ----------------------------------------------------


def test_files__database_and_secret_0600_in_a_0750_directory(
    cache: Cache, cache_path: Path
) -> None:
    assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o750
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
    secret = cache_path.parent / HOST_SECRET_NAME
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_bytes()) == HOST_SECRET_BYTES


def test_files__modes_do_not_depend_on_the_umask(cache_path: Path, clock: FakeClock) -> None:
    old = os.umask(0)
    try:
        Cache(cache_path, clock, cache_timeout=TIMEOUT).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o750
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600


def test_files__lax_modes_are_tightened(cache_path: Path, clock: FakeClock) -> None:
    cache_path.parent.mkdir(mode=0o777)
    cache_path.parent.chmod(0o777)
    cache_path.touch(mode=0o666)
    cache_path.chmod(0o666)
    Cache(cache_path, clock, cache_timeout=TIMEOUT).close()
    assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o750
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600


def test_host_secret__is_created_once(cache: Cache, cache_path: Path, clock: FakeClock) -> None:
    secret = (cache_path.parent / HOST_SECRET_NAME).read_bytes()
    reopen(cache, clock).close()
    assert (cache_path.parent / HOST_SECRET_NAME).read_bytes() == secret


@pytest.mark.parametrize("problem", ["short", "readable", "symlink"])
def test_host_secret__a_bad_one_is_replaced_and_hashes_dropped(
    cache: Cache, cache_path: Path, clock: FakeClock, tmp_path: Path, problem: str
) -> None:
    cache.store_password("u1", "correct horse")
    cache.close()
    secret_path = cache_path.parent / HOST_SECRET_NAME
    old = secret_path.read_bytes()
    if problem == "short":
        secret_path.write_bytes(b"x")
    elif problem == "readable":
        secret_path.chmod(0o644)
    else:
        target = tmp_path / "elsewhere"
        target.write_bytes(old)
        secret_path.unlink()
        secret_path.symlink_to(target)
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)
    try:
        assert not cache.verify_password("u1", "correct horse")
        assert not secret_path.is_symlink()
        assert stat.S_IMODE(secret_path.stat().st_mode) == 0o600
        assert secret_path.read_bytes() not in (old, b"x")
    finally:
        cache.close()


def test_files__a_symlink_as_the_database_is_refused(
    cache_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    cache_path.parent.mkdir()
    (tmp_path / "target").touch()
    cache_path.symlink_to(tmp_path / "target")
    with pytest.raises(CacheError, match="cannot open the cache file"):
        Cache(cache_path, clock, cache_timeout=TIMEOUT)


def test_files__a_directory_that_cannot_be_made_is_a_cache_error(
    tmp_path: Path, clock: FakeClock
) -> None:
    with pytest.raises(CacheError, match="cannot use as the cache directory"):
        Cache(tmp_path / "missing" / "deeper" / "cache.db", clock, cache_timeout=TIMEOUT)


def test_rebuild__a_garbage_file_at_start_is_rebuilt(
    cache_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cache_path.parent.mkdir(mode=0o750)
    cache_path.write_bytes(b"this is not a database\n" * 300)
    with caplog.at_level(logging.WARNING):
        cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)
    try:
        assert "rebuilding it empty" in caplog.text
        assert cache.counts() == (0, 0)
        cache.put_user(unix_user())
        assert cache.user_by_name("alice") is not None
        assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
    finally:
        cache.close()


def test_rebuild__garbage_written_over_an_open_file(
    cache: Cache, cache_path: Path, clock: FakeClock
) -> None:
    for uid in range(70001, 70050):
        cache.put_user(unix_user(f"user{uid}", uid, uuid=f"u{uid}"))
    cache.close()
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)  # the log is folded into the file
    size = cache_path.stat().st_size
    with open(cache_path, "r+b") as handle:
        handle.write(os.urandom(size))
    try:
        # Damage is found on the next read from the file: the cache is rebuilt, not fatal.
        assert cache.user_by_name("user70001") is None
        assert cache.users() == []
        cache.put_user(unix_user())
        assert cache.counts() == (1, 0)
    finally:
        cache.close()


def test_rebuild__garbage_over_pages_still_in_the_log_never_breaks_the_cache(
    cache: Cache, cache_path: Path, clock: FakeClock
) -> None:
    cache.put_user(unix_user())  # this commit lives in the write-ahead log
    with open(cache_path, "r+b") as handle:
        handle.write(os.urandom(cache_path.stat().st_size))
    cache.put_group(unix_group())  # answered from the log, no crash
    cache = reopen(cache, clock)  # the checkpoint on close wrote every page back from the log
    try:
        assert cache.user_by_name("alice") is not None
        cache.put_user(unix_user("bob", 70002, uuid="u2"))
        assert cache.counts() == (2, 1)
    finally:
        cache.close()


def test_rebuild__file_deleted_while_open(cache: Cache, cache_path: Path) -> None:
    cache.put_user(unix_user())
    cache_path.unlink()
    assert cache.user_by_name("alice") is None
    cache.put_group(unix_group())
    assert cache_path.exists()
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
    assert cache.counts() == (0, 1)


def test_rebuild__whole_directory_deleted_while_open(cache: Cache, cache_path: Path) -> None:
    cache.put_user(unix_user())
    for child in cache_path.parent.iterdir():
        child.unlink()
    cache_path.parent.rmdir()
    cache.put_user(unix_user())
    assert cache.counts() == (1, 0)
    assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o750


def test_rebuild__a_database_of_another_schema_is_rebuilt(
    cache: Cache, cache_path: Path, clock: FakeClock
) -> None:
    cache.put_user(unix_user())
    cache.close()
    import apsw

    conn = apsw.Connection(str(cache_path))
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)
    try:
        assert cache.counts() == (0, 0)
        cache.put_user(unix_user())
        assert cache.counts() == (1, 0)
    finally:
        cache.close()


def test_migrate__a_version_1_file_keeps_entries_and_hashes_and_gains_group_stubs(
    cache: Cache, cache_path: Path, clock: FakeClock
) -> None:
    cache.put_user(member_of(unix_user(uuid="u1"), STAFF))
    cache.store_password("u1", "correct horse")
    cache.close()
    import apsw

    # Version 1 was version 2 without group_refs; version 2 was 3 without passwords.version.
    conn = apsw.Connection(str(cache_path))
    conn.execute("DROP TABLE group_refs; ALTER TABLE passwords DROP COLUMN version; "
                 "PRAGMA user_version = 1")
    conn.close()
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)
    try:
        assert cache.user_by_uuid("u1") is not None
        assert cache.verify_password("u1", "correct horse")
        assert cache.group_stub("gid", 70100) == {**STAFF, "members": ["alice"]}
        cache.close()
        cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)  # now current: no migration
        assert cache.group_stub("name", "staff") is not None
    finally:
        cache.close()


# Password versions (issue 9, finding 7) ---------------------------------------------------


def with_version(user: dict[str, object], version: object) -> dict[str, object]:
    return {**user, "password_version": version}


def test_password_version__only_another_version_drops_the_hash(cache: Cache) -> None:
    cache.put_user(with_version(unix_user(uuid="u1"), "aaaa"))
    cache.store_password("u1", "correct horse", "aaaa")
    assert cache.password_version("u1") == "aaaa"
    cache.put_user(with_version(unix_user(uuid="u1"), "aaaa"))
    cache.put_user(unix_user(uuid="u1"))  # no key: an idmd older than versions decides nothing
    assert cache.verify_password("u1", "correct horse")
    cache.put_user(with_version(unix_user(uuid="u1"), "bbbb"))
    assert cache.password_hash("u1") is None


@pytest.mark.parametrize("version", [None, 5, ""])
def test_password_version__a_view_without_a_usable_version_drops_the_hash(
    cache: Cache, version: object
) -> None:
    cache.put_user(unix_user(uuid="u1"))
    cache.store_password("u1", "correct horse", "aaaa")
    cache.replace_users([with_version(unix_user(uuid="u1"), version)])
    assert cache.password_hash("u1") is None


def test_password_version__a_hash_without_one_goes_with_the_first_versioned_view(
    cache: Cache,
) -> None:
    cache.put_user(unix_user(uuid="u1"))
    cache.store_password("u1", "correct horse")
    assert cache.password_version("u1") is None
    cache.put_user(with_version(unix_user(uuid="u1"), "aaaa"))
    assert cache.password_hash("u1") is None


def test_migrate__a_version_2_file_keeps_hashes_without_a_version(
    cache: Cache, cache_path: Path, clock: FakeClock
) -> None:
    cache.put_user(unix_user(uuid="u1"))
    cache.store_password("u1", "correct horse", "aaaa")
    cache.close()
    import apsw

    conn = apsw.Connection(str(cache_path))
    conn.execute("ALTER TABLE passwords DROP COLUMN version; PRAGMA user_version = 2")
    conn.close()
    cache = Cache(cache_path, clock, cache_timeout=TIMEOUT)
    try:
        assert cache.verify_password("u1", "correct horse")
        assert cache.password_version("u1") is None
        cache.put_user(with_version(unix_user(uuid="u1"), "aaaa"))
        assert cache.password_hash("u1") is None
    finally:
        cache.close()
