"""Tests of unixd.tasks.localfiles: /etc/passwd and /etc/group texts into records (/etc/shadow is
never hermit's to read: issue 9)."""

from __future__ import annotations

import logging

import pytest

from unixd.proto.messages import Group, Passwd
from unixd.tasks.localfiles import parse_group, parse_passwd

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
    with caplog.at_level(logging.WARNING, logger="unixd.tasks.localfiles"):
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
    with caplog.at_level(logging.WARNING, logger="unixd.tasks.localfiles"):
        records = parse_group(text)
    assert [record["name"] for record in records] == ["ok", "fine"]
    assert caplog.messages == ["group: skipped 2 malformed line(s): line 2, 3"]


def test_parse_passwd__many_malformed_lines_are_listed_briefly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="unixd.tasks.localfiles"):
        parse_passwd("x\n" * 25)
    assert caplog.messages == [
        "passwd: skipped 25 malformed line(s): line "
        + ", ".join(str(n) for n in range(1, 21)) + " ..."
    ]
