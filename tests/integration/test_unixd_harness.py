"""The integration harness's own tests (STYLE.md: the test helpers have their own tests):
``run_unixd`` of ``unixd_harness.py`` and ``directory`` of ``directory.py``."""

from __future__ import annotations

from pathlib import Path

from tests.integration.directory import directory, unique
from tests.integration.idmd_server import IdmdServer
from tests.integration.unixd_harness import run_unixd


def test_run_unixd__answers_status_and_stops_cleanly(idmd: IdmdServer) -> None:
    with run_unixd(idmd) as unixd:
        assert unixd.server_state() == "online"
        pid = unixd.proc.pid
    assert unixd.proc.returncode == 0
    assert not Path(f"/proc/{pid}").exists() or unixd.proc.poll() is not None


def test_directory__cleans_up_what_it_made(idmd: IdmdServer) -> None:
    name = unique("h")
    with directory(idmd) as made:
        made.person(name)
    with idmd.client(idmd.login("idm_admin", idmd.idm_admin_password)) as client:
        assert client.get(f"/v1/person/{name}").status_code == 404
