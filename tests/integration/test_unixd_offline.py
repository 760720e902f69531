"""hermit-unixd when its hermit-idmd goes away and comes back (a server of the test's own,
stopped by its pid): what was seen stays resolvable, what was not is unavailable; cached
passwords work offline, wrong ones do not, and after cache-clear nothing is known; once the
server is back on its port, unixd is online again."""

from __future__ import annotations

from pathlib import Path

from tests.integration.directory import directory, new_password, ssh_public_key, unique
from tests.integration.idmd_server import own_idmd, scratch_dir
from tests.integration.unixd_harness import restart_on_same_port, run_unixd


def test_unixd_offline__seen_entries_and_passwords_survive_the_server_stopping() -> None:
    with scratch_dir("hermit-idmd-") as workdir, own_idmd(Path(workdir)) as server, \
            directory(server, clean_up=False) as made:
        seen, unseen, staff = unique("s"), unique("u"), unique("g")
        password = new_password()
        key = ssh_public_key("seen@laptop")
        made.person(seen, password=password, key=key)
        made.person(unseen, password=new_password())
        made.group(staff, seen)
        with run_unixd(server, allowed_login_groups=[staff]) as unixd:
            online_user = unixd.call("user_by_name", name=seen)
            online_group = unixd.call("group_by_name", name=staff)
            assert unixd.login(seen, password) == {"kind": "success"}
            assert unixd.server_state() == "online"

            server.process.stop()
            # Invalidating ends any back-off and makes every entry stale: unixd must try the
            # (stopped) server, fail, and answer from the cache.
            assert unixd.tool("cache-invalidate").returncode == 0
            assert unixd.call("user_by_name", name=seen) == online_user
            assert unixd.server_state() == "offline"
            assert unixd.call("group_by_name", name=staff) == online_group
            assert unixd.call("ssh_keys", name=seen) == {"status": "ok", "keys": [key]}
            assert unixd.call("user_by_name", name=unseen) == {"status": "unavail"}
            assert unixd.call("ssh_keys", name=unseen) == {"status": "unavail"}
            assert unixd.login(seen, password) == {"kind": "success"}
            assert unixd.login(seen, "wrong password")["kind"] == "denied"
            done = unixd.tool("auth-test", "--name", seen, stdin=password + "\n")
            assert done.returncode == 0, done.stdout + done.stderr
            assert unixd.login(unseen, "anything") == {"kind": "unknown"}

            assert unixd.tool("cache-clear", "--really").returncode == 0
            assert unixd.call("user_by_name", name=seen) == {"status": "unavail"}
            assert unixd.login(seen, password) == {"kind": "unknown"}

            back = restart_on_same_port(server)
            try:
                unixd.tool("cache-invalidate")
                assert unixd.server_state() == "online"
                assert unixd.call("user_by_name", name=unseen)["status"] == "ok"
                assert unixd.login(seen, password) == {"kind": "success"}
            finally:
                back.stop()


def test_unixd_offline__a_server_stopped_mid_login_is_answered_from_the_cache() -> None:
    with scratch_dir("hermit-idmd-") as workdir, own_idmd(Path(workdir)) as server, \
            directory(server, clean_up=False) as made:
        name = unique("m")
        password = new_password()
        made.person(name, password=password)
        # A long cache_timeout: nothing asks idmd until the password step itself.
        with run_unixd(server) as unixd:
            assert unixd.login(name, password) == {"kind": "success"}
            server.process.stop()
            assert unixd.login(name, password) == {"kind": "success"}
            assert unixd.server_state() == "offline"

