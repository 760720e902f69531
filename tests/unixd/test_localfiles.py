"""Tests of unixd.localfiles: /etc/passwd, /etc/group and /etc/shadow texts into records."""

from __future__ import annotations

import logging

import pytest

from unixd.localfiles import parse_group, parse_passwd, parse_shadow
from unixd.proto.messages import Group, Passwd

PASSWD = """\
# local accounts
root:x:0:0:root:/root:/bin/bash

daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice Example,,,:/home/alice:/bin/zsh
"""


def test_parse_passwd__records_in_file_order_with_star_password() -> None:
    assert parse_passwd(PASSWD) == [
        {"name": "root", "passwd": "*", "uid": 0, "gid": 0, "gecos": "root",
         "dir": "/root", "shell": "/bin/bash"},
        {"name": "daemon", "passwd": "*", "uid": 1, "gid": 1, "gecos": "daemon",
         "dir": "/usr/sbin", "shell": "/usr/sbin/nologin"},
        {"name": "alice", "passwd": "*", "uid": 1000, "gid": 1000,
         "gecos": "Alice Example,,,", "dir": "/home/alice", "shell": "/bin/zsh"},
    ]


def test_parse_passwd__every_record_is_a_valid_protocol_passwd() -> None:
    for record in parse_passwd(PASSWD + "odd:x:7:7:\x07bell:relative:\n"):
        assert Passwd.from_json(record).to_json() == record


@pytest.mark.parametrize(
    "line",
    [
        "short:x:1:1:gecos:/home",  # six fields
        "long:x:1:1:g:/h:/bin/sh:extra",  # eight fields
        "bad name:x:1001:1001::/home/b:/bin/sh",  # a space in the name
        "na/me:x:1001:1001::/home/b:/bin/sh",  # a slash in the name
        ":x:1001:1001::/home/b:/bin/sh",  # an empty name
        "neg:x:-1:1::/home/b:/bin/sh",  # a negative uid
        "big:x:4294967295:1::/home/b:/bin/sh",  # (uid_t)-1
        "word:x:one:1::/home/b:/bin/sh",  # not a number
        "sp:x: 5:1::/home/b:/bin/sh",  # not a plain decimal
    ],
)
def test_parse_passwd__malformed_line_is_skipped_and_counted(
    line: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="unixd.localfiles"):
        records = parse_passwd(PASSWD + line + "\n")
    assert [record["name"] for record in records] == ["root", "daemon", "alice"]
    assert caplog.messages == ["passwd: skipped 1 malformed line(s): line 6"]


def test_parse_passwd__cosmetic_faults_are_normalised_not_dropped() -> None:
    (record,) = parse_passwd("bob:x:1001:1001:Bob\tB:home:\n")
    assert record["gecos"] == "Bob B"
    assert record["dir"] == "/"
    assert record["shell"] == "/bin/sh"


def test_parse_passwd__nis_compat_lines_and_crlf_are_ignored() -> None:
    records = parse_passwd("+::::::\r\n-baduser::::::\r\ncarol:x:5:5::/h:/bin/sh\r\n")
    assert [record["name"] for record in records] == ["carol"]
    assert records[0]["shell"] == "/bin/sh"


def test_parse_passwd__long_gecos_is_cut_to_the_protocol_limit() -> None:
    (record,) = parse_passwd("dave:x:5:5:" + "é" * 2000 + ":/h:/bin/sh\n")
    assert Passwd.from_json(record).gecos == "é" * 512


def test_parse_group__members_split_and_bad_members_left_out() -> None:
    text = "sudo:x:27:alice,bob\nempty:x:100:\nodd:x:101:good,bad name,,\n"
    records = parse_group(text)
    assert records == [
        {"name": "sudo", "passwd": "*", "gid": 27, "members": ["alice", "bob"]},
        {"name": "empty", "passwd": "*", "gid": 100, "members": []},
        {"name": "odd", "passwd": "*", "gid": 101, "members": ["good"]},
    ]
    for record in records:
        assert Group.from_json(record).to_json() == record


def test_parse_group__malformed_lines_counted_without_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "ok:x:1:\nthree:x:2\nbad gid:x:x:\nfine:x:3:a\n"
    with caplog.at_level(logging.WARNING, logger="unixd.localfiles"):
        records = parse_group(text)
    assert [record["name"] for record in records] == ["ok", "fine"]
    assert caplog.messages == ["group: skipped 2 malformed line(s): line 2, 3"]


def test_parse_shadow__name_and_hash_only() -> None:
    text = (
        "root:!:19000:0:99999:7:::\n"
        "alice:$y$j9T$salt$hash:19000:0:99999:7:::\n"
        "short:$6$abc$def\n"
        "nopass::19000::::::\n"
    )
    assert parse_shadow(text) == [
        {"name": "root", "hash": "!"},
        {"name": "alice", "hash": "$y$j9T$salt$hash"},
        {"name": "short", "hash": "$6$abc$def"},
        {"name": "nopass", "hash": ""},
    ]


def test_parse_shadow__malformed_lines_never_show_the_hash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "alice:$6$secret$hashvalue:1:2:3:4:5:6:7:8\nlone\nbad name:$6$x$y:::::::\n"
    with caplog.at_level(logging.WARNING, logger="unixd.localfiles"):
        assert parse_shadow(text) == []
    assert caplog.messages == ["shadow: skipped 3 malformed line(s): line 1, 2, 3"]
    assert "hashvalue" not in caplog.text


def test_parse_shadow__hash_with_control_character_is_locked() -> None:
    assert parse_shadow("eve:$6$a\x01b$c:1::::::\n") == [{"name": "eve", "hash": "!"}]


def test_parse_shadow__many_malformed_lines_are_listed_briefly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="unixd.localfiles"):
        parse_shadow("x\n" * 25)
    assert caplog.messages == [
        "shadow: skipped 25 malformed line(s): line "
        + ", ".join(str(n) for n in range(1, 21)) + " ..."
    ]
