"""Tests of unixd.tasks.home: home directories and aliases under a prefix in tmp_path, as root.

Each test has a sentinel directory outside the prefix that an attacker's symlink points at;
after every refusal the sentinel must be exactly as it was.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from unixd.proto.tasks import HomeCreate
from unixd.tasks import home as home_module
from unixd.tasks.home import HomeRefused, create_home

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creating homes needs root")

UID = 1500
GID = 1600
UUID = "00000000-0000-4000-8000-0000000005dc"


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    return path


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir(mode=0o755)
    (path / "keep").write_text("untouched")
    return path


def snapshot(path: Path) -> list[tuple[str, int, int, int]]:
    entries = [path, *sorted(path.rglob("*"))]
    return [(str(p), p.lstat().st_uid, p.lstat().st_gid, p.lstat().st_mode) for p in entries]


def request(prefix: Path, **changes: object) -> HomeCreate:
    fields: dict[str, object] = {
        "name": "alice", "uid": UID, "gid": GID, "home": f"{prefix}/{UUID}",
        "alias": f"{prefix}/alice@example.com", "old_aliases": (), "use_etc_skel": False,
    }
    fields.update(changes)
    return HomeCreate(**fields)  # type: ignore[arg-type]


def test_create_home__directory_owned_by_the_account_mode_0700(prefix: Path) -> None:
    create_home(request(prefix, alias=None), prefix)
    info = (prefix / UUID).lstat()
    assert stat.S_ISDIR(info.st_mode)
    assert (info.st_uid, info.st_gid) == (UID, GID)
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert os.listdir(prefix) == [UUID]  # no temporary name left


def test_create_home__existing_home_of_the_account_is_left_as_it_is(prefix: Path) -> None:
    create_home(request(prefix, alias=None), prefix)
    (prefix / UUID).chmod(0o750)
    (prefix / UUID / "notes").write_text("mine")
    create_home(request(prefix, alias=None, use_etc_skel=True), prefix)
    assert stat.S_IMODE((prefix / UUID).stat().st_mode) == 0o750
    assert os.listdir(prefix / UUID) == ["notes"]


def test_create_home__existing_directory_of_another_owner_is_refused(prefix: Path) -> None:
    (prefix / UUID).mkdir()
    with pytest.raises(HomeRefused, match="belongs to uid 0"):
        create_home(request(prefix), prefix)
    assert (prefix / UUID).stat().st_uid == 0
    assert os.listdir(prefix) == [UUID]


def test_create_home__skel_copied_owned_by_the_account_without_setid_bits(
    prefix: Path, tmp_path: Path
) -> None:
    skel = tmp_path / "skel"
    (skel / ".config" / "app").mkdir(parents=True)
    (skel / ".bashrc").write_text("export A=1\n")
    (skel / ".bashrc").chmod(0o644)
    (skel / ".config" / "app" / "conf").write_text("x")
    (skel / "tool").write_text("#!/bin/sh\n")
    (skel / "tool").chmod(0o4755)
    (skel / "link").symlink_to("/etc/shadow")
    os.mkfifo(skel / "pipe")
    create_home(request(prefix, alias=None, use_etc_skel=True), prefix, skel=skel)
    home = prefix / UUID
    assert sorted(os.listdir(home)) == [".bashrc", ".config", "link", "tool"]
    assert (home / ".bashrc").read_text() == "export A=1\n"
    assert stat.S_IMODE((home / ".bashrc").stat().st_mode) == 0o644
    assert stat.S_IMODE((home / "tool").stat().st_mode) == 0o755
    assert (home / ".config" / "app" / "conf").read_text() == "x"
    # The symlink is copied as a symlink: /etc/shadow's content is never read into the home.
    assert os.readlink(home / "link") == "/etc/shadow"
    for path in [home, *home.rglob("*")]:
        assert (path.lstat().st_uid, path.lstat().st_gid) == (UID, GID), path


def test_create_home__missing_skel_gives_an_empty_home(prefix: Path, tmp_path: Path) -> None:
    create_home(request(prefix, alias=None, use_etc_skel=True), prefix,
                skel=tmp_path / "no-skel")
    assert os.listdir(prefix / UUID) == []


def test_create_home__planted_symlink_at_the_home_is_refused_not_followed(
    prefix: Path, sentinel: Path
) -> None:
    (prefix / UUID).symlink_to(sentinel)
    before = snapshot(sentinel)
    with pytest.raises(HomeRefused, match="not a directory"):
        create_home(request(prefix, use_etc_skel=True), prefix)
    assert snapshot(sentinel) == before
    assert os.readlink(prefix / UUID) == str(sentinel)
    assert os.listdir(prefix) == [UUID]


def test_create_home__alias_points_at_the_home(prefix: Path) -> None:
    create_home(request(prefix), prefix)
    alias = prefix / "alice@example.com"
    assert os.readlink(alias) == f"{prefix}/{UUID}"
    assert alias.lstat().st_uid == 0
    assert sorted(os.listdir(prefix)) == [UUID, "alice@example.com"]


def test_create_home__alias_replaced_by_rename_over_it(
    prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"{prefix}/00000000-0000-4000-8000-000000000001"
    (prefix / "alice@example.com").symlink_to(other)
    renames: list[tuple[str, str]] = []
    unlinks: list[str] = []
    real_rename, real_unlink = os.rename, os.unlink

    def spy_rename(src: str, dst: str, **kwargs: object) -> None:
        renames.append((src, dst))
        real_rename(src, dst, **kwargs)  # type: ignore[arg-type]

    def spy_unlink(path: str, **kwargs: object) -> None:
        unlinks.append(path)
        real_unlink(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(home_module.os, "rename", spy_rename)
    monkeypatch.setattr(home_module.os, "unlink", spy_unlink)
    create_home(request(prefix), prefix)
    assert os.readlink(prefix / "alice@example.com") == f"{prefix}/{UUID}"
    # Never a moment without the alias: it was renamed over, not removed and re-made.
    assert unlinks == []
    assert renames[-1][1] == "alice@example.com"
    assert renames[-1][0].startswith(".hermit-alias-")
    assert sorted(os.listdir(prefix)) == [UUID, "alice@example.com"]


def test_create_home__planted_symlink_at_the_alias_is_left_alone(
    prefix: Path, sentinel: Path
) -> None:
    (prefix / "alice@example.com").symlink_to(sentinel)
    before = snapshot(sentinel)
    with pytest.raises(HomeRefused, match="not hermit's alias"):
        create_home(request(prefix), prefix)
    assert os.readlink(prefix / "alice@example.com") == str(sentinel)
    assert snapshot(sentinel) == before
    assert (prefix / UUID).stat().st_uid == UID  # the home itself was made


def test_create_home__a_directory_at_the_alias_is_left_alone(prefix: Path) -> None:
    (prefix / "alice@example.com").mkdir()
    (prefix / "alice@example.com" / "data").write_text("x")
    with pytest.raises(HomeRefused, match="not hermit's alias"):
        create_home(request(prefix), prefix)
    assert (prefix / "alice@example.com" / "data").read_text() == "x"


def test_create_home__old_alias_removed_only_when_ours_and_ours_to_this_home(
    prefix: Path, sentinel: Path
) -> None:
    (prefix / "alice").symlink_to(f"{prefix}/{UUID}")  # ours, to this home: removed
    (prefix / "bob").symlink_to(f"{prefix}/00000000-0000-4000-8000-000000000002")  # reused
    (prefix / "carol").symlink_to(sentinel)  # planted, points outside
    (prefix / "dave").mkdir()  # a real directory
    olds = tuple(f"{prefix}/{name}" for name in ("alice", "bob", "carol", "dave", "gone"))
    before = snapshot(sentinel)
    create_home(request(prefix, old_aliases=olds), prefix)
    assert not (prefix / "alice").is_symlink()
    assert os.readlink(prefix / "bob") == f"{prefix}/00000000-0000-4000-8000-000000000002"
    assert os.readlink(prefix / "carol") == str(sentinel)
    assert (prefix / "dave").is_dir()
    assert snapshot(sentinel) == before


def test_create_home__old_alias_owned_by_a_user_is_not_ours(prefix: Path) -> None:
    (prefix / "alice").symlink_to(f"{prefix}/{UUID}")
    os.lchown(prefix / "alice", UID, GID)
    create_home(request(prefix, old_aliases=(f"{prefix}/alice",)), prefix)
    assert (prefix / "alice").is_symlink()


@pytest.mark.parametrize(
    "changes",
    [
        {"home": "/etc/evil"},
        {"home": "{prefix}/../evil"},
        {"home": "{prefix}/.."},
        {"home": "{prefix}/a/b"},
        {"home": "{prefix}/.hidden"},
        {"home": "{prefix}/"},
        {"home": "{prefix}x/evil"},
        {"home": "{prefix}/nul\x00byte"},
        {"alias": "/tmp/evil"},
        {"alias": "{prefix}/../evil"},
        {"alias": "{prefix}/" + UUID},
        {"old_aliases": ("/etc/passwd",)},
        {"uid": 0},
        {"gid": 0},
        {"uid": 999},
        {"uid": 2**32 - 1},
    ],
)
def test_create_home__bad_request_is_refused_before_any_change(
    prefix: Path, sentinel: Path, changes: dict[str, object]
) -> None:
    filled = {
        key: (value.format(prefix=prefix) if isinstance(value, str) else value)
        for key, value in changes.items()
    }
    before = snapshot(sentinel)
    with pytest.raises(HomeRefused):
        create_home(request(prefix, **filled), prefix)
    assert os.listdir(prefix) == []
    assert snapshot(sentinel) == before
    assert not (prefix.parent / "evil").exists()


def test_create_home__prefix_writable_by_others_is_refused(prefix: Path) -> None:
    prefix.chmod(0o777)
    with pytest.raises(HomeRefused, match="must belong to root"):
        create_home(request(prefix), prefix)
    assert os.listdir(prefix) == []


def test_create_home__prefix_that_is_a_symlink_is_refused(
    prefix: Path, sentinel: Path, tmp_path: Path
) -> None:
    link = tmp_path / "linked-home"
    link.symlink_to(sentinel)
    before = snapshot(sentinel)
    with pytest.raises(HomeRefused, match="cannot be opened"):
        create_home(request(link), link)
    assert snapshot(sentinel) == before


def test_create_home__failure_while_filling_leaves_nothing(
    prefix: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    skel = tmp_path / "skel"
    skel.mkdir()
    (skel / "file").write_text("x")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(home_module, "_copy_file", fail)
    with pytest.raises(OSError, match="No space"):
        create_home(request(prefix, use_etc_skel=True), prefix, skel=skel)
    assert os.listdir(prefix) == []
