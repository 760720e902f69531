"""Issue 9, finding 14: ``POST /v1/auth/logout`` said ``changed: true`` for a token that stays
valid.

Anonymous tokens are stateless (every host holds one; no session record is written), and an
API token is ended with ``api-token destroy``, not by a logout. Whoever relied on the answer
(a script, an admin who logged out after reading with ``hermit login --name anonymous``) was
told a live token had been revoked. The server now answers the truth, and ``hermit logout``
says the token was forgotten here but not ended there. A real session's logout still ends it.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.cli.hermit_process import HermitProcess
from tests.integration.directory import anonymous_token, api_token, directory, unique
from tests.integration.idmd_server import IdmdServer


def _logout(idmd: IdmdServer, token: str) -> tuple[int, object]:
    with idmd.client(token) as client:
        response = client.post("/v1/auth/logout", json={})
    return response.status_code, response.json()


def _whoami(idmd: IdmdServer, token: str) -> int:
    with idmd.client(token) as client:
        return client.get("/v1/auth/whoami").status_code


def test_logout__an_anonymous_token_is_not_said_to_be_ended(idmd: IdmdServer) -> None:
    token = anonymous_token(idmd)
    assert _logout(idmd, token) == (200, {"changed": False})
    # The truth: the token still works, as before the logout.
    assert _whoami(idmd, token) == 200
    with idmd.client(token) as client:
        assert client.get("/v1/unix/user").status_code == 200
    assert _logout(idmd, token) == (200, {"changed": False})


def test_logout__an_api_token_is_not_said_to_be_ended(idmd: IdmdServer) -> None:
    with directory(idmd) as made:
        robot = unique("bot")
        created = made.client.post("/v1/service_account", json={
            "name": robot, "displayname": "Robot", "managed_by": "idm_admins"})
        assert created.status_code == 200, created.text
        made.made.append(f"/v1/service_account/{robot}")
        _, token = api_token(made, robot, "ci")
        assert _logout(idmd, token) == (200, {"changed": False})
        assert _whoami(idmd, token) == 200


def test_logout__a_session_is_ended_and_others_stay(idmd: IdmdServer) -> None:
    first = idmd.login("idm_admin", idmd.idm_admin_password)
    second = idmd.login("idm_admin", idmd.idm_admin_password)
    assert _logout(idmd, first) == (200, {"changed": True})
    assert _whoami(idmd, first) == 401
    assert _whoami(idmd, second) == 200
    assert _logout(idmd, second) == (200, {"changed": True})


def test_logout__the_cli_says_an_anonymous_token_was_only_forgotten(
    idmd: IdmdServer, tmp_path: Path
) -> None:
    hermit = HermitProcess(tmp_path, {"HERMIT_URL": idmd.url, "HERMIT_CA": str(idmd.ca)})
    assert hermit.ok("login", "--name", "anonymous").out == "logged in as anonymous\n"
    (token_file,) = hermit.cache_dir.glob("token-*.json")
    token = json.loads(token_file.read_text())["token"]
    out = hermit.ok("logout").out
    assert out == (
        "forgot the token of anonymous; the server ended no session: an anonymous token "
        "stays valid until it expires\n"
    )
    assert list(hermit.cache_dir.glob("token-*.json")) == []
    assert _whoami(idmd, token) == 200  # what the CLI said is true
    assert hermit.ok("logout").out == "unchanged\n"
    # --json: the token was forgotten here (changed) and not ended there (revoked: false).
    hermit.ok("login", "--name", "anonymous")
    assert hermit.ok("logout", "--json").json() == {"changed": True, "revoked": False}
    # A real session still logs out as before.
    (tmp_path / "admin").mkdir()
    admin = HermitProcess(tmp_path / "admin", {
        "HERMIT_URL": idmd.url, "HERMIT_CA": str(idmd.ca), "HERMIT_NAME": "idm_admin",
        "HERMIT_PASSWORD": idmd.idm_admin_password})
    admin.ok("login")
    assert admin.ok("logout").out == "logged out idm_admin\n"
    admin.ok("login")
    assert admin.ok("logout", "--json").json() == {"changed": True, "revoked": True}


def test_logout__without_a_token_is_refused(idmd: IdmdServer) -> None:
    with httpx.Client(base_url=idmd.url, verify=idmd.ssl_context()) as client:
        response = client.post("/v1/auth/logout", json={})
    assert response.status_code == 401
