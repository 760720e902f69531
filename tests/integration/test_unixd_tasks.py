"""hermit-unixd with the real hermit-unixd-tasks (root) on its task socket and a real
hermit-idmd: the host's own accounts arrive and win (no directory keys for a local name), and
pam_session_open has the tasks daemon create the home directory and its alias."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from contrib.harness.waiting import wait_until
from tests.integration.directory import Directory, unique
from tests.integration.idmd_server import IdmdServer, scratch_dir
from tests.integration.unixd_harness import BIN, Unixd, run_unixd

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hermit-unixd-tasks runs as root")


def test_unixd_tasks__local_identities_win_and_homes_are_created(
    idmd: IdmdServer, made: Directory
) -> None:
    name = unique("h")
    entry = made.person(name)
    uid = entry["posix"]["gidnumber"]  # type: ignore[index]
    with scratch_dir("hh-") as home_prefix, run_unixd(
        idmd, home_prefix=str(home_prefix), home_alias="name", local_identities=False
    ) as unixd:
        home_prefix.chmod(0o755)
        # Without a tasks daemon there is nobody to create the home, nor to say which names
        # are local: unixd cannot answer yet.
        assert unixd.call("pam_session_open", name=name) == {"status": "unavail"}
        tasks = subprocess.Popen([str(BIN / "hermit-unixd-tasks"), "-c", str(unixd.config)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            # root is a local name: once the tasks daemon has spoken, it has no directory keys.
            wait_until(lambda: _keys_of(unixd, "root") == [], "local identities")
            assert unixd.call("user_by_name", name="root") == {"status": "notfound"}
            assert unixd.call("pam_session_open", name=name) == {"status": "ok"}
        finally:
            tasks.send_signal(signal.SIGTERM)
            assert tasks.wait(timeout=30) == 0
        home = home_prefix / str(entry["uuid"])
        st = home.stat()
        assert (st.st_uid, st.st_gid) == (uid, uid)
        assert (home_prefix / name).resolve() == home


def _keys_of(unixd: Unixd, name: str) -> object:
    reply = unixd.call("ssh_keys", name=name)
    return reply.get("keys")
