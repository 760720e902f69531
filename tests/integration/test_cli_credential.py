"""Credential update sessions and reset tokens end to end: the installed ``hermit`` and the REST
API against a real hermit-idmd over TLS, as idm_admin and as the person.

The idle timeout and a reset token's expiry need a clock the test moves; they are covered
in-process with a FakeClock (tests/idmd/test_https_credentials.py, test_idm_credentials_staging.py).
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from hermit_cli.main import run
from hermit_cli.tokens import TokenStore
from tests.cli.hermit_process import HermitProcess, enrol_totp, logged_in
from tests.cli.scripted_server import TtyStringIO
from tests.integration.idmd_server import IdmdServer

STEP = "/v1/credential/update"


@pytest.fixture(scope="module")
def admin(idmd: IdmdServer, tmp_path_factory: pytest.TempPathFactory) -> HermitProcess:
    return logged_in(idmd, tmp_path_factory.mktemp("cli-credential"), "idm_admin",
                     idmd.idm_admin_password)


@pytest.fixture
def person(admin: HermitProcess) -> Iterator[str]:
    name = f"c{uuid.uuid4().hex[:10]}"
    admin.ok("person", "create", name, "--display-name", "Credential Person")
    yield name
    admin.ok("person", "delete", name)


def _password() -> str:
    return "pass-" + uuid.uuid4().hex


def _add_totp(admin: HermitProcess, name: str, label: str) -> pyotp.TOTP:
    return enrol_totp(admin, name, label)


def test_cli_credential__totp_add_then_login_with_a_code_or_backup_code(
    admin: HermitProcess, person: str, idmd: IdmdServer, tmp_path: Path
) -> None:
    password = _password()
    ran = admin.ok("person", "credential", "set-password", person, stdin=password + "\n")
    assert ran.out == f"password set for {person}\n"
    app = _add_totp(admin, person, "phone")

    themselves = HermitProcess(tmp_path / "own", {
        "HERMIT_URL": idmd.url, "HERMIT_CA": str(idmd.ca), "HERMIT_NAME": person,
        "HERMIT_PASSWORD": password,
    })
    themselves.fails("login", code="usage", status=2)  # a code is asked first, none given
    themselves.ok("login", env={"HERMIT_TOTP": app.now()})
    assert themselves.ok("whoami", "--json").json()["name"] == person

    codes = admin.ok("person", "credential", "backup-codes", person).out.splitlines()
    assert len(codes) == 10 and all(len(code) == 14 for code in codes)
    other = HermitProcess(tmp_path / "other", themselves.env)
    other.ok("login", env={"HERMIT_BACKUP_CODE": codes[0]})

    # The session the backup code opened ends with the removal (issue 9: a committed
    # credential update ends the account's other sessions, and the CLI says so).
    assert admin.ok("person", "credential", "totp", "remove", person, "phone").out == (
        f"totp phone removed from {person}\nsessions ended: 1\n"
    )
    assert other.fails("whoami", code="token_revoked")
    assert admin.ok("person", "credential", "totp", "remove", person, "phone").out == (
        "unchanged\n"
    )
    # Without a TOTP, the password alone logs in again.
    HermitProcess(tmp_path / "third", themselves.env).ok("login")


def test_cli_credential__reset_token_sets_a_password_once(
    admin: HermitProcess, person: str, idmd: IdmdServer, tmp_path: Path
) -> None:
    created = admin.ok("person", "credential", "create-reset-token", person, "--ttl", "3600")
    lines = created.out.splitlines()
    assert lines[0].startswith("token: ") and lines[1].startswith("expires_at: ")
    token = lines[0].removeprefix("token: ")
    stranger = HermitProcess(tmp_path / "stranger", {
        "HERMIT_URL": idmd.url, "HERMIT_CA": str(idmd.ca),
    })
    password = _password()
    used = stranger.ok("credential", "use-reset-token", token, stdin=password + "\n")
    assert used.out == f"password set for {person}\n"
    assert password not in used.out and token not in used.out
    logged_in(idmd, tmp_path / "owner", person, password)
    again = stranger.fails("credential", "use-reset-token", token, stdin=_password() + "\n",
                           code="invalid_reset_token")
    assert token not in again.err


def test_cli_credential__update_needs_a_terminal(admin: HermitProcess, person: str) -> None:
    ran = admin.fails("person", "credential", "update", person, code="usage", status=2)
    assert "needs a terminal" in ran.err


def _post(client: httpx.Client, path: str, body: dict[str, object]) -> httpx.Response:
    return client.post(path, json=body)


def test_api_credential__nothing_applies_before_commit_and_finished_sessions_refuse(
    admin: HermitProcess, person: str, idmd: IdmdServer
) -> None:
    old = _password()
    admin.ok("person", "credential", "set-password", person, stdin=old + "\n")
    token = idmd.login("idm_admin", idmd.idm_admin_password)
    with idmd.client(token) as client:
        begun = _post(client, f"/v1/person/{person}/credential/update", {})
        assert begun.status_code == 200, begun.text
        sid = begun.json()["session"]
        staged = _post(client, f"{STEP}/password", {"session": sid, "password": _password()})
        assert staged.json()["password"] == "staged"
        enrol = _post(client, f"{STEP}/totp/begin", {"session": sid, "label": "phone"}).json()
        app = pyotp.TOTP(enrol["secret"], digest="sha256")
        confirmed = _post(client, f"{STEP}/totp/confirm", {"session": sid, "code": app.now()})
        assert confirmed.json()["totp"] == ["phone"]
        # Not applied yet: no code is asked at login, and the old password still works.
        with idmd.client() as anonymous:
            methods = anonymous.post("/v1/auth/begin", json={"name": person}).json()["methods"]
        assert methods == ["password", "passkey"]
        assert idmd.login(person, old)

        # The person's session from the login above ends with the commit (issue 9).
        committed = _post(client, f"{STEP}/commit", {"session": sid}).json()
        assert committed == {"changed": True, "sessions_ended": 1}
        for step in ("status", "commit", "cancel"):
            late = _post(client, f"{STEP}/{step}", {"session": sid})
            assert (late.status_code, late.json()["error"]) == (
                400, "invalid_credential_update_session"
            )

        first = _post(client, f"/v1/person/{person}/credential/update", {}).json()["session"]
        second = _post(client, f"/v1/person/{person}/credential/update", {}).json()["session"]
        assert _post(client, f"{STEP}/status", {"session": first}).status_code == 400
        assert _post(client, f"{STEP}/cancel", {"session": second}).json() == {"changed": True}
        assert _post(client, f"{STEP}/commit", {"session": second}).status_code == 400


def test_cli_credential__update_menu_on_a_terminal(
    admin: HermitProcess, person: str, idmd: IdmdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The menu in-process (a terminal is faked): password, a TOTP, then save."""
    password = _password()
    out, err = io.StringIO(), io.StringIO()

    def fake_getpass(prompt: str = "") -> str:
        if prompt.startswith("code"):
            # The person reads the secret the menu just printed into their app.
            secret = [line for line in out.getvalue().splitlines()
                      if line.startswith("secret: ")][-1].removeprefix("secret: ")
            app = pyotp.TOTP(secret, digest="sha256")
            return app.at(time.time() - app.interval)
        return password

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    status = run(
        ["person", "credential", "update", person], env=admin.environ(),
        stdin=TtyStringIO("1\n3\nphone\ns\n"), stdout=out, stderr=err,
        store=TokenStore(admin.cache_dir),
    )
    assert (status, err.getvalue()) == (0, ""), err.getvalue()
    assert out.getvalue().endswith(f"saved the credentials of {person}\n")
    assert password not in out.getvalue()
    with idmd.client() as anonymous:
        methods = anonymous.post("/v1/auth/begin", json={"name": person}).json()["methods"]
    assert "totp" in methods
