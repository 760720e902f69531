"""Tests of the hermit-unixd-tasks command, its request parsing and its file reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from unixd.proto.errors import InvalidField, InvalidLookupName, UnknownOp, UnsupportedVersion
from unixd.proto.tasks import parse_home_create
from unixd.tasks import main as tasks_main
from unixd.tasks.identities import IdentityFiles, read_identities

HOME_CREATE: dict[str, object] = {
    "v": 1, "id": 1, "op": "home_create", "name": "alice", "uid": 1500, "gid": 1500,
    "home": "/home/u", "alias": None, "old_aliases": ["/home/old"], "use_etc_skel": True,
}


def test_main__refuses_to_run_as_anyone_but_root(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tasks_main.os, "geteuid", lambda: 1000)
    assert tasks_main.main(["-c", "/nonexistent.toml"]) == 2
    assert capsys.readouterr().err == (
        "hermit-unixd-tasks: error: must run as root: it creates home directories for every "
        "account\n"
    )


def test_main__configuration_errors_name_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tasks_main.os, "geteuid", lambda: 0)
    config = tmp_path / "unixd.toml"
    config.write_text('uri = "https://idm.example.com"\nbogus = 1\n')
    assert tasks_main.main(["-c", str(config)]) == 2
    assert capsys.readouterr().err.startswith(
        f"hermit-unixd-tasks: error: {config}: unknown key 'bogus'"
    )


def test_parse_home_create__a_full_request() -> None:
    request = parse_home_create(HOME_CREATE)
    assert (request.name, request.uid, request.gid, request.home) == (
        "alice", 1500, 1500, "/home/u")
    assert request.alias is None
    assert request.old_aliases == ("/home/old",)
    assert request.use_etc_skel is True


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"v": True}, UnsupportedVersion),
        ({"op": "local_identities"}, UnknownOp),
        ({"extra": 1}, InvalidField),
        ({"name": "a/b"}, InvalidLookupName),
        ({"uid": "1500"}, InvalidField),
        ({"gid": True}, InvalidField),
        ({"home": None}, InvalidField),
        ({"alias": 5}, InvalidField),
        ({"old_aliases": "/home/old"}, InvalidField),
        ({"old_aliases": [1]}, InvalidField),
        ({"old_aliases": ["/home/x"] * 65}, InvalidField),
        ({"use_etc_skel": "yes"}, InvalidField),
    ],
)
def test_parse_home_create__each_bad_field_is_refused(
    changes: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        parse_home_create({**HOME_CREATE, **changes})


def test_read_identities__missing_files_read_as_empty(tmp_path: Path) -> None:
    files = IdentityFiles(tmp_path / "p", tmp_path / "g")
    assert read_identities(files) == {"passwd": [], "group": []}


def test_read_identities__an_unreadable_file_sends_nothing(tmp_path: Path) -> None:
    (tmp_path / "p").write_text("root:x:0:0::/root:/bin/sh\n")
    (tmp_path / "g").mkdir()  # reading a directory fails: better nothing than an empty list
    files = IdentityFiles(tmp_path / "p", tmp_path / "g")
    assert read_identities(files) is None


def test_read_identities__broken_utf8_skips_only_that_line(tmp_path: Path) -> None:
    (tmp_path / "p").write_bytes(b"b\xffd:x:5:5::/h:/bin/sh\nok:x:6:6:G\xffcos:/h:/bin/sh\n")
    files = IdentityFiles(tmp_path / "p", tmp_path / "g")
    identities = read_identities(files)
    assert identities is not None
    assert [(user["name"], user["gecos"]) for user in identities["passwd"]] == [
        ("ok", "G\ufffdcos")]
