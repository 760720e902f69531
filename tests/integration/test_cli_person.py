"""``hermit person …`` end to end against a real hermit-idmd, as idm_admin.

Every write is run twice: the second run must print ``unchanged`` and exit 0.
"""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.cli.hermit_process import HermitProcess, logged_in
from tests.integration.idmd_server import IdmdServer


@pytest.fixture(scope="module")
def admin(idmd: IdmdServer, tmp_path_factory: pytest.TempPathFactory) -> HermitProcess:
    return logged_in(idmd, tmp_path_factory.mktemp("cli-person"), "idm_admin",
                     idmd.idm_admin_password)


@pytest.fixture
def person(admin: HermitProcess) -> Iterator[str]:
    """A fresh person's name; the person is deleted afterwards (if the test left it)."""
    name = f"p{uuid.uuid4().hex[:10]}"
    admin.ok("person", "create", name, "--display-name", "Test Person")
    yield name
    admin.ok("person", "delete", name)


def _ssh_public_key(comment: str) -> str:
    public = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode()} {comment}"


def test_cli_person__create_is_idempotent(admin: HermitProcess) -> None:
    name = f"p{uuid.uuid4().hex[:10]}"
    argv = ("person", "create", name, "--display-name", "Ann", "--mail", f"{name}@example.com")
    assert admin.ok(*argv).out == f"created person {name}\n"
    assert admin.ok(*argv).out == "unchanged\n"
    admin.fails("person", "create", name, "--display-name", "Someone Else", code="conflict")
    assert admin.ok("person", "delete", name).out == f"deleted person {name}\n"
    assert admin.ok("person", "delete", name).out == "unchanged\n"
    admin.fails("person", "get", name, code="not_found")


def test_cli_person__get_and_list(admin: HermitProcess, person: str) -> None:
    human = admin.ok("person", "get", person).out.splitlines()
    assert f"name:        {person}" in human
    assert "displayname: Test Person" in human
    entry = admin.ok("person", "get", person, "--json").json()
    assert (entry["name"], entry["displayname"], entry["posix"]) == (person, "Test Person", None)
    listing = admin.ok("person", "list").out.splitlines()
    assert listing[0].split() == ["NAME", "GIDNUMBER", "DISPLAYNAME", "SPN"]
    assert any(line.split()[0] == person for line in listing[1:])
    names = [p["name"] for p in admin.ok("--json", "person", "list").json()["persons"]]
    assert person in names


def test_cli_person__update_and_rename(admin: HermitProcess, person: str) -> None:
    argv = ("person", "update", person, "--display-name", "New Name", "--mail", "a@example.com",
            "--mail", "b@example.com")
    assert admin.ok(*argv).out == f"updated person {person}\n"
    assert admin.ok(*argv).out == "unchanged\n"
    entry = admin.ok("person", "get", person, "--json").json()
    assert entry["displayname"] == "New Name"
    assert sorted(entry["mail"]) == ["a@example.com", "b@example.com"]
    renamed = f"{person}x"
    admin.ok("person", "update", person, "--rename", renamed)
    assert admin.ok("person", "get", renamed, "--json").json()["uuid"] == entry["uuid"]
    admin.ok("person", "update", renamed, "--rename", person)


def test_cli_person__posix_enable(admin: HermitProcess, person: str) -> None:
    first = admin.ok("person", "posix", "enable", person, "--shell", "/bin/bash")
    assert first.out.startswith(f"posix enabled for {person} (gidnumber ")
    assert admin.ok("person", "posix", "enable", person, "--shell", "/bin/bash").out == (
        "unchanged\n"
    )
    posix = admin.ok("person", "get", person, "--json").json()["posix"]
    assert posix["loginshell"] == "/bin/bash"
    assert isinstance(posix["gidnumber"], int)
    admin.fails("person", "posix", "enable", person, "--gid", "5", code="reserved_gid")


def test_cli_person__posix_password_works_for_unix_auth(
    admin: HermitProcess, person: str, idmd: IdmdServer, tmp_path: Path
) -> None:
    admin.ok("person", "posix", "enable", person)
    password = "unix-" + uuid.uuid4().hex
    ran = admin.ok("person", "posix", "set-password", person, stdin=password + "\n")
    assert ran.out == f"unix password set for {person}\n"
    assert password not in ran.out
    anonymous = logged_in(idmd, tmp_path, "anonymous", "")
    (token_file,) = anonymous.cache_dir.glob("token-*.json")
    token = json.loads(token_file.read_text())["token"]
    with httpx.Client(verify=ssl.create_default_context(cafile=str(idmd.ca))) as client:
        answer = client.post(f"{idmd.url}/v1/unix/auth",
                             json={"name": person, "password": password},
                             headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["name"] == person


def test_cli_person__credential_password_lets_them_log_in(
    admin: HermitProcess, person: str, idmd: IdmdServer, tmp_path: Path
) -> None:
    password = "primary-" + uuid.uuid4().hex
    admin.ok("person", "credential", "set-password", person, stdin=password + "\n")
    themselves = logged_in(idmd, tmp_path, person, password)
    assert themselves.ok("whoami", "--json").json()["name"] == person


def test_cli_person__ssh_keys(admin: HermitProcess, person: str) -> None:
    key = _ssh_public_key("laptop@example")
    assert admin.ok("person", "ssh", "add", person, "laptop", key).out == (
        f"ssh key laptop added to {person}\n"
    )
    # Unquoted, as from $(cat id_ed25519.pub): the words are joined back into the key line.
    assert admin.ok("person", "ssh", "add", person, "laptop", *key.split()).out == "unchanged\n"
    table = admin.ok("person", "ssh", "list", person).out.splitlines()
    assert table[0].split() == ["LABEL", "FINGERPRINT", "KEY"]
    assert table[1].split()[0] == "laptop" and table[1].split()[1].startswith("SHA256:")
    keys = admin.ok("person", "ssh", "list", person, "--json").json()["ssh_keys"]
    assert [k["label"] for k in keys] == ["laptop"]
    admin.fails("person", "ssh", "add", person, "junk", "not-a-key", code="invalid_ssh_key")
    assert admin.ok("person", "ssh", "remove", person, "laptop").out == (
        f"ssh key laptop removed from {person}\n"
    )
    assert admin.ok("person", "ssh", "remove", person, "laptop").out == "unchanged\n"
    assert admin.ok("person", "ssh", "list", person, "--json").json()["ssh_keys"] == []


def test_cli_person__validity(admin: HermitProcess, person: str) -> None:
    ran = admin.ok("person", "validity", person, "--expire-at", "2099-01-01")
    assert ran.out == f"{person} is valid from any time until 2099-01-01T00:00:00Z\n"
    assert admin.ok("person", "validity", person, "--expire-at", "2099-01-01T00:00:00Z").out == (
        "unchanged\n"
    )
    shown = admin.ok("person", "validity", person, "--json").json()
    assert shown == {"valid_from": None, "expire_at": "2099-01-01T00:00:00Z"}
    admin.ok("person", "validity", person, "--expire-at", "never", "--begin-at", "2020-01-01")
    entry = admin.ok("person", "get", person, "--json").json()
    assert (entry["valid_from"], entry["expire_at"]) == ("2020-01-01T00:00:00Z", None)
    admin.fails("person", "validity", person, "--expire-at", "someday", code="usage", status=2)


def test_cli_person__bad_name_is_one_line(admin: HermitProcess) -> None:
    admin.fails("person", "create", "Root", "--display-name", "x", code="invalid_name")
