"""Passkeys end to end against a real hermit-idmd over TLS: a person enrols one over the REST
API in their own credential update session (tests/idmd/soft_authenticator.py plays the
browser and its authenticator, for the server's configured ``origin``), signs in with it
usernameless, and the installed ``hermit`` lists it (the person, an admin) and removes it
(``hermit person credential passkey list|remove``).

Browsers (Chromium with virtual authenticators) are tests/browser's; the attacks are
tests/security/test_idmd_passkey_*.py.
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.hermit_process import HermitProcess, logged_in
from tests.idmd.soft_authenticator import SoftAuthenticator
from tests.integration.idmd_server import IdmdServer

STEP = "/v1/credential/update"


@pytest.fixture(scope="module")
def admin(idmd: IdmdServer, tmp_path_factory: pytest.TempPathFactory) -> HermitProcess:
    return logged_in(idmd, tmp_path_factory.mktemp("cli-passkey"), "idm_admin",
                     idmd.idm_admin_password)


@pytest.fixture
def person(admin: HermitProcess) -> Iterator[tuple[str, str]]:
    name = f"k{uuid.uuid4().hex[:10]}"
    password = "pass-" + uuid.uuid4().hex
    admin.ok("person", "create", name, "--display-name", "Passkey Person")
    admin.ok("person", "credential", "set-password", name, stdin=password + "\n")
    yield name, password
    admin.ok("person", "delete", name)


def _origin(idmd: IdmdServer) -> str:
    with idmd.config.open("rb") as config:
        return str(tomllib.load(config)["origin"])


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _enrol(idmd: IdmdServer, name: str, password: str, label: str) -> SoftAuthenticator:
    """The person's own session: begin, the ceremony, commit."""
    authenticator = SoftAuthenticator(origin=_origin(idmd))
    with idmd.client(idmd.login(name, password)) as client:
        sid = _ok(client.post(f"/v1/person/{name}/credential/update", json={}))["session"]
        options = _ok(client.post(f"{STEP}/passkey/begin", json={"session": sid, "label": label}))
        answer = authenticator.create(options)
        finish = {"session": sid, "passkey": answer}
        staged = _ok(client.post(f"{STEP}/passkey/finish", json=finish))
        assert [p["label"] for p in staged["passkeys"]] == [label]
        _ok(client.post(f"{STEP}/commit", json={"session": sid}))
    return authenticator


def _passkey_login(idmd: IdmdServer, authenticator: SoftAuthenticator) -> dict[str, Any]:
    with idmd.client() as client:
        begin = client.post("/v1/auth/begin", json={})
        begun = _ok(begin)
        assert begun["methods"] == ["passkey"]
        answer = authenticator.get(begun["passkey"])
        step = client.post(
            "/v1/auth/step",
            json={"method": "passkey", "passkey": answer},
            headers={"Hermit-Auth-Session": begin.headers["hermit-auth-session"]},
        )
        result: dict[str, Any] = _ok(step)
    return result


def test_cli_passkey__enrol_sign_in_list_and_remove(
    admin: HermitProcess, person: tuple[str, str], idmd: IdmdServer, tmp_path: Path
) -> None:
    name, password = person
    assert admin.ok("person", "credential", "passkey", "list", name).out == (
        "LABEL  CREATED_AT  LAST_USED_AT\n"
    )
    authenticator = _enrol(idmd, name, password, "laptop")
    listed = admin.ok("--json", "person", "credential", "passkey", "list", name).json()
    (passkey,) = listed["passkeys"]
    assert passkey["label"] == "laptop" and passkey["last_used_at"] is None

    signed_in = _passkey_login(idmd, authenticator)
    assert signed_in["state"] == "success", signed_in
    with idmd.client(signed_in["token"]) as client:
        assert _ok(client.get("/v1/auth/whoami"))["name"] == name

    # The person lists their own passkeys with the CLI, logged in with the password.
    themselves = logged_in(idmd, tmp_path / "own", name, password)
    table = themselves.ok("person", "credential", "passkey", "list", name).out.splitlines()
    assert table[0].split() == ["LABEL", "CREATED_AT", "LAST_USED_AT"]
    assert table[1].split()[0] == "laptop" and table[1].split()[2] != "never"

    # The admin removes it: the person's sessions end with the commit, the passkey stops.
    removed = admin.ok("person", "credential", "passkey", "remove", name, "laptop").out
    assert removed.startswith(f"passkey laptop removed from {name}\nsessions ended: ")
    assert _passkey_login(idmd, authenticator)["state"] == "denied"
    assert admin.ok("--json", "person", "credential", "passkey", "list", name).json() == {
        "passkeys": []
    }
    assert admin.ok("person", "credential", "passkey", "remove", name, "laptop").out == (
        "unchanged\n"
    )


def test_cli_passkey__another_person_may_not_list_them(
    admin: HermitProcess, person: tuple[str, str], idmd: IdmdServer, tmp_path: Path
) -> None:
    name, password = person
    _enrol(idmd, name, password, "laptop")
    other = f"k{uuid.uuid4().hex[:10]}"
    other_password = "pass-" + uuid.uuid4().hex
    admin.ok("person", "create", other, "--display-name", "Other Person")
    try:
        admin.ok("person", "credential", "set-password", other, stdin=other_password + "\n")
        stranger = logged_in(idmd, tmp_path / "other", other, other_password)
        stranger.fails("person", "credential", "passkey", "list", name, code="access_denied")
        stranger.fails("person", "credential", "passkey", "remove", name, "laptop",
                       code="access_denied")
        assert len(admin.ok("--json", "person", "credential", "passkey", "list", name)
                   .json()["passkeys"]) == 1
    finally:
        admin.ok("person", "delete", other)


def test_cli_passkey__a_bad_label_is_a_clear_error(
    admin: HermitProcess, person: tuple[str, str]
) -> None:
    name, _ = person
    ran = admin.fails("person", "credential", "passkey", "remove", name, "two words",
                      code="invalid_value")
    assert "passkey label" in ran.err
