"""``hermit group …`` and ``hermit service-account …`` end to end against a real hermit-idmd.

Every write is run twice: the second run must print ``unchanged`` and exit 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.hermit_process import HermitProcess, logged_in
from tests.integration.idmd_server import IdmdServer


@pytest.fixture(scope="module")
def admin(idmd: IdmdServer, tmp_path_factory: pytest.TempPathFactory) -> HermitProcess:
    return logged_in(idmd, tmp_path_factory.mktemp("cli-group"), "idm_admin",
                     idmd.idm_admin_password)


def _fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def group(admin: HermitProcess) -> Iterator[str]:
    name = _fresh("g")
    admin.ok("group", "create", name)
    yield name
    admin.ok("group", "delete", name)


@pytest.fixture
def person(admin: HermitProcess) -> Iterator[str]:
    name = _fresh("p")
    admin.ok("person", "create", name, "--display-name", "Member")
    yield name
    admin.ok("person", "delete", name)


def test_cli_group__create_get_list_delete(admin: HermitProcess) -> None:
    name = _fresh("g")
    argv = ("group", "create", name, "--description", "the testers")
    assert admin.ok(*argv).out == f"created group {name}\n"
    assert admin.ok(*argv).out == "unchanged\n"
    admin.fails("group", "create", name, "--description", "other", code="conflict")
    human = admin.ok("group", "get", name).out.splitlines()
    assert f"name:        {name}" in human and "description: the testers" in human
    entry = admin.ok("group", "get", name, "--json").json()
    assert (entry["name"], entry["description"], entry["members"]) == (name, "the testers", [])
    table = admin.ok("group", "list").out.splitlines()
    assert table[0].split() == ["NAME", "GIDNUMBER", "MEMBERS", "DESCRIPTION"]
    assert any(line.split()[0] == name for line in table[1:])
    assert name in [g["name"] for g in admin.ok("group", "list", "--json").json()["groups"]]
    assert admin.ok("group", "delete", name).out == f"deleted group {name}\n"
    assert admin.ok("group", "delete", name).out == "unchanged\n"
    admin.fails("group", "get", name, code="not_found")


def test_cli_group__members(admin: HermitProcess, group: str, person: str) -> None:
    nested = _fresh("g")
    admin.ok("group", "create", nested)
    try:
        assert admin.ok("group", "add-members", group, person, nested).out == (
            f"added to {group}: {person} {nested}\n"
        )
        assert admin.ok("group", "add-members", group, person, nested).out == "unchanged\n"
        members = admin.ok("group", "get", group, "--json").json()["members"]
        assert sorted(m.split("@")[0] for m in members) == sorted([person, nested])
        memberof = admin.ok("person", "get", person, "--json").json()["memberof"]
        assert any(spn.split("@")[0] == group for spn in memberof)
        assert admin.ok("group", "remove-members", group, nested).out == (
            f"removed from {group}: {nested}\n"
        )
        assert admin.ok("group", "remove-members", group, nested).out == "unchanged\n"
        admin.fails("group", "add-members", group, _fresh("nobody"), code="not_found")
    finally:
        admin.ok("group", "delete", nested)


def test_cli_group__posix_enable(admin: HermitProcess, group: str) -> None:
    gid = 200_000 + uuid.uuid4().int % 100_000
    assert admin.ok("group", "posix", "enable", group, "--gid", str(gid)).out == (
        f"posix enabled for group {group} (gidnumber {gid})\n"
    )
    assert admin.ok("group", "posix", "enable", group, "--gid", str(gid)).out == "unchanged\n"
    assert admin.ok("group", "get", group, "--json").json()["posix"] == {"gidnumber": gid}
    assert f"gidnumber:   {gid}" in admin.ok("group", "get", group).out.splitlines()


def test_cli_service_account__lifecycle(
    admin: HermitProcess, group: str, idmd: IdmdServer, tmp_path: Path
) -> None:
    name = _fresh("sa")
    argv = ("service-account", "create", name, "--display-name", "Backup Bot",
            "--managed-by", group)
    assert admin.ok(*argv).out == f"created service account {name}\n"
    try:
        assert admin.ok(*argv).out == "unchanged\n"
        entry = admin.ok("service-account", "get", name, "--json").json()
        assert entry["displayname"] == "Backup Bot"
        assert entry["managed_by"].split("@")[0] == group
        assert f"name:        {name}" in admin.ok("service-account", "get", name).out.splitlines()
        listed = admin.ok("service-account", "list").out.splitlines()
        assert any(line.split()[0] == name for line in listed[1:])

        generated = admin.ok("service-account", "generate-password", name).out
        assert generated.startswith("password: ") and generated.count("\n") == 1
        password = generated.removeprefix("password: ").strip()
        bot = logged_in(idmd, tmp_path, name, password)
        assert bot.ok("whoami", "--json").json()["name"] == name
    finally:
        admin.ok("service-account", "delete", name)
    assert admin.ok("service-account", "delete", name).out == "unchanged\n"
    admin.fails("service-account", "get", name, code="not_found")
