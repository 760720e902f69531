"""Attack: plant what sits at ``socket_path`` (the NSS memory-cache files, or a socket of one's
own) and have NSS and sshd believe it.

The PAM module already refused a socket that its server does not own, or one in a directory
others may write to, before sending a password. The NSS module (its memory cache and its
socket lookups) and ``hermit-ssh-authorizedkeys`` trusted whatever they found: a local user
able to write into the socket's directory (a ``socket_path`` in /tmp, a group-writable
directory) could plant ``passwd.mc`` naming any account uid 0, or serve SSH keys for any
account from a socket of their own. Now every C client applies one rule (cclient/): the
directory of ``socket_path`` must be a directory nobody but its owner may write to, owned by
root or by the socket's server; the socket must be owned by its server (SO_PEERCRED); a
memory-cache file must be a regular file of the directory's owner that nobody else may write.
unixd's configuration check refuses a ``socket_path`` in a directory group or others may
write to.

The native modules and the helper as built for tests (``native_build``: the same code, a
test config path), against the scripted hermit-unixd of tests/native, as the native tests
run them; files are planted with unixd's own writer, so only their owner or mode is wrong.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from tests.native.fake_unixd import FakeUnixd, always
from tests.native.memcache_files import passwd_rec, publish
from tests.native.native_build import NativeBuild
from tests.native.nss_driver import ALICE, Status, getpwnam, ok, run_calls
from tests.native.pamtester import pamtester, stack
from unixd.resolver.memcache import Kind

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root to plant files and sockets of another owner")

BIN = Path(sys.executable).parent
NOBODY = pwd.getpwnam("nobody")
# What a planted passwd.mc says: alice is root.
PLANTED = {**ALICE, "uid": 0, "gid": 0, "gecos": "planted"}
FROM_UNIXD = {**ALICE, "gecos": "from unixd"}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlanted intruder@elsewhere"


def to_nobody(path: Path) -> None:
    os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)


def plant(directory: Path) -> Path:
    return publish(directory, Kind.PASSWD, [passwd_rec(PLANTED)])


# The NSS memory cache -------------------------------------------------------------------------

BAD_FILES: dict[str, Callable[[Path], None]] = {
    "owned by another user": to_nobody,
    "writable by others": lambda path: path.chmod(0o646),
    "writable by the group": lambda path: path.chmod(0o664),
}


@pytest.mark.parametrize("how", sorted(BAD_FILES))
async def test_nss_memcache__a_planted_file_is_not_read(
        native_build: NativeBuild, socket_dir: Path, how: str) -> None:
    planted = plant(socket_dir)
    BAD_FILES[how](planted)
    before = planted.read_bytes()
    results, server = await run_calls(native_build, socket_dir, always(ok(user=FROM_UNIXD)),
                                      [getpwnam("alice")])
    # The socket answered, not the planted file; the file is left as it was.
    assert results[0]["record"] == FROM_UNIXD
    assert len(server.requests) == 1
    assert planted.read_bytes() == before


async def test_nss_memcache__unixd_s_own_file_still_answers(
        native_build: NativeBuild, socket_dir: Path) -> None:
    plant(socket_dir)  # the right owner and mode: what unixd publishes
    results, server = await run_calls(native_build, socket_dir, always(ok(user=FROM_UNIXD)),
                                      [getpwnam("alice")])
    assert results[0]["record"] == PLANTED and server.requests == []


# The socket's directory, for the NSS module and the keys helper --------------------------------

BAD_DIRS: dict[str, Callable[[Path], None]] = {
    "world-writable": lambda path: path.chmod(0o777),
    "world-writable and sticky (/tmp)": lambda path: path.chmod(0o1777),
    "group-writable": lambda path: path.chmod(0o775),
    "owned by another user": lambda path: (path.chmod(0o755), to_nobody(path)),  # type: ignore[func-returns-value]
}
BAD_SOCKETS: dict[str, Callable[[Path], None]] = {
    "socket owned by another user than its server": to_nobody,
}


def unixd_dir(socket_dir: Path) -> Path:
    """unixd's directory, as /run/hermit-unixd: 0755 in a directory every user reaches."""
    socket_dir.chmod(0o755)
    path = socket_dir / "run"
    path.mkdir(mode=0o755)
    return path


