"""Issue 9, finding 5: offline, any local user could guess directory users' passwords.

unixd checked any password on its 0666 client socket against the cached Argon2id hash, for
any peer and any account, with no counter, no delay and no log line (26 guesses a second).
Now, as unix_chkpwd does, a peer that is not root may only check its own account (its uid is
the account's gidnumber); offline, each account has a failure counter whose delay grows
(``offline_failed_login_attempts`` free failures, then ``offline_failed_login_delay``
seconds, doubling; a check inside the delay is refused unchecked); and every failure, online
and offline, is logged to the authpriv facility without the password.

The attacks:
- component (the resolver over a real cache, idmd faked at the provider seam, a fake wall
  clock): another uid checks bob's password online and offline (refused before any check,
  nothing changed, bob still logs in); the uid of alice checks alice's (allowed); a burst of
  wrong guesses offline meets a delay that grows, the right password inside the delay is
  refused too, bob is not slowed by alice's counter, and every failure is logged without a
  secret;
- end to end: a real hermit-idmd (the test's own, stopped half way), a real hermit-unixd in a
  private mount namespace whose /dev/log is a datagram socket of the test; ``hermit-unix
  auth-test`` run through ``setpriv`` as alice's uid against bob (refused, online and with
  idmd stopped) and against alice (allowed); repeated wrong guesses lock the right password
  out; each failure arrives as a syslog line of facility authpriv naming the account and no
  password.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

import unixd.resolver.pam as pam_rules
from contrib.harness.runtime import everyone_runtime
from contrib.harness.unixd_client import send_host_identities
from contrib.harness.unixd_process import UnixdProcess, write_config
from tests.integration.directory import directory, new_password, unique
from tests.integration.idmd_server import IdmdServer, own_idmd, scratch_dir
from tests.security.pam_steps import login
from tests.unixd.fake_idmd import FakeIdmd, uuid_for
from tests.unixd.resolver_env import PASSWORD, Env, started_env
from unixd.proto import messages as m
from unixd.resolver.dispatch import Peer, answer

BIN = Path(sys.executable).parent
ALICE_UID, BOB_UID = 70001, 70002
BOB_PASSWORD = "bob's password"
ATTEMPTS, DELAY = 3, 5.0
# RFC 5424 / syslog(3): facility authpriv is 10, so PRI = 10 * 8 + severity.
AUTHPRIV = 10


@dataclass
class Logged:
    lines: list[str]

    def __call__(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture
async def env(tmp_path: Path, nursery: trio.Nursery) -> Iterator[tuple[Env, Logged]]:
    fake = FakeIdmd()
    fake.add_user("alice", ALICE_UID, password=PASSWORD)
    fake.add_user("bob", BOB_UID, password=BOB_PASSWORD)
    env = await started_env(tmp_path, fake, nursery, offline_failed_login_attempts=ATTEMPTS,
                            offline_failed_login_delay=DELAY)
    logged = Logged([])
    env.resolver.auth_log.sink = logged
    yield env, logged
    env.cache.close()


async def go_offline(env: Env) -> None:
    for uuid in (uuid_for(ALICE_UID), uuid_for(BOB_UID)):
        await env.resolver.offline_hash_stored(uuid)
    env.fake.down = True
    await answer(env.resolver, m.Status(), Peer(uid=0))
    assert not env.resolver.state.is_online


def denied(reason: str) -> dict[str, object]:
    return {"kind": "denied", "reason": reason}


# Only root, or the account itself -------------------------------------------------------


@pytest.mark.parametrize("offline", [False, True])
async def test_unixd_auth__another_uid_may_not_check_an_accounts_password(
    env: tuple[Env, Logged], offline: bool
) -> None:
    e, logged = env
    assert await login(e, "bob", BOB_PASSWORD) == {"kind": "success"}  # root: hash cached
    assert await login(e, "alice", PASSWORD) == {"kind": "success"}
    await e.resolver.offline_hash_stored(uuid_for(BOB_UID))
    if offline:
        await go_offline(e)
    asked = e.fake.count("POST /v1/unix/auth")
    for uid in (ALICE_UID, 1000, 65534):
        for guess in ("wrong guess", BOB_PASSWORD):
            assert await login(e, "bob", guess, uid=uid) == denied(pam_rules.OTHER_ACCOUNT)
    # Refused before any check: idmd was not asked, and nothing was counted or dropped.
    assert e.fake.count("POST /v1/unix/auth") == asked
    assert e.cache.verify_password(uuid_for(BOB_UID), BOB_PASSWORD)
    for _ in range(ATTEMPTS + 2):
        assert await login(e, "bob", BOB_PASSWORD) == {"kind": "success"}
    # Its own account: allowed, online and offline, as unix_chkpwd allows.
    assert await login(e, "alice", PASSWORD, uid=ALICE_UID) == {"kind": "success"}
    assert await login(e, "alice", "wrong", uid=ALICE_UID) == denied(pam_rules.WRONG_PASSWORD)
    # Every refusal is logged, naming the peer and the account, never a password.
    refusals = [line for line in logged.lines if "uid=1000" in line and "bob" in line]
    assert len(refusals) == 2
    assert all(BOB_PASSWORD not in line and "wrong guess" not in line
               for line in logged.lines)


# Offline: a failure counter with a growing delay ------------------------------------------


async def test_unixd_auth__offline_guesses_meet_a_growing_delay(
    env: tuple[Env, Logged],
) -> None:
    e, logged = env
    assert await login(e, "alice", PASSWORD) == {"kind": "success"}
    assert await login(e, "bob", BOB_PASSWORD) == {"kind": "success"}
    await go_offline(e)
    locked = denied(pam_rules.LOCKED)
    guesses = [f"guess-{n}-x7" for n in range(ATTEMPTS + 4 + ATTEMPTS)]
    for guess in guesses[:ATTEMPTS]:
        assert await login(e, "alice", guess) == denied(pam_rules.WRONG_PASSWORD)
    delay = DELAY
    for round_ in range(4):
        # Inside the delay even the right password is refused unchecked: no oracle.
        assert await login(e, "alice", PASSWORD) == locked
        e.clock.advance(delay - 0.5)
        assert await login(e, "alice", PASSWORD) == locked
        # bob is not slowed by alice's counter.
        assert await login(e, "bob", BOB_PASSWORD) == {"kind": "success"}
        e.clock.advance(0.5)
        assert await login(e, "alice", guesses[ATTEMPTS + round_]) == denied(
            pam_rules.WRONG_PASSWORD)
        delay *= 2
    assert await login(e, "alice", PASSWORD) == locked
    e.clock.advance(delay)
    # After the delay the right password works, and ends the counter.
    assert await login(e, "alice", PASSWORD) == {"kind": "success"}
    for guess in guesses[ATTEMPTS + 4:]:
        assert await login(e, "alice", guess) == denied(pam_rules.WRONG_PASSWORD)
    failures = [line for line in logged.lines if "alice" in line]
    # ATTEMPTS + 4 + ATTEMPTS wrong passwords and 4 * 2 + 1 refusals inside a delay.
    assert len(failures) == 2 * ATTEMPTS + 4 + 9
    assert all("offline" in line for line in failures)
    assert not any(secret in line for secret in [PASSWORD, *guesses] for line in logged.lines)


async def test_unixd_auth__online_failures_are_logged_too(env: tuple[Env, Logged]) -> None:
    e, logged = env
    assert await login(e, "alice", "online guess") == denied(pam_rules.WRONG_PASSWORD)
    assert len(logged.lines) == 1
    assert "alice" in logged.lines[0] and "online" in logged.lines[0]
    assert "online guess" not in logged.lines[0]
    assert await login(e, "alice", PASSWORD) == {"kind": "success"}
    assert len(logged.lines) == 1  # a success is not a failure line


# End to end: setpriv, a stopped idmd, and the authpriv lines on a private /dev/log ----------

# Inside the namespace: a tmpfs /dev whose entries point back at the real ones, and /dev/log
# as the test's datagram socket; then unixd.
DEVLOG = """set -e
d="$0"
mkdir -p "$d/dev.real"
mount --rbind /dev "$d/dev.real"
mount -t tmpfs -o mode=0755 hermit-dev /dev
for f in "$d"/dev.real/* ; do ln -s "$f" "/dev/${f##*/}"; done
ln -sf "$d/log.sock" /dev/log
exec "$@"
"""
_PRI = re.compile(r"<(\d+)>")


@dataclass
class Host:
    workdir: Path
    config: Path
    syslog: socket.socket

    def tool(self, uid: int | None, *args: str, stdin: str = "") -> subprocess.CompletedProcess[
            str]:
        prefix = ([] if uid is None else
                  ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"])
        # Another uid runs a copy it can reach when the clone cannot be (/root).
        tool = BIN if uid is None else everyone_runtime().bin
        return subprocess.run([*prefix, str(tool / "hermit-unix"), "-c", str(self.config),
                               *args], input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)

    def auth(self, uid: int | None, name: str, password: str) -> str:
        done = self.tool(uid, "auth-test", "--name", name, stdin=password + "\n")
        return done.stdout + done.stderr

    def logged(self) -> list[tuple[int, str]]:
        """Every syslog datagram so far: (facility, text)."""
        lines = []
        while True:
            try:
                data = self.syslog.recv(65536)
            except BlockingIOError:
                return lines
            text = data.decode("utf-8", "replace")
            match = _PRI.match(text)
            assert match is not None, text
            lines.append((int(match[1]) >> 3, text))


@contextmanager
def unixd_with_private_devlog(server: IdmdServer, **keys: object) -> Iterator[Host]:
    with scratch_dir("hul-") as workdir:
        workdir.chmod(0o755)  # hermit-unix runs as other uids
        config = write_config(workdir, server.url, server.ca,
                              **{"connect_timeout": 1, "request_timeout": 3, **keys})
        config.chmod(0o644)
        syslog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        syslog.bind(str(workdir / "log.sock"))
        syslog.setblocking(False)
        unixd = UnixdProcess.launch(config, prefix=["unshare", "-m", "--propagation", "private",
                                                    "sh", "-c", DEVLOG, str(workdir)])
        try:
            # unixd answers nothing before it knows the local accounts (what the tasks daemon
            # would send): the host's own, read as hermit-unixd-tasks reads them.
            send_host_identities(workdir / "task.sock")
            yield Host(workdir, config, syslog)
        finally:
            unixd.stop()
            assert "Traceback" not in unixd.stderr, unixd.stderr
            syslog.close()


def test_unixd_auth__setpriv_as_another_uid_with_idmd_stopped() -> None:
    alice, bob = unique("ga"), unique("gb")
    alice_pw, bob_pw = new_password(), new_password()
    secrets_ = (alice_pw, bob_pw, "wrong-1", "wrong-2", "wrong-3")
    with scratch_dir("hermit-idmd-") as idmd_dir, own_idmd(idmd_dir) as server, \
            directory(server, clean_up=False) as made:
        alice_uid = int(made.person(alice, password=alice_pw)["posix"]["gidnumber"])  # type: ignore[index]
        made.person(bob, password=bob_pw)
        with unixd_with_private_devlog(server, offline_failed_login_attempts=2,
                                       offline_failed_login_delay=600) as host:
            # Root (sshd, login, su) logs both in once: their hashes are cached.
            assert "auth: success" in host.auth(None, alice, alice_pw)
            assert "auth: success" in host.auth(None, bob, bob_pw)
            # Online: alice's uid may not check bob's password, right or wrong.
            for guess in ("wrong-1", bob_pw):
                out = host.auth(alice_uid, bob, guess)
                assert pam_rules.OTHER_ACCOUNT in out, out
            assert "denied (wrong password)" in host.auth(alice_uid, alice, "wrong-1")

            server.process.stop()
            assert host.tool(None, "cache-invalidate").returncode == 0
            # Offline: the same refusal, nothing changed for bob.
            for guess in ("wrong-2", bob_pw):
                assert pam_rules.OTHER_ACCOUNT in host.auth(alice_uid, bob, guess)
            assert "auth: success" in host.auth(None, bob, bob_pw)
            assert "server: offline" in host.tool(None, "status").stdout
            # Its own account: allowed.
            assert "auth: success" in host.auth(alice_uid, alice, alice_pw)
            # Wrong guesses: after two, even the right password waits (600 s here).
            for guess in ("wrong-2", "wrong-3"):
                assert "denied (wrong password)" in host.auth(alice_uid, alice, guess)
            out = host.auth(alice_uid, alice, alice_pw)
            assert pam_rules.LOCKED in out, out
            # Everyone else is still served.
            assert "auth: success" in host.auth(None, bob, bob_pw)

            lines = host.logged()
    facilities = {facility for facility, _ in lines}
    assert facilities == {AUTHPRIV}, lines
    texts = [text for _, text in lines]
    assert sum(bob in text and f"uid={alice_uid}" in text for text in texts) == 4
    assert sum(alice in text and "offline" in text for text in texts) == 3
    assert sum(alice in text and "online" in text for text in texts) == 1
    assert all("hermit-unixd" in text for text in texts)
    assert not any(secret in text for secret in secrets_ for text in texts)
