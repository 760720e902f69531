"""hermit-unixd reading with a service account's API token (token_path) from a real hermit-idmd
of the test's own, where anonymous has been removed from unix_read: lookups and a unix password
login work; anonymous reads nothing; a destroyed token makes unixd answer from its cache (as
offline, no crash) until a new token is in the file; a bad token file stops unixd at start."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.directory import (
    anonymous_token,
    api_token,
    directory,
    new_password,
    ssh_public_key,
    unique,
    unix_read_only_for,
)
from tests.integration.idmd_server import IdmdServer, own_idmd, scratch_dir
from tests.integration.unixd_harness import BIN, run_unixd


def write_token(path: Path, token: str) -> None:
    path.write_text(token + "\n")
    path.chmod(0o600)


def test_unixd_token__a_host_reads_with_an_api_token_instead_of_anonymous() -> None:
    with scratch_dir("hermit-idmd-") as workdir, own_idmd(Path(workdir)) as server, \
            directory(server, clean_up=False) as made, scratch_dir("hermit-tok-") as secrets:
        name, later, staff, robot = unique("t"), unique("l"), unique("g"), unique("host")
        password = new_password()
        key = ssh_public_key("t@laptop")
        made.person(name, password=password, key=key)
        made.group(staff, name)
        created = made.client.post("/v1/service_account", json={
            "name": robot, "displayname": "Host reader", "managed_by": "idm_admins"})
        assert created.status_code == 200, created.text
        token_id, token = api_token(made, robot, "host-1")
        unix_read_only_for(server, robot)
        with server.client(anonymous_token(server)) as anonymous:
            assert anonymous.get(f"/v1/unix/user/{name}").status_code == 404
            assert anonymous.get("/v1/unix/user").json() == {"users": []}
        token_path = secrets / "unixd.token"
        write_token(token_path, token)

        with run_unixd(server, token_path=str(token_path),
                       allowed_login_groups=[staff]) as unixd:
            assert unixd.server_state() == "online"
            user = unixd.call("user_by_name", name=name)
            assert user["status"] == "ok"
            gid = user["user"]["uid"]  # type: ignore[index]
            assert unixd.call("user_by_uid", uid=gid) == user
            group = unixd.call("group_by_name", name=staff)
            assert group["group"]["members"] == [name]  # type: ignore[index]
            assert unixd.call("ssh_keys", name=name) == {"status": "ok", "keys": [key]}
            users = unixd.call("user_list")["users"]
            assert isinstance(users, list)
            assert name in [u["name"] for u in users]
            assert unixd.login(name, password) == {"kind": "success"}
            done = unixd.tool("auth-test", "--name", name, stdin=password + "\n")
            assert done.returncode == 0, done.stdout + done.stderr

            # Destroyed: idmd refuses the token at once; unixd answers from its cache.
            assert made.client.delete(
                f"/v1/service_account/{robot}/api_token/{token_id}").json() == {"changed": True}
            made.person(later)
            assert unixd.tool("cache-invalidate").returncode == 0
            assert unixd.call("user_by_name", name=name) == user
            assert unixd.server_state() == "offline"
            assert unixd.call("group_by_name", name=staff) == group
            assert unixd.call("user_by_name", name=later) == {"status": "unavail"}
            assert unixd.login(name, password) == {"kind": "success"}  # the cached hash
            assert unixd.login(name, "wrong password")["kind"] == "denied"

            # Rotated: a new token in the file is read at the next try.
            _, rotated = api_token(made, robot, "host-2")
            write_token(token_path, rotated)
            assert unixd.tool("cache-invalidate").returncode == 0
            assert unixd.call("user_by_name", name=later)["status"] == "ok"
            assert unixd.server_state() == "online"
        assert token not in unixd.stderr and rotated not in unixd.stderr
        assert "refuses the API token in token_path" in unixd.stderr


def test_unixd_token__a_bad_token_file_stops_unixd_at_start(idmd: IdmdServer) -> None:
    with scratch_dir("hu-") as workdir:
        token_path = workdir / "unixd.token"
        write_token(token_path, "aaaa.bbbb.cccc")
        config = workdir / "unixd.toml"
        config.write_text(
            f'uri = "{idmd.url}"\nca_path = "{idmd.ca}"\ntoken_path = "{token_path}"\n'
            f'socket_path = "{workdir}/sock"\ntask_socket_path = "{workdir}/task.sock"\n'
            f'cache_path = "{workdir}/cache/cache.db"\n'
        )
        shown = subprocess.run([str(BIN / "hermit-unixd"), "-c", str(config), "--configtest"],
                               capture_output=True, text=True, timeout=60, check=False)
        assert shown.returncode == 0, shown.stderr
        assert f'token_path = "{token_path}"' in shown.stdout
        assert "aaaa.bbbb.cccc" not in shown.stdout
        for mode, reason in ((0o620, "writable by group or others"),
                             (0o644, "readable by others")):
            token_path.chmod(mode)
            done = subprocess.run(
                [str(BIN / "hermit-unixd"), "--allow-root", "-c", str(config)],
                capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode != 0
            assert f"token_path {token_path}: is {reason}" in done.stderr, done.stderr
            assert "Traceback" not in done.stderr
            assert not (workdir / "sock").exists()
        token_path.unlink()
        done = subprocess.run([str(BIN / "hermit-unixd"), "--allow-root", "-c", str(config)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode != 0
        assert f"token_path {token_path}: no such file" in done.stderr, done.stderr


def test_unixd_token__anonymous_token_helper_reads_by_default(idmd: IdmdServer) -> None:
    # The helper's own test: on the shared server anonymous is still in unix_read.
    with idmd.client(anonymous_token(idmd)) as client:
        assert client.get("/v1/unix/user").status_code == 200