@pytest.mark.parametrize("how", sorted(BAD_DIRS) + sorted(BAD_SOCKETS))
async def test_nss__an_untrusted_socket_dir_or_socket_is_unavail(
        native_build: NativeBuild, socket_dir: Path, how: str) -> None:
    run = unixd_dir(socket_dir)
    if how in BAD_DIRS:
        plant(run)  # in a directory others may write to, a file is as suspect as a socket
    server = FakeUnixd(always(ok(user=PLANTED)))
    native_build.point_at(run / "sock")
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, run / "sock")
        (BAD_DIRS.get(how) or BAD_SOCKETS[how])(run if how in BAD_DIRS else run / "sock")
        results, _ = await run_calls(native_build, run, None, [getpwnam("alice")])
        nursery.cancel_scope.cancel()
    # Neither the planted file nor the planted socket answered: unixd is not there.
    assert results[0]["status"] == Status.UNAVAIL
    assert server.requests == []


async def keys_helper(build: NativeBuild, run: Path,
                      spoil: Callable[[], None] = lambda: None
                      ) -> tuple[subprocess.CompletedProcess[bytes], FakeUnixd]:
    """hermit-ssh-authorizedkeys alice, as sshd's helper user, against a socket in ``run``
    answering a planted key; ``spoil`` runs once the socket is bound."""
    server = FakeUnixd(always(ok(keys=[KEY])))
    build.point_at(run / "sock")
    build.config.chmod(0o644)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, run / "sock")
        (run / "sock").chmod(0o666)
        spoil()
        with trio.fail_after(60):
            done = await trio.run_process(
                ["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}",
                 "--clear-groups", str(build.sshkeys_helper), "alice"],
                capture_stdout=True, capture_stderr=True, check=False)
        nursery.cancel_scope.cancel()
    return done, server


@pytest.mark.parametrize("how", sorted(BAD_DIRS) + sorted(BAD_SOCKETS))
async def test_keys_helper__an_untrusted_socket_dir_or_socket_gets_no_request(
        native_build: NativeBuild, socket_dir: Path, how: str) -> None:
    run = unixd_dir(socket_dir)

    def spoil() -> None:
        (BAD_DIRS.get(how) or BAD_SOCKETS[how])(run if how in BAD_DIRS else run / "sock")

    done, server = await keys_helper(native_build, run, spoil)
    assert (done.returncode, done.stdout) == (1, b""), done
    assert b"not trusted" in done.stderr
    assert server.requests == []


async def test_keys_helper__unixd_s_own_socket_still_answers(
        native_build: NativeBuild, socket_dir: Path) -> None:
    done, server = await keys_helper(native_build, unixd_dir(socket_dir))
    assert (done.returncode, done.stdout.decode()) == (0, KEY + "\n"), done.stderr
    assert len(server.requests) == 1


@pytest.mark.parametrize("op", ["acct_mgmt", "open_session"])
async def test_pam__account_and_session_send_nothing_to_an_untrusted_socket(
        native_build: NativeBuild, socket_dir: Path, op: str) -> None:
    # A planted server answering "allowed" must not pass the account phase, nor have a home
    # made: the account and session connections are checked as the password's always was.
    open_dir = socket_dir / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    service = stack(native_build, "account required MODULE", "session required MODULE")
    run = await pamtester(native_build, socket_dir, service, "alice", [op],
                          socket_path=open_dir / "sock")
    assert run.returncode != 0, run.stderr
    assert run.requests == []


# unixd's configuration check --------------------------------------------------------------------

def configtest(tmp_path: Path, mode: int) -> subprocess.CompletedProcess[str]:
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(mode)
    config = tmp_path / "unixd.toml"
    config.write_text(f'uri = "https://idm.example.com"\nsocket_path = "{run}/sock"\n')
    return subprocess.run([str(BIN / "hermit-unixd"), "-c", str(config), "--configtest"],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o775, 0o770, 0o757])
def test_config__socket_path_in_a_directory_others_may_write_is_refused(
        tmp_path: Path, mode: int) -> None:
    done = configtest(tmp_path, mode)
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    assert "'socket_path'" in done.stderr and "writ" in done.stderr
    assert not (tmp_path / "run" / "sock").exists()


def test_config__socket_path_in_a_directory_only_its_owner_writes_is_accepted(
        tmp_path: Path) -> None:
    done = configtest(tmp_path, 0o755)
    assert done.returncode == 0, done.stderr
    assert f'socket_path = "{tmp_path}/run/sock"' in done.stdout
