"""The resolver and its ops over a real cache file, with idmd faked at the provider seam only
(httpx.MockTransport): freshness and background refresh, offline answers, the back-off and
network changes, negative caches, purges, invalidate and clear, record shaping, login groups,
validity, local identities and the PAM conversation online, offline and in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from tests.unixd.fake_idmd import FakeIdmd, uuid_for
from tests.unixd.resolver_env import PASSWORD, TIMEOUT, Env, build_env, started_env, wait_for
from unixd.proto import messages as m
from unixd.resolver.cache import NEGATIVE_TIMEOUT_SECONDS
from unixd.resolver.dispatch import Peer
from unixd.resolver.pam import (
    CODE_PROMPT,
    LOCKED,
    OFFLINE_MFA_DENIED,
    WRONG_PASSWORD,
    WRONG_PASSWORD_OR_CODE,
)
from unixd.resolver.state import FIRST_BACKOFF_SECONDS
from unixd.resolver.tasklink import TaskLink


@pytest.fixture
def fake() -> FakeIdmd:
    fake = FakeIdmd()
    fake.add_user("alice", 70001, password=PASSWORD, shell="/bin/sh",
                  keys=("ssh-ed25519 AAAAC3Nza alice@laptop",))
    fake.add_user("bob", 70002, password="bob's password")
    fake.add_group("staff", 70100, members=("alice",))
    fake.add_group("ops", 70200, members=("alice", "bob"))
    return fake


@pytest.fixture
async def env(tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery) -> AsyncIterator[Env]:
    env = await started_env(tmp_path, fake, nursery)
    yield env
    env.cache.close()


# Lookups and freshness -----------------------------------------------------------------


async def test_resolver__user_by_name_shapes_the_passwd_record(env: Env) -> None:
    reply = await env.ask(m.UserByName("Alice"))
    assert reply == {"status": "ok", "user": {
        "name": "alice", "passwd": "*", "uid": 70001, "gid": 70001, "gecos": "Alice",
        "dir": "/home/alice@example.com", "shell": "/bin/sh"}}


async def test_resolver__a_fresh_entry_is_answered_from_the_cache(env: Env) -> None:
    await env.ask(m.UserByName("alice"))
    before = len(env.fake.requests)
    env.fake.down = True
    assert (await env.ask(m.UserByUid(70001)))["status"] == "ok"
    assert len(env.fake.requests) == before


async def test_resolver__an_entry_past_three_quarters_of_its_life_is_refreshed_in_background(
    env: Env,
) -> None:
    await env.ask(m.UserByName("alice"))
    env.fake.user_named("alice")["displayname"] = "Alice Renamed"
    env.clock.advance(TIMEOUT * 0.8)
    reply = await env.ask(m.UserByName("alice"))
    assert reply["user"]["gecos"] == "Alice"  # type: ignore[index]  # answered at once
    await wait_for(lambda: env.cache.user_by_name("alice").data["displayname"] == "Alice Renamed")  # type: ignore[union-attr]


async def test_resolver__an_expired_entry_is_fetched_before_answering(env: Env) -> None:
    await env.ask(m.UserByName("alice"))
    env.fake.user_named("alice")["displayname"] = "Alice Later"
    env.clock.advance(TIMEOUT + 1)
    reply = await env.ask(m.UserByName("alice"))
    assert reply["user"]["gecos"] == "Alice Later"  # type: ignore[index]


async def test_resolver__offline_answers_cached_entries_even_expired_and_unavail_otherwise(
    env: Env,
) -> None:
    env.fake.add_group("wheel", 70300)  # in no cached user's view
    await env.ask(m.UserByName("alice"))
    env.clock.advance(TIMEOUT * 10)
    env.fake.down = True
    assert (await env.ask(m.UserByName("alice")))["status"] == "ok"
    assert (await env.ask(m.UserByName("bob"))) == {"status": "unavail"}
    assert (await env.ask(m.GroupByName("wheel"))) == {"status": "unavail"}
    assert (await env.ask(m.Status()))["server"] == "offline"


async def test_resolver__offline_backs_off_until_the_network_changes(
    env: Env, autojump_clock: trio.testing.MockClock
) -> None:
    env.fake.down = True
    await env.ask(m.UserByName("bob"))
    asked = len(env.fake.requests)
    env.fake.down = False
    assert (await env.ask(m.UserByName("bob"))) == {"status": "unavail"}
    assert len(env.fake.requests) == asked  # inside the back-off: idmd is not asked
    env.resolver.network_changed()
    assert (await env.ask(m.UserByName("bob")))["status"] == "ok"
    assert env.resolver.state.is_online


async def test_resolver__offline_retries_after_the_back_off(
    env: Env, autojump_clock: trio.testing.MockClock
) -> None:
    env.fake.down = True
    await env.ask(m.UserByName("bob"))
    env.fake.down = False
    await trio.sleep(FIRST_BACKOFF_SECONDS + 1)
    assert (await env.ask(m.UserByName("bob")))["status"] == "ok"


async def test_resolver__a_hung_idmd_ends_at_the_request_deadline_and_goes_offline(
    env: Env, autojump_clock: trio.testing.MockClock
) -> None:
    env.fake.hang = True
    started = trio.current_time()
    assert (await env.ask(m.UserByName("bob"))) == {"status": "unavail"}
    assert trio.current_time() - started == pytest.approx(env.resolver.request_timeout)
    assert not env.resolver.state.is_online


async def test_resolver__negative_caches_for_users_and_groups_are_separate(env: Env) -> None:
    assert (await env.ask(m.UserByName("staff"))) == {"status": "notfound"}
    assert (await env.ask(m.GroupByName("staff")))["status"] == "ok"
    assert env.cache.is_user_miss("staff")
    assert not env.cache.is_group_miss("staff")


async def test_resolver__a_negative_answer_is_cached_until_it_expires_or_is_invalidated(
    env: Env,
) -> None:
    assert (await env.ask(m.UserByName("carol"))) == {"status": "notfound"}
    env.fake.add_user("carol", 70003)
    asked = env.fake.count("GET /v1/unix/user/carol")
    assert (await env.ask(m.UserByName("carol"))) == {"status": "notfound"}
    assert env.fake.count("GET /v1/unix/user/carol") == asked
    await env.ask(m.CacheInvalidate(), uid=0)
    assert (await env.ask(m.UserByName("carol")))["status"] == "ok"
    env.fake.add_user("dave", 70004)
    env.fake.delete_user("dave")
    await env.ask(m.UserByName("dave"))
    env.fake.add_user("dave", 70004)
    env.clock.advance(NEGATIVE_TIMEOUT_SECONDS + 1)
    assert (await env.ask(m.UserByName("dave")))["status"] == "ok"


async def test_resolver__a_user_deleted_upstream_is_purged_with_its_hash(env: Env) -> None:
    await env.ask(m.UserByName("bob"))
    uuid = uuid_for(70002)
    env.cache.store_password(uuid, "bob's password")
    env.fake.delete_user("bob")
    await env.ask(m.CacheInvalidate(), uid=0)
    assert (await env.ask(m.UserByName("bob"))) == {"status": "notfound"}
    assert env.cache.user_by_uuid(uuid) is None
    assert env.cache.password_hash(uuid) is None


async def test_resolver__a_renamed_user_is_followed_by_uuid(env: Env) -> None:
    await env.ask(m.UserByName("bob"))
    user = env.fake.user_named("bob")
    user["name"], user["spn"] = "robert", "robert@example.com"
    env.clock.advance(TIMEOUT + 1)
    assert (await env.ask(m.UserByName("bob"))) == {"status": "notfound"}
    assert (await env.ask(m.UserByUid(70002)))["user"]["name"] == "robert"  # type: ignore[index]
    assert env.resolver.old_aliases[uuid_for(70002)] == {"/home/bob@example.com"}


async def test_resolver__enumeration_lists_and_drops_users_idmd_no_longer_has(env: Env) -> None:
    reply = await env.ask(m.UserList())
    assert [u["name"] for u in reply["users"]] == ["alice", "bob"]  # type: ignore[attr-defined]
    env.fake.delete_user("bob")
    await env.ask(m.CacheInvalidate(), uid=0)
    reply = await env.ask(m.UserList())
    assert [u["name"] for u in reply["users"]] == ["alice"]  # type: ignore[attr-defined]


async def test_resolver__enumeration_offline_answers_the_cache_or_unavail(
    tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery
) -> None:
    env, resolver = build_env(tmp_path, fake)
    fake.down = True
    await nursery.start(resolver.run)
    assert (await env.ask(m.UserList())) == {"status": "unavail"}
    assert (await env.ask(m.GroupList())) == {"status": "unavail"}


async def test_resolver__groups_members_and_private_groups(env: Env) -> None:
    assert (await env.ask(m.GroupByName("ops")))["group"] == {
        "name": "ops", "passwd": "*", "gid": 70200, "members": ["alice", "bob"]}
    assert (await env.ask(m.GroupByGid(70001)))["group"] == {
        "name": "alice", "passwd": "*", "gid": 70001, "members": []}
    listed = await env.ask(m.GroupList())
    assert [g["name"] for g in listed["groups"]] == ["staff", "ops"]  # type: ignore[attr-defined]
    assert (await env.ask(m.Initgroups("alice"))) == {"status": "ok", "gids": [70100, 70200]}


async def test_resolver__name_format_spn_shows_spns_for_users_groups_and_members(
    tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery
) -> None:
    env, resolver = build_env(tmp_path, fake, name_format="spn", home_alias="none")
    await nursery.start(resolver.run)
    user = (await env.ask(m.UserByName("alice@example.com")))["user"]
    assert user["name"] == "alice@example.com"  # type: ignore[index]
    assert user["dir"] == f"/home/{uuid_for(70001)}"  # type: ignore[index]
    group = (await env.ask(m.GroupByName("ops")))["group"]
    assert group["members"] == ["alice@example.com", "bob@example.com"]  # type: ignore[index]


async def test_resolver__a_shell_not_in_etc_shells_or_not_executable_becomes_the_default(
    env: Env,
) -> None:
    env.fake.user_named("bob")["shell"] = "/usr/bin/zsh-not-here"  # listed, not executable
    assert (await env.ask(m.UserByName("bob")))["user"]["shell"] == "/bin/bash"  # type: ignore[index]
    env.shells.write_text("/bin/bash\n")  # /bin/sh no longer listed
    await env.ask(m.CacheInvalidate(), uid=0)
    assert (await env.ask(m.UserByName("alice")))["user"]["shell"] == "/bin/bash"  # type: ignore[index]


async def test_resolver__ssh_keys_and_their_absence(env: Env) -> None:
    assert (await env.ask(m.SshKeys("alice"))) == {
        "status": "ok", "keys": ["ssh-ed25519 AAAAC3Nza alice@laptop"]}
    assert (await env.ask(m.SshKeys("nobody-here"))) == {"status": "notfound"}


# Local identities win ------------------------------------------------------------------


async def test_resolver__a_local_name_or_id_shadows_the_directory_for_every_op(env: Env) -> None:
    env.set_local([("alice", 1000), ("svc", 70002)], groups=[("ops", 300)])
    assert (await env.ask(m.UserByName("alice"))) == {"status": "notfound"}
    assert (await env.ask(m.UserByUid(70001))) == {"status": "notfound"}  # alice by uid
    assert (await env.ask(m.UserByName("bob"))) == {"status": "notfound"}  # uid taken
    assert (await env.ask(m.GroupByName("ops"))) == {"status": "notfound"}
    assert (await env.ask(m.SshKeys("alice"))) == {"status": "ok", "keys": []}
    assert (await env.ask(m.PamAccount("alice")))["result"] == "unknown"
    listed = await env.ask(m.UserList())
    assert listed["users"] == []
    groups = await env.ask(m.GroupList())
    assert [g["name"] for g in groups["groups"]] == ["staff"]  # type: ignore[attr-defined]


async def test_resolver__local_users_are_never_asked_for_a_password(env: Env) -> None:
    # Issue 9: their passwords are pam_unix's; hermit holds and checks no local hash.
    env.set_local([("localuser", 1000), ("alice", 1001)])
    for name in ("localuser", "alice"):
        init = await env.ask(m.PamAuthInit(name, "sshd"), peer=Peer(uid=0))
        assert init["next"] == {"kind": "unknown", "reason": m.LOCAL_ACCOUNT_REASON}


async def test_resolver__before_the_local_identities_arrive_every_lookup_is_unavail(
    tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery
) -> None:
    env, resolver = build_env(tmp_path, fake)
    env.link = resolver.tasks = TaskLink()  # a unixd started without hermit-unixd-tasks
    await nursery.start(resolver.run)
    root = Peer(uid=0)
    waiting = [m.UserByName("alice"), m.UserByUid(70001), m.UserList(), m.GroupByName("staff"),
               m.GroupByGid(70100), m.GroupList(), m.Initgroups("alice"), m.SshKeys("alice"),
               m.PamAuthInit("alice", "sshd"), m.PamAccount("alice"), m.PamSessionOpen("alice")]
    for request in waiting:
        assert (await env.ask(request, peer=root)) == {"status": "unavail"}, request
    assert env.cache.counts() == (0, 0)  # nothing was even fetched
    status = await env.ask(m.Status())
    assert status["local_identities"] == "waiting"
    await env.link.on_frame({"v": 1, "id": 1, "op": "local_identities",
                             "passwd": [], "group": []})
    assert (await env.ask(m.SshKeys("alice")))["keys"] == ["ssh-ed25519 AAAAC3Nza alice@laptop"]
    assert (await env.ask(m.Status()))["local_identities"] == "received"

    assert env.fake.count("POST /v1/unix/auth") == 0


async def test_resolver__a_member_a_local_user_name_shadows_is_never_listed(env: Env) -> None:
    env.set_local([("bob", 1000)])
    expected = {"name": "ops", "passwd": "*", "gid": 70200, "members": ["alice"]}
    assert (await env.ask(m.GroupByName("ops")))["group"] == expected
    assert (await env.ask(m.GroupByGid(70200)))["group"] == expected
    listed = await env.ask(m.GroupList())
    assert [g["members"] for g in listed["groups"]] == [["alice"], ["alice"]]  # type: ignore[attr-defined]
    assert (await env.ask(m.Initgroups("bob"))) == {"status": "notfound"}
    assert (await env.ask(m.GroupByGid(70002))) == {"status": "notfound"}  # bob's private group


async def test_resolver__a_shadowed_member_is_dropped_before_name_format_spn(
    tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery
) -> None:
    env, resolver = build_env(tmp_path, fake, name_format="spn")
    await nursery.start(resolver.run)
    env.set_local([("bob", 1000)])
    group = (await env.ask(m.GroupByName("ops@example.com")))["group"]
    assert group["members"] == ["alice@example.com"]  # type: ignore[index]


async def test_resolver__a_member_whose_uid_is_local_is_not_listed_once_seen(env: Env) -> None:
    await env.ask(m.UserByName("bob"))  # cached while no local user had its uid
    env.set_local([("svc", 70002)])
    assert (await env.ask(m.GroupByName("ops")))["group"]["members"] == ["alice"]  # type: ignore[index]
    listed = await env.ask(m.GroupList())
    assert [g["members"] for g in listed["groups"]] == [["alice"], ["alice"]]  # type: ignore[attr-defined]
    assert (await env.ask(m.Initgroups("bob"))) == {"status": "notfound"}
    assert (await env.ask(m.Initgroups("svc"))) == {"status": "notfound"}
    assert (await env.ask(m.GroupByName("bob"))) == {"status": "notfound"}  # private group


# Groups known only from users' views ------------------------------------------------------


async def go_offline(env: Env) -> None:
    env.fake.down = True
    await env.ask(m.CacheInvalidate(), uid=0)  # every entry stale; the next request tries idmd
    assert (await env.ask(m.Status()))["server"] == "offline"


async def test_resolver__offline_a_group_seen_only_in_user_views_resolves_by_gid_and_name(
    env: Env,
) -> None:
    await env.ask(m.UserByName("alice"))
    await env.ask(m.UserByName("bob"))
    assert env.fake.count("GET /v1/unix/group") == 0
    await go_offline(env)
    expected = {"status": "ok", "group": {
        "name": "ops", "passwd": "*", "gid": 70200, "members": ["alice", "bob"]}}
    assert (await env.ask(m.GroupByGid(70200))) == expected
    assert (await env.ask(m.GroupByName("ops"))) == expected
    assert (await env.ask(m.GroupByName("OPS@example.com"))) == expected
    assert (await env.ask(m.GroupByName(uuid_for(70200)))) == expected
    staff = await env.ask(m.GroupByGid(70100))
    assert staff["group"]["members"] == ["alice"]  # type: ignore[index]  # bob never in it
    assert (await env.ask(m.Initgroups("alice"))) == {"status": "ok", "gids": [70100, 70200]}


async def test_resolver__a_group_stub_follows_name_format_and_shadowing(
    tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery
) -> None:
    env = await started_env(tmp_path, fake, nursery, name_format="spn")
    await env.ask(m.UserByName("alice"))
    await env.ask(m.UserByName("bob"))
    await go_offline(env)
    group = (await env.ask(m.GroupByGid(70200)))["group"]
    assert group == {"name": "ops@example.com", "passwd": "*", "gid": 70200,
                     "members": ["alice@example.com", "bob@example.com"]}
    env.set_local([("bob", 1000)], groups=[("staff", 300)])
    group = (await env.ask(m.GroupByGid(70200)))["group"]
    assert group["members"] == ["alice@example.com"]  # type: ignore[index]
    assert (await env.ask(m.GroupByName("staff@example.com"))) == {"status": "notfound"}


async def test_resolver__online_a_group_stub_never_stands_in_for_the_fetch(env: Env) -> None:
    await env.ask(m.UserByName("alice"))  # names ops; bob is not cached
    reply = await env.ask(m.GroupByName("ops"))
    assert reply["group"]["members"] == ["alice", "bob"]  # type: ignore[index]
    assert env.fake.count("GET /v1/unix/group/ops") == 1
    # Fetched once, the group's own entry answers offline too, with idmd's member list.
    await go_offline(env)
    assert (await env.ask(m.GroupByGid(70200)))["group"]["members"] == ["alice", "bob"]  # type: ignore[index]


async def test_resolver__a_failing_idmd_falls_back_to_the_group_stub(env: Env) -> None:
    await env.ask(m.UserByName("alice"))
    env.fake.status_override = 500
    reply = await env.ask(m.GroupByGid(70100))
    assert reply["group"] == {"name": "staff", "passwd": "*", "gid": 70100, "members": ["alice"]}
    assert env.fake.count("GET /v1/unix/group/70100") == 1


async def test_resolver__a_negative_answer_hides_the_group_stub(env: Env) -> None:
    await env.ask(m.UserByName("alice"))
    del env.fake.groups[uuid_for(70100)]  # staff gone upstream; alice's view is older
    assert (await env.ask(m.GroupByGid(70100))) == {"status": "notfound"}
    await go_offline(env)
    assert (await env.ask(m.GroupByGid(70100))) == {"status": "unavail"}
    assert (await env.ask(m.GroupByName("staff"))) == {"status": "unavail"}
    assert (await env.ask(m.GroupByGid(70200)))["status"] == "ok"


async def test_resolver__a_group_stub_is_gone_when_no_cached_user_names_it(env: Env) -> None:
    await env.ask(m.UserByName("alice"))
    env.fake.groups[uuid_for(70100)]["members"] = []
    refs = env.fake.user_named("alice")["groups"]
    assert isinstance(refs, list)
    refs[:] = [ref for ref in refs if ref["name"] != "staff"]
    env.clock.advance(TIMEOUT + 1)
    await env.ask(m.UserByName("alice"))  # refetched: alice left staff
    await go_offline(env)
    assert (await env.ask(m.GroupByGid(70100))) == {"status": "unavail"}


# PAM -------------------------------------------------------------------------------------


async def login(env: Env, name: str, password: str) -> dict[str, object]:
    peer = Peer(uid=0)
    init = await env.ask(m.PamAuthInit(name, "login"), peer=peer)
    if init["next"] != {"kind": "password", "prompt": "Password: ", "echo": False}:
        return init["next"]  # type: ignore[return-value]
    step = await env.ask(m.PamAuthStep(init["session"], password), peer=peer)  # type: ignore[arg-type]
    return step["next"]  # type: ignore[return-value]


async def test_pam__online_success_stores_the_offline_hash(env: Env) -> None:
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    # The hash is made after the answer, so the login does not wait for a second Argon2id.
    await env.resolver.offline_hash_stored(uuid_for(70001))
    assert env.cache.verify_password(uuid_for(70001), PASSWORD)


async def test_pam__an_offline_check_waits_for_the_hash_a_login_is_making(env: Env) -> None:
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    env.fake.down = True
    env.resolver.network_changed()
    # No waiting here: the offline check itself waits for the hash being made.
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}


async def test_pam__a_password_changed_upstream_drops_the_cached_hash_at_once(
    env: Env,
) -> None:
    await login(env, "alice", PASSWORD)
    await env.resolver.offline_hash_stored(uuid_for(70001))
    env.fake.passwords[uuid_for(70001)] = "changed upstream"
    # The refusal makes unixd fetch the view again: its password_version changed.
    assert (await login(env, "alice", PASSWORD))["kind"] == "denied"
    assert env.cache.password_hash(uuid_for(70001)) is None
    env.fake.down = True
    env.resolver.network_changed()
    assert (await login(env, "alice", PASSWORD))["kind"] == "denied"


async def test_pam__offline_answers_from_the_cached_hash(env: Env) -> None:
    await login(env, "alice", PASSWORD)
    env.fake.down = True
    await env.ask(m.Status())
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    assert (await login(env, "alice", "wrong"))["kind"] == "denied"
    assert (await login(env, "bob", "bob's password"))["kind"] == "unknown"  # never cached


async def test_pam__offline_without_a_hash_is_denied(env: Env) -> None:
    await env.ask(m.UserByName("bob"))
    env.fake.down = True
    await env.ask(m.Status())
    reply = await login(env, "bob", "bob's password")
    assert reply["kind"] == "denied"


async def test_pam__a_timeout_during_the_step_goes_offline_in_the_same_login(env: Env) -> None:
    await login(env, "alice", PASSWORD)
    peer = Peer(uid=0)
    init = await env.ask(m.PamAuthInit("alice", "login"), peer=peer)
    env.fake.timeout = True
    step = await env.ask(m.PamAuthStep(init["session"], PASSWORD), peer=peer)  # type: ignore[arg-type]
    assert step["next"] == {"kind": "success"}
    assert not env.resolver.state.is_online


async def test_pam__an_unknown_account_is_unknown(env: Env) -> None:
    assert await login(env, "nosuchuser", "x") == {"kind": "unknown"}


async def test_pam__an_expired_account_is_denied_online(env: Env) -> None:
    env.fake.expired.add(uuid_for(70001))
    reply = await login(env, "alice", PASSWORD)
    assert reply == {"kind": "denied", "reason": "this account is expired or not yet valid"}


async def test_pam__concurrent_conversations_on_one_connection(env: Env) -> None:
    peer = Peer(uid=0)
    first = await env.ask(m.PamAuthInit("alice", "login"), peer=peer)
    second = await env.ask(m.PamAuthInit("bob", "login"), peer=peer)
    assert first["session"] != second["session"]
    bob = await env.ask(m.PamAuthStep(second["session"], "bob's password"), peer=peer)  # type: ignore[arg-type]
    alice = await env.ask(m.PamAuthStep(first["session"], "wrong"), peer=peer)  # type: ignore[arg-type]
    assert bob["next"] == {"kind": "success"}
    assert alice["next"]["kind"] == "denied"  # type: ignore[index]
    again = await env.ask(m.PamAuthStep(first["session"], PASSWORD), peer=peer)  # type: ignore[arg-type]
    assert again["next"]["kind"] == "denied"  # type: ignore[index]  # the session is over


async def test_pam__account_check_needs_an_allowed_group(env: Env) -> None:
    assert (await env.ask(m.PamAccount("alice"))) == {"status": "ok", "result": "allowed"}
    reply = await env.ask(m.PamAccount("bob"))
    assert reply["result"] == "denied"
    assert (await env.ask(m.PamAccount("nobody-at-all")))["result"] == "unknown"


async def test_pam__empty_allowed_login_groups_lets_nobody_in(
    tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery
) -> None:
    env, resolver = build_env(tmp_path, fake, allowed_login_groups=[])
    await nursery.start(resolver.run)
    assert (await env.ask(m.PamAccount("alice")))["result"] == "denied"


@pytest.mark.parametrize(
    ("valid_from", "expire_at", "allowed"),
    [
        (None, "2020-01-01T00:00:00Z", False),
        ("2099-01-01T00:00:00Z", None, False),
        ("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", True),
    ],
)
async def test_pam__accounts_outside_their_validity_are_refused_and_get_no_keys(
    env: Env, valid_from: str | None, expire_at: str | None, allowed: bool
) -> None:
    user = env.fake.user_named("alice")
    user["valid_from"], user["expire_at"] = valid_from, expire_at
    account = await env.ask(m.PamAccount("alice"))
    keys = await env.ask(m.SshKeys("alice"))
    assert (account["result"] == "allowed") is allowed
    assert bool(keys["keys"]) is allowed


# The whole cache ---------------------------------------------------------------------


async def test_resolver__cache_clear_is_for_root_only(env: Env) -> None:
    await login(env, "alice", PASSWORD)
    refused = await env.ask(m.CacheClear(), uid=1000)
    assert refused["error"] == "permission_denied"
    assert env.cache.counts() == (1, 0)
    assert (await env.ask(m.CacheClear(), uid=0)) == {"status": "ok"}
    assert env.cache.counts() == (0, 0)
    assert env.cache.password_hash(uuid_for(70001)) is None


async def test_resolver__cache_invalidate_and_session_open_are_for_root_only(env: Env) -> None:
    asked: list[object] = []

    async def send(obj: object) -> None:
        asked.append(obj)

    env.link.attach(send)
    await env.ask(m.UserByName("alice"))
    for request in (m.CacheInvalidate(), m.PamSessionOpen("alice")):
        refused = await env.ask(request, uid=70001)
        assert refused["error"] == "permission_denied"
    cached = env.cache.user_by_name("alice")
    assert cached is not None and not cached.is_expired(env.clock.now())
    assert asked == []  # no home_create went to the tasks daemon


async def test_resolver__status_reports_online_and_counts(env: Env) -> None:
    await env.ask(m.UserByName("alice"))
    await env.ask(m.GroupByName("staff"))
    assert (await env.ask(m.Status())) == {
        "status": "ok", "server": "online", "cached_users": 1, "cached_groups": 1,
        "local_identities": "received"}


# pam_session_open and the tasks daemon ------------------------------------------------


async def test_session_open__without_a_tasks_daemon_is_an_error(env: Env) -> None:
    reply = await env.ask(m.PamSessionOpen("alice"), uid=0)
    assert reply["status"] == "error"
    assert "no hermit-unixd-tasks" in str(reply["detail"])


async def test_session_open__asks_the_tasks_daemon_for_the_home(
    env: Env, nursery: trio.Nursery
) -> None:
    asked: list[dict[str, object]] = []

    async def send(obj: object) -> None:
        asked.append(dict(obj))  # type: ignore[call-overload]
        # The tasks daemon answers on its own schedule.
        nursery.start_soon(env.link.on_frame, {"re": asked[-1]["id"], "status": "ok"})

    env.link.attach(send)
    assert (await env.ask(m.PamSessionOpen("alice"), uid=0)) == {"status": "ok"}
    assert asked == [{
        "v": 1, "id": 1, "op": "home_create", "name": "alice", "uid": 70001, "gid": 70001,
        "home": f"/home/{uuid_for(70001)}", "alias": "/home/alice@example.com",
        "old_aliases": [], "use_etc_skel": False,
    }]


async def test_session_open__a_failed_home_create_is_an_error(
    env: Env, nursery: trio.Nursery
) -> None:
    async def send(obj: object) -> None:
        request_id = dict(obj)["id"]  # type: ignore[call-overload]
        nursery.start_soon(env.link.on_frame,
                           {"re": request_id, "status": "error", "detail": "disk full"})

    env.link.attach(send)
    reply = await env.ask(m.PamSessionOpen("alice"), uid=0)
    assert reply == {"status": "error", "error": "internal_error",
                     "detail": "home_create failed: disk full"}


async def test_resolver__an_entry_that_makes_no_record_is_left_out_of_enumeration(
    env: Env,
) -> None:
    env.fake.add_user("carol", 70003)["gidnumber"] = "not a number"  # no cache key
    env.fake.user_named("bob")["name"] = "bob has spaces"  # no NSS name
    reply = await env.ask(m.UserList())
    assert [u["name"] for u in reply["users"]] == ["alice"]  # type: ignore[attr-defined]


async def test_pam__cache_clear_right_after_a_login_leaves_no_hash(env: Env) -> None:
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    await env.resolver.clear()
    assert env.cache.password_hash(uuid_for(70001)) is None


# PAM: password + TOTP ---------------------------------------------------------------------

CODE = "424242"
CODE_PROMPT_JSON = {"kind": "code", "prompt": CODE_PROMPT, "echo": True}


async def converse(env: Env, name: str, answers: list[str]) -> list[dict[str, object]]:
    """Every prompt unixd sends after the first password prompt, answering in order."""
    peer = Peer(uid=0)
    init = await env.ask(m.PamAuthInit(name, "login"), peer=peer)
    prompts: list[dict[str, object]] = []
    for answer_ in answers:
        step = await env.ask(m.PamAuthStep(init["session"], answer_), peer=peer)  # type: ignore[arg-type]
        prompts.append(step["next"])  # type: ignore[arg-type]
        if step["next"] != CODE_PROMPT_JSON:
            break
    return prompts


async def test_pam__mfa_asks_the_code_and_sends_both(env: Env) -> None:
    env.fake.set_code("alice", CODE)
    assert await converse(env, "alice", [PASSWORD, CODE]) == [CODE_PROMPT_JSON,
                                                              {"kind": "success"}]
    assert await converse(env, "alice", [PASSWORD, "000000"]) == [
        CODE_PROMPT_JSON, {"kind": "denied", "reason": WRONG_PASSWORD_OR_CODE}]
    # A wrong code (or password) keeps the offline hash: the password did not change
    # (issue 9, finding 7: anyone's wrong guess used to drop it).
    await env.resolver.offline_hash_stored(uuid_for(70001))
    assert env.cache.verify_password(uuid_for(70001), PASSWORD)


async def test_pam__a_stale_view_without_mfa_asks_the_code_in_the_same_login(env: Env) -> None:
    await env.ask(m.UserByName("alice"))  # cached with unix_mfa false
    env.fake.set_code("alice", CODE)
    assert await converse(env, "alice", [PASSWORD, CODE]) == [CODE_PROMPT_JSON,
                                                              {"kind": "success"}]
    cached = env.cache.user_by_uuid(uuid_for(70001))
    assert cached is not None and cached.data["unix_mfa"] is True
    assert env.fake.count("POST /v1/unix/auth") == 2


async def test_pam__locked_is_denied_without_the_cache(env: Env) -> None:
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    await env.resolver.offline_hash_stored(uuid_for(70001))
    env.fake.locked.add(uuid_for(70001))
    assert await login(env, "alice", PASSWORD) == {"kind": "denied", "reason": LOCKED}
    assert env.resolver.state.is_online
    # Nothing was learnt about the password: the offline hash stays.
    assert env.cache.verify_password(uuid_for(70001), PASSWORD)


async def test_pam__mfa_offline_with_deny_is_denied_with_the_reason(env: Env) -> None:
    env.fake.set_code("alice", CODE)
    await converse(env, "alice", [PASSWORD, CODE])
    await env.resolver.offline_hash_stored(uuid_for(70001))
    env.fake.down = True
    await env.ask(m.Status())
    assert await converse(env, "alice", [PASSWORD]) == [
        {"kind": "denied", "reason": OFFLINE_MFA_DENIED}]


async def test_pam__mfa_timeout_during_the_step_with_deny_is_denied(env: Env) -> None:
    env.fake.set_code("alice", CODE)
    await converse(env, "alice", [PASSWORD, CODE])
    await env.resolver.offline_hash_stored(uuid_for(70001))
    env.fake.timeout = True
    assert await converse(env, "alice", [PASSWORD, CODE]) == [
        CODE_PROMPT_JSON, {"kind": "denied", "reason": OFFLINE_MFA_DENIED}]
    assert not env.resolver.state.is_online


async def test_pam__mfa_offline_with_password_policy_uses_the_cached_hash(
    tmp_path: Path, fake: FakeIdmd, nursery: trio.Nursery
) -> None:
    env = await started_env(tmp_path, fake, nursery, offline_mfa="password")
    fake.set_code("alice", CODE)
    await converse(env, "alice", [PASSWORD, CODE])
    fake.down = True
    await env.ask(m.Status())
    assert await converse(env, "alice", [PASSWORD, "anything"]) == [CODE_PROMPT_JSON,
                                                                    {"kind": "success"}]
    assert await converse(env, "alice", ["wrong", "anything"]) == [
        CODE_PROMPT_JSON, {"kind": "denied", "reason": WRONG_PASSWORD}]
    env.cache.close()
