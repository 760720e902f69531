"""``hermit login | whoami | logout`` against a real hermit-idmd over TLS.

Runs the installed ``hermit`` in subprocesses with HERMIT_* and a private XDG_CACHE_HOME.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.cli.hermit_process import HERMIT, RUN_TIMEOUT_S, HermitProcess
from tests.integration.idmd_server import IdmdServer
from tests.integration.logins import (
    AdminToken,
    Person,
    enrol_totp,
    make_person,
)


@pytest.fixture
def as_idm_admin(idmd: IdmdServer, tmp_path: Path) -> HermitProcess:
    return HermitProcess(tmp_path, {
        "HERMIT_URL": idmd.url,
        "HERMIT_CA": str(idmd.ca),
        "HERMIT_NAME": "idm_admin",
        "HERMIT_PASSWORD": idmd.idm_admin_password,
    })


def _stored_token(proc: HermitProcess) -> str:
    (token_file,) = proc.cache_dir.glob("token-*.json")
    token: str = json.loads(token_file.read_text())["token"]
    return token


def test_cli_login__stores_a_private_token(as_idm_admin: HermitProcess, idmd: IdmdServer) -> None:
    ran = as_idm_admin.ok("login")
    assert ran.out == "logged in as idm_admin\n"
    (token_file,) = as_idm_admin.cache_dir.glob("token-*.json")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(as_idm_admin.cache_dir.stat().st_mode) == 0o700
    token = _stored_token(as_idm_admin)
    assert token not in ran.out + ran.err
    assert idmd.idm_admin_password not in ran.out + ran.err


def test_cli_whoami__human_and_json(as_idm_admin: HermitProcess) -> None:
    as_idm_admin.ok("login")
    human = as_idm_admin.ok("whoami")
    assert any(line.split() == ["name:", "idm_admin"] for line in human.out.splitlines())
    me = as_idm_admin.ok("whoami", "--json").json()
    assert me["name"] == "idm_admin"
    assert me["scope"] == "read_write"
    assert me["spn"].startswith("idm_admin@")
    assert _stored_token(as_idm_admin) not in human.out + str(me)


def test_cli_whoami__global_options_after_the_command(
    as_idm_admin: HermitProcess, idmd: IdmdServer
) -> None:
    as_idm_admin.ok("login")
    ran = as_idm_admin(
        "whoami", "--json", "--url", idmd.url, "--ca", str(idmd.ca), "--name", "idm_admin",
        env={"HERMIT_URL": "https://wrong.invalid", "HERMIT_CA": "/nonexistent"},
    )
    assert ran.status == 0, ran
    assert ran.json()["name"] == "idm_admin"


def test_cli_logout__revokes_the_token(as_idm_admin: HermitProcess, idmd: IdmdServer) -> None:
    as_idm_admin.ok("login")
    token = _stored_token(as_idm_admin)
    assert as_idm_admin.ok("logout").out == "logged out idm_admin\n"
    assert list(as_idm_admin.cache_dir.glob("token-*.json")) == []
    with httpx.Client(verify=_ssl(idmd.ca)) as client:
        answer = client.get(f"{idmd.url}/v1/auth/whoami",
                            headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "token_revoked"
    assert as_idm_admin.ok("logout").out == "unchanged\n"
    as_idm_admin.fails("whoami", code="not_logged_in")
    # The old token, handed back as an API token, is refused with one line.
    revoked = as_idm_admin.fails("whoami", code="token_revoked", env={"HERMIT_TOKEN": token})
    assert token not in revoked.err


def _ssl(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def test_cli_login__two_accounts_side_by_side(
    as_idm_admin: HermitProcess, idmd: IdmdServer
) -> None:
    as_idm_admin.ok("login")
    as_idm_admin.ok("login", env={"HERMIT_NAME": "admin",
                                  "HERMIT_PASSWORD": idmd.admin_password})
    assert len(list(as_idm_admin.cache_dir.glob("token-*.json"))) == 2
    for name in ("idm_admin", "admin"):
        me = as_idm_admin.ok("whoami", "--json", env={"HERMIT_NAME": name}).json()
        assert me["name"] == name
    ambiguous = as_idm_admin("whoami", env={"HERMIT_NAME": ""})
    assert ambiguous.status == 2 and ambiguous.err.endswith("pick one with --name (usage)\n")


def test_cli_login__wrong_password_is_one_line(as_idm_admin: HermitProcess) -> None:
    # An unknown name is denied exactly like a wrong password, without making idm_admin's
    # password wait (softlock) while other tests log in with it.
    ran = as_idm_admin(
        "login", env={"HERMIT_NAME": "nobody-cli-wrong", "HERMIT_PASSWORD": "definitely-wrong"}
    )
    assert ran.status == 1 and ran.err.startswith("hermit: login denied")
    assert ran.err.count("\n") == 1
    assert "definitely-wrong" not in ran.err
    assert list(as_idm_admin.cache_dir.glob("token-*.json")) == []


def test_cli_login__no_terminal_no_password_does_not_wait(
    as_idm_admin: HermitProcess,
) -> None:
    # stdin is a pipe that stays open and silent: login must fail, not wait on it.
    read_end, write_end = os.pipe()
    try:
        done = subprocess.run(
            [str(HERMIT), "login"], stdin=read_end, capture_output=True, text=True,
            env=as_idm_admin.environ({"HERMIT_PASSWORD": ""}), timeout=RUN_TIMEOUT_S,
            check=False,
        )
    finally:
        os.close(read_end)
        os.close(write_end)
    assert done.returncode == 2
    assert done.stderr == (
        "hermit: no terminal to ask for the password: set HERMIT_PASSWORD (usage)\n"
    )


def test_cli_login__http_url_is_refused(as_idm_admin: HermitProcess, idmd: IdmdServer) -> None:
    plain = idmd.url.replace("https://", "http://")
    as_idm_admin.fails("login", "--url", plain, code="usage", status=2)


def test_cli_login__untrusted_server_is_one_tls_line(as_idm_admin: HermitProcess) -> None:
    # Without the pinned CA, the system store does not trust idmd's private CA.
    ran = as_idm_admin("login", env={"HERMIT_CA": ""})
    assert ran.status == 1 and ran.err.endswith("(tls_error)\n") and ran.err.count("\n") == 1


def test_cli_login__unreachable_server_is_one_line(as_idm_admin: HermitProcess) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    as_idm_admin.fails("login", "--url", f"https://127.0.0.1:{port}", code="connection_failed")


@pytest.fixture
def totp_person(idmd: IdmdServer, tmp_path: Path) -> tuple[HermitProcess, Person]:
    admin_token = AdminToken(idmd.login("idm_admin", idmd.idm_admin_password))
    person = make_person(idmd, admin_token, "clitotp")
    enrol_totp(idmd, admin_token, person)
    proc = HermitProcess(tmp_path / "person", {
        "HERMIT_URL": idmd.url,
        "HERMIT_CA": str(idmd.ca),
        "HERMIT_NAME": person.name,
        "HERMIT_PASSWORD": person.password,
    })
    return proc, person


def test_cli_login__hermit_totp_answers_the_code_step(
    totp_person: tuple[HermitProcess, Person],
) -> None:
    proc, person = totp_person
    assert person.totp is not None
    missing = proc("login")
    assert missing.status == 2 and "HERMIT_TOTP" in missing.err
    code = person.totp.now()
    ran = proc.ok("login", env={"HERMIT_TOTP": code})
    assert ran.out == f"logged in as {person.name}\n"
    assert code not in ran.out + ran.err
    replay = proc("reauth", env={"HERMIT_TOTP": code})
    assert replay.status == 1 and "wrong or already used code" in replay.err


def test_cli_login__hermit_backup_code_when_no_totp_is_given(
    totp_person: tuple[HermitProcess, Person],
) -> None:
    proc, person = totp_person
    ran = proc.ok("login", env={"HERMIT_BACKUP_CODE": person.backup_codes[0]})
    assert ran.out == f"logged in as {person.name}\n"


def test_cli_reauth__prints_the_new_privilege_window(as_idm_admin: HermitProcess) -> None:
    as_idm_admin.ok("login")
    before = as_idm_admin.ok("whoami", "--json").json()
    done = as_idm_admin.ok("reauth", "--json").json()
    assert done["changed"] is True
    assert done["privileged_until"] >= before["privileged_until"]
    human = as_idm_admin.ok("reauth")
    assert human.out.startswith("privileged until ")
    assert as_idm_admin.ok("whoami", "--json").json()["session_id"] == before["session_id"]


def test_cli_session__list_and_destroy(as_idm_admin: HermitProcess, tmp_path: Path) -> None:
    other = HermitProcess(tmp_path / "other", as_idm_admin.env)
    other.ok("login")
    other_id = other.ok("whoami", "--json").json()["session_id"]
    as_idm_admin.ok("login")
    mine = as_idm_admin.ok("whoami", "--json").json()["session_id"]
    listed = as_idm_admin.ok("session", "list", "--json").json()["sessions"]
    assert {s["id"]: s["current"] for s in listed if s["id"] in (mine, other_id)} == {
        mine: True,
        other_id: False,
    }
    table = as_idm_admin.ok("session", "list").out.splitlines()
    assert table[0].split() == ["ID", "SCOPE", "ISSUED", "EXPIRES", "PRIVILEGED", "UNTIL"]
    assert any(line.startswith("*") and mine in line for line in table[1:])
    ran = as_idm_admin.ok("session", "destroy", other_id)
    assert ran.out == f"destroyed session {other_id}\n"
    assert as_idm_admin.ok("session", "destroy", other_id).out == "unchanged\n"
    refused = other("whoami")
    assert refused.status == 1 and "(token_revoked)" in refused.err
    # Ending the session in use is a logout: the stored token goes too.
    as_idm_admin.ok("session", "destroy", mine)
    assert list(as_idm_admin.cache_dir.glob("token-*.json")) == []


def test_cli_person_credential_unlock(
    as_idm_admin: HermitProcess, totp_person: tuple[HermitProcess, Person]
) -> None:
    proc, person = totp_person
    wrong = proc("login", env={"HERMIT_TOTP": "000000" if person.totp else ""})
    assert wrong.status == 1
    as_idm_admin.ok("login")
    assert as_idm_admin.ok("person", "credential", "unlock", person.name).out == (
        f"unlocked the credentials of {person.name}\n"
    )
    assert as_idm_admin.ok("person", "credential", "unlock", person.name).out == "unchanged\n"
