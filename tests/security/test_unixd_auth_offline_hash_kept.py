"""Issue 9, finding 7: one wrong guess by anyone deleted another user's cached offline hash.

unixd dropped an account's offline hash whenever idmd refused a password for it, so anyone who
could start a login (sshd, su) could erase everyone's offline logins with one wrong guess
each. Now idmd's unix view carries ``password_version`` (a short keyed digest of the stored
unix password hash, null without one), unixd keeps the version beside the offline hash and
drops the hash only when a fetched view says another version (or none); a view of an older
cache's hash without a version drops it too. A refused password only makes unixd fetch the
view again, to learn whether the password changed upstream.

The attacks:
- component (resolver, real cache, idmd faked at the provider seam): wrong guesses online for
  alice, by root's services and by other uids, leave her offline login working; a password
  changed upstream stops the old one offline after the next view refresh, and at once after
  a refused online check; a hash cached before versions existed is dropped when a view with a
  version arrives;
- against a real hermit-idmd: the view's ``password_version`` is 16 hex characters, changes
  with the unix password only, is null without one, is not changed by a wrong password, and
  is keyed (the same stored hash under another key gives another version, so nobody can turn
  a guess into it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

import idmd.idm.unix.views as unixview
from tests.integration.directory import directory, new_password, unique
from tests.integration.idmd_server import IdmdServer
from tests.security.pam_steps import login
from tests.unixd.fake_idmd import FakeIdmd, uuid_for
from tests.unixd.resolver_env import PASSWORD, TIMEOUT, Env, started_env
from unixd.proto import messages as m
from unixd.resolver.dispatch import Peer, answer
from unixd.resolver.pam import NO_HASH, WRONG_PASSWORD

ALICE = uuid_for(70001)


@pytest.fixture
async def env(tmp_path: Path, nursery: trio.Nursery) -> Iterator[Env]:
    fake = FakeIdmd()
    fake.add_user("alice", 70001, password=PASSWORD)
    fake.add_user("bob", 70002, password="bob's password")
    env = await started_env(tmp_path, fake, nursery)
    yield env
    env.cache.close()


async def go_offline(env: Env) -> None:
    await env.resolver.offline_hash_stored(ALICE)
    env.fake.down = True
    await answer(env.resolver, m.Status(), Peer(uid=0))


async def test_unixd_auth__wrong_guesses_by_anyone_keep_the_offline_hash(env: Env) -> None:
    assert await login(env, "bob", "bob's password") == {"kind": "success"}
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    await env.resolver.offline_hash_stored(ALICE)
    version = env.cache.password_version(ALICE)
    assert version is not None
    # sshd or su, driven by someone else, with wrong guesses; and other uids' attempts.
    for guess in ("guess 1", "guess 2", "guess 3"):
        assert await login(env, "alice", guess) == {"kind": "denied", "reason": WRONG_PASSWORD}
    assert (await login(env, "alice", "guess 4", uid=1000))["kind"] == "denied"
    assert env.cache.verify_password(ALICE, PASSWORD)
    assert env.cache.password_version(ALICE) == version
    await env.resolver.offline_hash_stored(uuid_for(70002))
    await go_offline(env)
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    # Everyone else is served as before.
    assert await login(env, "bob", "bob's password") == {"kind": "success"}


async def test_unixd_auth__a_password_changed_upstream_stops_offline_after_the_refresh(
    env: Env,
) -> None:
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    await env.resolver.offline_hash_stored(ALICE)
    env.fake.passwords[ALICE] = "changed upstream"
    # Still fresh: nothing told unixd yet.
    assert env.cache.verify_password(ALICE, PASSWORD)
    env.clock.advance(TIMEOUT + 1)
    await answer(env.resolver, m.UserByName("alice"), Peer(uid=1000))  # the view refresh
    assert env.cache.password_hash(ALICE) is None
    await go_offline(env)
    assert await login(env, "alice", PASSWORD) == {"kind": "denied", "reason": NO_HASH}


async def test_unixd_auth__a_refused_password_refetches_the_view_to_learn_a_change(
    env: Env,
) -> None:
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    await env.resolver.offline_hash_stored(ALICE)
    env.fake.passwords[ALICE] = "changed upstream"
    assert await login(env, "alice", PASSWORD) == {"kind": "denied", "reason": WRONG_PASSWORD}
    assert env.cache.password_hash(ALICE) is None
    assert await login(env, "alice", "changed upstream") == {"kind": "success"}
    await go_offline(env)
    assert await login(env, "alice", "changed upstream") == {"kind": "success"}
    assert await login(env, "alice", PASSWORD) == {"kind": "denied", "reason": WRONG_PASSWORD}


async def test_unixd_auth__a_hash_without_a_version_goes_when_a_versioned_view_arrives(
    env: Env,
) -> None:
    assert await login(env, "alice", PASSWORD) == {"kind": "success"}
    await env.resolver.offline_hash_stored(ALICE)
    # What a cache written before password versions holds: the hash alone.
    env.cache.put_password_hash(ALICE, env.cache.password_hash(ALICE) or "", None)
    assert env.cache.password_version(ALICE) is None
    env.clock.advance(TIMEOUT + 1)
    await answer(env.resolver, m.UserByName("alice"), Peer(uid=1000))
    assert env.cache.password_hash(ALICE) is None


# idmd's side: the version in the unix view ------------------------------------------------


def test_unixd_auth__password_version_follows_the_unix_password_only(
    idmd: IdmdServer,
) -> None:
    name, bare = unique("pv"), unique("pn")
    with directory(idmd) as made:
        made.person(name, password=new_password())
        made.person(bare)

        def version(who: str) -> object:
            view = made.client.get(f"/v1/unix/user/{who}")
            assert view.status_code == 200, view.text
            return view.json()["password_version"]

        first = version(name)
        assert isinstance(first, str) and re.fullmatch(r"[0-9a-f]{16}", first)
        assert version(bare) is None
        with idmd.client() as anonymous:
            wrong = anonymous.post("/v1/unix/auth", json={"name": name, "password": "nope"})
        assert wrong.status_code in (401, 403)
        assert version(name) == first
        # A change that is not the password (asserted: a refused PATCH would prove nothing).
        renamed = made.client.patch(f"/v1/person/{name}", json={"displayname": "Another Name"})
        assert renamed.status_code == 200, renamed.text
        assert version(name) == first
        made.set_password(name, new_password())
        second = version(name)
        assert isinstance(second, str) and second != first
        listed = made.client.get("/v1/unix/user").json()["users"]
        assert {u["name"]: u["password_version"] for u in listed}[name] == second


def test_unixd_auth__password_version_is_keyed() -> None:
    phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
    one = unixview.password_version(b"k" * 32, phc)
    assert re.fullmatch(r"[0-9a-f]{16}", one)
    assert unixview.password_version(b"k" * 32, phc) == one
    assert unixview.password_version(b"j" * 32, phc) != one
    assert unixview.password_version(b"k" * 32, None) is None
