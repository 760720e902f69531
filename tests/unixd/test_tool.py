"""hermit-unix as a subprocess against unixd's socket shell (idmd faked at the provider seam):
status, cache-invalidate, cache-clear (--really, root only), auth-test reading answers from
stdin, its exit codes, and that it imports no trio."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import trio

from contrib.harness.runtime import everyone_runtime
from tests.unixd.resolver_env import Env
from tests.unixd.socket_client import AS_NOBODY
from unixd.proto.messages import LOCAL_ACCOUNT_REASON
from unixd.resolver.local import parse_local_identities
from unixd.resolver.pam import OTHER_ACCOUNT

HERMIT_UNIX = str(Path(sys.executable).parent / "hermit-unix")
PASSWORD = "correct horse battery"


def write_config(client_path: Path) -> Path:
    config = client_path.parent / "unixd.toml"
    config.write_text(f'uri = "https://idm.test"\nsocket_path = "{client_path}"\n')
    config.chmod(0o644)
    return config


async def hermit_unix(config: Path, *args: str, stdin: str = "",
                      as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    # As nobody, from a copy nobody can run when the clone is out of reach (/root).
    command = ([*AS_NOBODY, str(everyone_runtime().bin / "hermit-unix")] if as_nobody
               else [HERMIT_UNIX])
    command += ["-c", str(config), *args]
    return await trio.to_thread.run_sync(lambda: subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=60, check=False))


async def test_tool__status_prints_the_server_state_and_counts(
    served: tuple[Env, Path, Path],
) -> None:
    env, client_path, _ = served
    env.cache.put_user(env.fake.user_named("alice"))
    done = await hermit_unix(write_config(client_path), "status")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["server: online", "cached users: 1", "cached groups: 0",
                                        "local identities: received"]


async def test_tool__cache_invalidate_expires_every_entry(
    served: tuple[Env, Path, Path],
) -> None:
    env, client_path, _ = served
    env.cache.put_user(env.fake.user_named("alice"))
    done = await hermit_unix(write_config(client_path), "cache-invalidate")
    assert done.returncode == 0, done.stderr
    cached = env.cache.user_by_name("alice")
    assert cached is not None and cached.is_expired(env.clock.now())


async def test_tool__cache_clear_needs_really_and_root(
    served: tuple[Env, Path, Path],
) -> None:
    env, client_path, _ = served
    config = write_config(client_path)
    env.cache.put_user(env.fake.user_named("alice"))
    refused = await hermit_unix(config, "cache-clear")
    assert refused.returncode == 2 and "--really" in refused.stderr
    if os.geteuid() == 0 and shutil.which("setpriv"):
        as_nobody = await hermit_unix(config, "cache-clear", "--really", as_nobody=True)
        assert as_nobody.returncode == 1
        assert "permission_denied" in as_nobody.stderr
        assert env.cache.counts() == (1, 0)
    if os.geteuid() == 0:
        done = await hermit_unix(config, "cache-clear", "--really")
        assert done.returncode == 0, done.stderr
        assert env.cache.counts() == (0, 0)


async def test_tool__auth_test_answers_prompts_from_stdin_and_checks_the_account(
    served: tuple[Env, Path, Path],
) -> None:
    env, client_path, _ = served
    config = write_config(client_path)
    denied_account = await hermit_unix(config, "auth-test", "--name", "alice",
                                       stdin=PASSWORD + "\n")
    assert denied_account.stdout.splitlines()[0] == "auth: success"
    assert denied_account.returncode == 1  # alice is in no allowed login group yet
    env.fake.add_group("staff", 70100, members=("alice",))
    await env.resolver.invalidate()
    done = await hermit_unix(config, "auth-test", "--name", "alice", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["auth: success", "account: allowed"]
    assert PASSWORD not in done.stdout + done.stderr
    wrong = await hermit_unix(config, "auth-test", "--name", "alice", stdin="nope\n")
    assert wrong.returncode == 1
    assert wrong.stdout.splitlines() == ["auth: denied (wrong password)"]
    unknown = await hermit_unix(config, "auth-test", "--name", "nosuchuser", stdin="x\n")
    assert unknown.returncode == 1 and unknown.stdout.startswith("auth: unknown")


async def test_tool__no_unixd_listening_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "unixd.toml"
    config.write_text(f'uri = "https://idm.test"\nsocket_path = "{tmp_path}/none"\n')
    done = await hermit_unix(config, "status")
    assert done.returncode == 2
    assert "cannot reach hermit-unixd" in done.stderr


def test_tool__imports_no_trio_and_no_httpx() -> None:
    code = ("import sys, unixd.tool; "
            "print(sorted(m for m in ('trio', 'httpx', 'apsw') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"



async def test_tool__auth_test_says_a_local_account_is_pam_units_and_refuses_other_uids(
    served: tuple[Env, Path, Path],
) -> None:
    env, client_path, _ = served
    config = write_config(client_path)
    env.link.local = parse_local_identities({"passwd": [{"name": "root", "uid": 0}],
                                             "group": []})
    local = await hermit_unix(config, "auth-test", "--name", "root", stdin="guess\n",
                              as_nobody=True)
    assert local.returncode == 1
    assert local.stdout.splitlines() == [f"auth: unknown (root is {LOCAL_ACCOUNT_REASON})"]
    # Issue 9: a uid that is not root may check only its own account (unix_chkpwd's rule).
    other = await hermit_unix(config, "auth-test", "--name", "alice", stdin=PASSWORD + "\n",
                              as_nobody=True)
    assert other.returncode == 1
    assert other.stdout.splitlines() == [f"auth: denied ({OTHER_ACCOUNT})"]
