"""End to end, password + TOTP through Linux-PAM: python-pam (its own conversation,
``pam_conversation.py``), pamtester and ``hermit-unix auth-test`` against pam_hermit.so, a real
hermit-unixd and a real hermit-idmd over TLS (the world of ``e2e_world.py``), for accounts whose
unix credential carries a TOTP enrolled with ``hermit person credential totp add NAME LABEL
--unix`` (a credential update session).

Online: the password, then the code; a wrong code and a replayed code are refused with the
reason shown; a private sshd's keyboard-interactive login relays both prompts. Offline (idmd
stopped): ``offline_mfa = "deny"`` refuses with the reason, ``offline_mfa = "password"`` lets
the cached password in. The tests run in file order: the offline ones stop the world's idmd.

Each account's code is spent once per 30 s step (idmd never accepts a code twice, and a wrong
one makes the credential wait for the next step), so each scenario that needs a fresh code has
an account of its own, and an admin lifts the softlock after a refusal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyotp
import pytest

from tests.cli.hermit_process import HermitProcess, enrol_totp, logged_in
from tests.native.e2e_world import (
    BIN,
    RUN_TIMEOUT_SECONDS,
    SSH,
    World,
    running_sshd,
    world_of,
)
from tests.native.pam_in_world import PAM_AUTH_ERR, PAM_SUCCESS, codes, python_pam
from unixd.resolver.pam import (
    CODE_PROMPT,
    OFFLINE_MFA_DENIED,
    WRONG_PASSWORD,
    WRONG_PASSWORD_OR_CODE,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for mount namespaces"),
    pytest.mark.integration,
]

PASSWORD_PROMPT = ["echo_off", "Password: "]
CODE_PROMPT_SEEN = ["echo_on", CODE_PROMPT]
# mira logs in through PAM, tess through hermit-unix auth-test, kim through OpenSSH.
MFA_PEOPLE = ("mira", "tess", "kim")


@dataclass
class Totps:
    apps: dict[str, pyotp.TOTP]
    # The code each account last logged in with (never accepted again).
    spent: dict[str, str] = field(default_factory=dict)

    def code(self, name: str) -> str:
        """The code ``name``'s app shows now."""
        return str(self.apps[name].now())

    def wrong(self, name: str) -> str:
        return str((int(self.code(name)) + 1) % 10**6).zfill(6)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with world_of("hermit-e2e-mfa-", tasks=True) as made:
        yield made


def _admin(world: World) -> str:
    return world.idmd.login("idm_admin", world.idmd.idm_admin_password)


def enrol_unix_totp(admin: HermitProcess, name: str) -> pyotp.TOTP:
    return enrol_totp(admin, name, "phone", unix=True)


@pytest.fixture(scope="module")
def totps(world: World, tmp_path_factory: pytest.TempPathFactory) -> Totps:
    with world.idmd.client(_admin(world)) as client:
        for name in MFA_PEOPLE:
            for response in (
                client.post("/v1/person", json={"name": name, "displayname": name.title()}),
                client.put(f"/v1/person/{name}/posix", json={}),
                client.put(f"/v1/person/{name}/unix_password", json={"password": world.password}),
                client.post("/v1/group/e2e-inner/members/add", json={"members": [name]}),
            ):
                assert response.status_code < 300, response.text
    admin = logged_in(world.idmd, tmp_path_factory.mktemp("mfa-cli"), "idm_admin",
                      world.idmd.idm_admin_password)
    return Totps({name: enrol_unix_totp(admin, name) for name in MFA_PEOPLE})


def hermit_unix(world: World, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "hermit-unix"), "-c", str(world.unixd.config), *args],
                          input=stdin, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS, check=False)


# Online ------------------------------------------------------------------------------------


def test_mfa__a_wrong_code_is_refused_after_both_prompts(world: World, totps: Totps) -> None:
    outcome = python_pam(world, "hermit-e2e", "mira", [world.password, totps.wrong("mira")],
                         "authenticate")
    world.unlock("mira")
    assert codes(outcome) == [("authenticate", PAM_AUTH_ERR)]
    assert outcome["transcript"] == [PASSWORD_PROMPT, CODE_PROMPT_SEEN,
                                     ["error", WRONG_PASSWORD_OR_CODE]]


def test_mfa__right_password_and_code_log_in(world: World, totps: Totps) -> None:
    outcome = python_pam(world, "hermit-e2e", "mira", [world.password, totps.code("mira")],
                         "authenticate", "acct_mgmt")
    assert codes(outcome) == [("authenticate", PAM_SUCCESS), ("acct_mgmt", PAM_SUCCESS)]
    assert outcome["transcript"] == [PASSWORD_PROMPT, CODE_PROMPT_SEEN]


