"""``hermit system pw-badlist`` against a scripted server: file parsing, batches, output."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermit_cli.commands.system import BATCH_BYTES, MAX_BADLIST_WORDS, batches, read_words
from hermit_cli.errors import UsageError
from tests.cli.scripted_server import Hermit, ScriptedServer


def test_read_words__skips_blank_lines_and_comments() -> None:
    lines = ["# common passwords\n", "\n", "  Password1  \n", "letmein123\n", "   # indented\n"]
    assert read_words(lines) == ["Password1", "letmein123"]


def test_read_words__refuses_more_than_the_bound() -> None:
    with pytest.raises(UsageError):
        read_words(f"w{i}" for i in range(MAX_BADLIST_WORDS + 1))


def test_batches__each_fits_and_all_words_are_sent_in_order() -> None:
    words = [f"{i:08d}" + "x" * 40 for i in range(10_000)]
    sent = list(batches(words))
    assert len(sent) > 1
    assert [word for batch in sent for word in batch] == words
    assert all(sum(len(w) + 4 for w in batch) <= BATCH_BYTES for batch in sent)


def test_pw_badlist__show_prints_one_word_a_line(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("admin")
    server.expect("GET", "/v1/system/pw_badlist", {"words": ["letmein123", "pass\x1bword"],
                                                    "count": 2})
    result = hermit("system", "pw-badlist", "show")
    assert (result.status, result.out) == (0, "letmein123\npass?word\n")


def test_pw_badlist__upload_sends_the_file_words(
    hermit: Hermit, server: ScriptedServer, tmp_path: Path
) -> None:
    hermit.log_in_as("admin")
    path = tmp_path / "words.txt"
    path.write_text("# site list\nhermitexample\n\nExampleCorp2026\n", encoding="utf-8")
    server.expect("POST", "/v1/system/pw_badlist", {"changed": True, "count": 11613})
    result = hermit("system", "pw-badlist", "upload", str(path))
    assert (result.status, result.out) == (0, "badlist now holds 11613 words\n")
    assert server.sent_json() == {"words": ["hermitexample", "ExampleCorp2026"]}


def test_pw_badlist__upload_from_stdin_twice_is_unchanged(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("admin")
    server.expect("POST", "/v1/system/pw_badlist", {"changed": False, "count": 5})
    result = hermit("system", "pw-badlist", "upload", "-", stdin="hermitexample\n")
    assert (result.status, result.out) == (0, "unchanged\n")


def test_pw_badlist__upload_of_an_empty_or_missing_file_is_a_usage_error(
    hermit: Hermit, tmp_path: Path
) -> None:
    hermit.log_in_as("admin")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    assert hermit("system", "pw-badlist", "upload", str(empty)).status == 2
    assert hermit("system", "pw-badlist", "upload", str(tmp_path / "absent")).status == 2


def test_pw_badlist__remove_sends_the_words(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("admin")
    server.expect("POST", "/v1/system/pw_badlist/remove", {"changed": True, "count": 3})
    result = hermit("system", "pw-badlist", "remove", "letmein123", "#hashtag")
    assert result.status == 0
    assert server.sent_json() == {"words": ["letmein123", "#hashtag"]}
