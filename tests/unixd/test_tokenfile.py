"""token_path's file: what hermit-unixd accepts as the file holding its API token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from unixd.resolver.tokenfile import MAX_TOKEN_FILE_BYTES, TokenFileError, read_token_file

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def token_file(tmp_path: Path, content: str = TOKEN + "\n", mode: int = 0o600) -> Path:
    path = tmp_path / "unixd.token"
    path.write_text(content)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o640, 0o440])
def test_read_token_file__reads_one_token_without_whitespace(tmp_path: Path, mode: int) -> None:
    assert read_token_file(token_file(tmp_path, f"  {TOKEN}\r\n\n", mode)) == TOKEN


def test_read_token_file__a_missing_file_names_the_key_and_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(TokenFileError, match=rf"^token_path {path}: no such file$"):
        read_token_file(path)


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666, 0o660])
def test_read_token_file__writable_by_group_or_others_is_refused(
    tmp_path: Path, mode: int
) -> None:
    with pytest.raises(TokenFileError, match="writable by group or others"):
        read_token_file(token_file(tmp_path, mode=mode))


def test_read_token_file__readable_by_others_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TokenFileError, match="readable by others"):
        read_token_file(token_file(tmp_path, mode=0o604))


def test_read_token_file__not_a_regular_file_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o700)
    with pytest.raises(TokenFileError, match="not a regular file"):
        read_token_file(directory)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(TokenFileError, match="not a regular file"):
        read_token_file(fifo)  # and does not wait for a writer


def test_read_token_file__a_symlink_is_refused(tmp_path: Path) -> None:
    target = token_file(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(TokenFileError, match="is a symlink"):
        read_token_file(link)


@pytest.mark.parametrize(
    "content",
    ["", "\n", "token: " + TOKEN, TOKEN + "\n" + TOKEN, "not a token", TOKEN + " extra",
     "a.b.c" + "x" * MAX_TOKEN_FILE_BYTES],
)
def test_read_token_file__anything_but_one_token_is_refused_without_showing_it(
    tmp_path: Path, content: str
) -> None:
    with pytest.raises(TokenFileError) as caught:
        read_token_file(token_file(tmp_path, content))
    assert TOKEN not in caught.value.detail
    assert "token_path" in caught.value.detail