def test_mfa__auth_test_reads_the_code_from_the_next_stdin_line(
    world: World, totps: Totps
) -> None:
    code = totps.code("tess")
    done = hermit_unix(world, "auth-test", "--name", "tess",
                       stdin=f"{world.password}\n{code}\n")
    assert done.returncode == 0, done.stdout + done.stderr
    totps.spent["tess"] = code
    assert done.stdout.splitlines() == ["auth: success", "account: allowed"]
    assert world.password not in done.stdout + done.stderr
    assert code not in done.stdout + done.stderr


def test_mfa__a_replayed_code_is_refused(world: World, totps: Totps) -> None:
    # auth-test spent tess's code just now; the same code again is refused, whether the time
    # step has turned since or not.
    done = world.run("pamtester", "hermit-e2e", "tess", "authenticate",
                     stdin=f"{world.password}\n{totps.spent['tess']}\n")
    world.unlock("tess")
    assert done.returncode == 1, done.stdout + done.stderr
    assert WRONG_PASSWORD_OR_CODE in done.stderr
    assert "Authentication failure" in done.stderr


def ssh_keyboard_interactive(world: World, port: int, user: str, password: str,
                             code: str) -> subprocess.CompletedProcess[str]:
    """ssh with keyboard-interactive, SSH_ASKPASS answering the code prompt with ``code`` and
    any other with ``password``; both only ever sit in 0600 files."""
    secrets_dir = world.workdir / f"askpass-{user}"
    secrets_dir.mkdir(mode=0o700)
    (secrets_dir / "password").write_text(password + "\n")
    (secrets_dir / "code").write_text(code + "\n")
    askpass = secrets_dir / "askpass.sh"
    askpass.write_text('#!/bin/sh\ncase "$1" in\n'
                       f'  *"{CODE_PROMPT.strip()}"*) exec cat {secrets_dir}/code ;;\n'
                       f'  *) exec cat {secrets_dir}/password ;;\nesac\n')
    askpass.chmod(0o700)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SSH_ASKPASS": str(askpass),
           "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    try:
        return subprocess.run([*SSH, "-o", "BatchMode=no", "-o", "PubkeyAuthentication=no",
                               "-o", "PreferredAuthentications=keyboard-interactive",
                               "-o", "NumberOfPasswordPrompts=1", "-p", str(port),
                               f"{user}@127.0.0.1", "id", "-un"],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                              check=False, env=env)
    finally:
        shutil.rmtree(secrets_dir)


def test_mfa__sshd_keyboard_interactive_asks_the_password_then_the_code(
    world: World, totps: Totps
) -> None:
    with running_sshd(world) as port:
        wrong = ssh_keyboard_interactive(world, port, "kim", world.password, totps.wrong("kim"))
        world.unlock("kim")
        assert (wrong.returncode, wrong.stdout) == (255, ""), wrong.stderr
        done = ssh_keyboard_interactive(world, port, "kim", world.password, totps.code("kim"))
        assert (done.returncode, done.stdout) == (0, "kim\n"), done.stderr


# Offline -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def offline(world: World, totps: Totps) -> World:
    """idmd stopped, unixd's cache invalidated: only the offline path answers."""
    world.idmd.process.stop()
    assert hermit_unix(world, "cache-invalidate").returncode == 0
    assert "server: offline" in hermit_unix(world, "status").stdout
    return world


def test_mfa__offline_with_deny_is_refused_with_the_reason(offline: World) -> None:
    outcome = python_pam(offline, "hermit-e2e", "mira", [offline.password], "authenticate")
    assert codes(outcome) == [("authenticate", PAM_AUTH_ERR)]
    # No code is asked: it could not be checked.
    assert outcome["transcript"] == [PASSWORD_PROMPT, ["error", OFFLINE_MFA_DENIED]]
    # hermit-unix shows the same reason.
    done = hermit_unix(offline, "auth-test", "--name", "mira", stdin=f"{offline.password}\n")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"auth: denied ({OFFLINE_MFA_DENIED})"]


def test_mfa__offline_with_password_policy_the_cached_password_works(offline: World) -> None:
    config = offline.unixd.config
    config.write_text(config.read_text() + 'offline_mfa = "password"\n')
    offline.unixd.stop()
    offline.unixd.start()
    offline.unixd.wait_answering("offline", local_identities=True)
    right = python_pam(offline, "hermit-e2e", "mira", [offline.password, "000000"],
                       "authenticate", "acct_mgmt")
    assert codes(right) == [("authenticate", PAM_SUCCESS), ("acct_mgmt", PAM_SUCCESS)]
    assert right["transcript"] == [PASSWORD_PROMPT, CODE_PROMPT_SEEN]
    wrong = python_pam(offline, "hermit-e2e", "mira", ["wrong-e2e", "000000"], "authenticate")
    assert codes(wrong) == [("authenticate", PAM_AUTH_ERR)]
    assert wrong["transcript"][-1] == ["error", WRONG_PASSWORD]
