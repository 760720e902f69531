"""hermit-unixd's groups against a real hermit-idmd: a member name a local user shadows (sent
as root on the task socket, as hermit-unixd-tasks would) is never listed, and, with the
server stopped, a group unixd only saw inside a user's view still resolves by gid and name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.directory import Directory, directory, new_password, unique
from tests.integration.idmd_server import IdmdServer, own_idmd, scratch_dir
from tests.integration.unixd_harness import Unixd, run_unixd, send_local_identities

LOCAL_UID = 59123


def gid_of(made: Directory, group: str) -> int:
    response = made.client.get(f"/v1/unix/group/{group}")
    assert response.status_code == 200, response.text
    gid = response.json()["gidnumber"]
    assert isinstance(gid, int)
    return gid


def send_local_users(unixd: Unixd, users: list[tuple[str, int]]) -> None:
    """What hermit-unixd-tasks sends on connect: these local users, no groups or hashes."""
    passwd = [{"name": name, "passwd": "x", "uid": uid, "gid": uid, "gecos": "",
               "dir": "/nonexistent", "shell": "/usr/sbin/nologin"} for name, uid in users]
    send_local_identities(unixd, {"passwd": passwd, "group": []})


@pytest.mark.skipif(os.geteuid() != 0, reason="the task socket serves only peer uid 0")
def test_unixd_groups__a_member_a_local_user_shadows_is_not_listed(
    idmd: IdmdServer, made: Directory
) -> None:
    kept, shadowed, by_uid, team = unique("k"), unique("s"), unique("u"), unique("t")
    for person in (kept, shadowed, by_uid):
        made.person(person)
    made.group(team, kept, shadowed, by_uid)
    with run_unixd(idmd) as unixd:
        seen = unixd.call("user_by_name", name=by_uid)  # cached before a local uid takes it
        uid = seen["user"]["uid"]  # type: ignore[index]
        assert sorted(unixd.call("group_by_name", name=team)["group"]["members"]) == sorted(  # type: ignore[index]
            [kept, shadowed, by_uid])

        send_local_users(unixd, [(shadowed, LOCAL_UID), ("svc-" + by_uid, uid)])
        group = unixd.call("group_by_name", name=team)["group"]
        assert group["members"] == [kept]  # type: ignore[index]
        assert unixd.call("group_by_gid", gid=group["gid"])["group"] == group  # type: ignore[index]
        listed = unixd.call("group_list")["groups"]
        assert [g for g in listed if g["name"] == team] == [group]  # type: ignore[union-attr,index]
        assert unixd.call("initgroups", name=shadowed) == {"status": "notfound"}
        assert unixd.call("initgroups", name=by_uid) == {"status": "notfound"}


def test_unixd_groups__offline_a_group_seen_only_in_a_user_view_has_its_name() -> None:
    with scratch_dir("hermit-idmd-") as workdir, own_idmd(Path(workdir)) as server, \
            directory(server, clean_up=False) as made:
        person, other, inner, outer = unique("p"), unique("o"), unique("i"), unique("g")
        password = new_password()
        made.person(person, password=password)
        made.person(other)
        made.group(inner, person)
        made.group(outer, inner, other)  # person is in outer through inner
        inner_gid, outer_gid = gid_of(made, inner), gid_of(made, outer)
        with run_unixd(server, allowed_login_groups=[outer]) as unixd:
            assert unixd.login(person, password) == {"kind": "success"}
            gids = unixd.call("initgroups", name=person)["gids"]
            assert sorted(gids) == sorted([inner_gid, outer_gid])  # type: ignore[type-var]
            assert unixd.call("status")["cached_groups"] == 0  # neither group fetched

            server.process.stop()
            assert unixd.tool("cache-invalidate").returncode == 0
            assert unixd.server_state() == "offline"
            # Only the cached user is known to be in it; other was never seen here.
            expected = {"status": "ok", "group": {
                "name": outer, "passwd": "*", "gid": outer_gid, "members": [person]}}
            assert unixd.call("group_by_gid", gid=outer_gid) == expected
            assert unixd.call("group_by_name", name=outer) == expected
            assert unixd.call("group_by_gid", gid=inner_gid)["group"]["name"] == inner  # type: ignore[index]
            assert unixd.call("group_by_name", name=unique("n")) == {"status": "unavail"}
