"""``hermit service-account api-token …`` end to end against a real hermit-idmd, and the CLI
driven by ``HERMIT_TOKEN`` alone: a read-only token reads and cannot write, a read-write token
writes, a destroyed token is refused at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.hermit_process import HermitProcess, logged_in
from tests.integration.idmd_server import IdmdServer


@pytest.fixture(scope="module")
def idm_admin(idmd: IdmdServer, tmp_path_factory: pytest.TempPathFactory) -> HermitProcess:
    return logged_in(idmd, tmp_path_factory.mktemp("cli-token-idm"), "idm_admin",
                     idmd.idm_admin_password)


@pytest.fixture(scope="module")
def system_admin(idmd: IdmdServer, tmp_path_factory: pytest.TempPathFactory) -> HermitProcess:
    return logged_in(idmd, tmp_path_factory.mktemp("cli-token-sys"), "admin",
                     idmd.admin_password)


@pytest.fixture
def robot(idm_admin: HermitProcess, system_admin: HermitProcess) -> Iterator[str]:
    """A service account that may manage people (idm_people_admins); deleted afterwards."""
    name = f"sa{uuid.uuid4().hex[:10]}"
    idm_admin.ok("service-account", "create", name, "--display-name", "Robot",
                 "--managed-by", "idm_admins")
    system_admin.ok("group", "add-members", "idm_people_admins", name)
    yield name
    idm_admin.ok("service-account", "delete", name)


def with_token(idmd: IdmdServer, home: Path, token: str) -> HermitProcess:
    """The CLI with nothing but the url, the CA and ``HERMIT_TOKEN``: no login, no name."""
    return HermitProcess(home, {"HERMIT_URL": idmd.url, "HERMIT_CA": str(idmd.ca),
                                "HERMIT_TOKEN": token})


def create(admin: HermitProcess, *argv: str) -> tuple[str, str]:
    """``api-token create``: the token's id and the token, from its two lines."""
    lines = admin.ok("service-account", "api-token", "create", *argv).out.splitlines()
    assert [line.split(": ")[0] for line in lines] == ["id", "token"]
    return lines[0].removeprefix("id: "), lines[1].removeprefix("token: ")


def test_cli_api_token__tokens_as_the_cli_bearer(
    idmd: IdmdServer, idm_admin: HermitProcess, robot: str, tmp_path: Path
) -> None:
    reader_id, reader_token = create(idm_admin, robot, "reader")
    idm_admin.fails("service-account", "api-token", "create", robot, "reader", code="conflict")
    writer_id, writer_token = create(idm_admin, robot, "writer", "--read-write",
                                     "--expiry", "2099-01-01")
    listing = idm_admin.ok("service-account", "api-token", "list", robot).out
    assert reader_token not in listing and writer_token not in listing
    rows = {row[0]: row[1:3] + row[4:] for row in map(str.split, listing.splitlines()[1:])}
    assert rows == {reader_id: ["reader", "read_only", "never"],
                    writer_id: ["writer", "read_write", "2099-01-01T00:00:00Z"]}

    reader = with_token(idmd, tmp_path / "reader", reader_token)
    writer = with_token(idmd, tmp_path / "writer", writer_token)
    me = reader.ok("whoami", "--json").json()
    assert (me["name"], me["scope"], me["session_id"]) == (robot, "read_only", reader_id)
    person = f"p{uuid.uuid4().hex[:10]}"
    reader.ok("person", "list")
    reader.fails("person", "create", person, "--display-name", "Tok", code="read_only_session")
    assert writer.ok("person", "create", person, "--display-name", "Tok").out == (
        f"created person {person}\n")
    assert writer.ok("person", "create", person, "--display-name", "Tok").out == "unchanged\n"
    assert reader.ok("person", "get", person).out.startswith("name:")

    assert idm_admin.ok("service-account", "api-token", "destroy", robot, reader_id).out == (
        f"destroyed API token {reader_id}\n")
    refused = reader.fails("person", "list", code="token_revoked")
    assert reader_token not in refused.err
    assert idm_admin.ok("service-account", "api-token", "destroy", robot, reader_id).out == (
        "unchanged\n")
    writer.ok("person", "delete", person)
    listed = idm_admin.ok("service-account", "api-token", "list", robot, "--json").json()
    assert [token["id"] for token in listed["api_tokens"]] == [writer_id]


def test_cli_api_token__people_have_no_api_tokens(idm_admin: HermitProcess) -> None:
    name = f"p{uuid.uuid4().hex[:10]}"
    idm_admin.ok("person", "create", name, "--display-name", "Person")
    try:
        idm_admin.fails("service-account", "api-token", "create", name, "x",
                        code="invalid_value")
        idm_admin.fails("service-account", "api-token", "list", "nobody-at-all",
                        code="not_found")
    finally:
        idm_admin.ok("person", "delete", name)
