"""Listings, tables, JSON and write confirmations as ``hermit`` prints them."""

from __future__ import annotations

import io
import json

from hermit_cli.output import (
    ACCOUNT_COLUMNS,
    GROUP_FIELDS,
    PERSON_FIELDS,
    Column,
    Output,
    clean,
    format_listing,
    format_table,
)

PERSON = {
    "uuid": "7f7c6f0e-0000-4000-8000-000000000001",
    "name": "alice",
    "spn": "alice@example.com",
    "classes": ["person"],
    "displayname": "Alice Liddell",
    "mail": ["alice@example.com", "al@example.com"],
    "memberof": [],
    "posix": {"gidnumber": 70001, "loginshell": "/bin/zsh"},
    "ssh_keys": [{"label": "laptop", "key": "ssh-ed25519 AAAA", "fingerprint": "SHA256:abc"}],
    "valid_from": None,
    "expire_at": "2026-12-31T00:00:00Z",
}


def test_output__listing_repeats_key_per_value_and_aligns() -> None:
    text = format_listing(PERSON, PERSON_FIELDS)
    assert text.splitlines() == [
        "name:        alice",
        "spn:         alice@example.com",
        "uuid:        7f7c6f0e-0000-4000-8000-000000000001",
        "displayname: Alice Liddell",
        "mail:        alice@example.com",
        "mail:        al@example.com",
        "memberof:    -",
        "gidnumber:   70001",
        "loginshell:  /bin/zsh",
        "ssh_key:     laptop SHA256:abc",
        "valid_from:  -",
        "expire_at:   2026-12-31T00:00:00Z",
    ]


def test_output__listing_of_group_without_posix() -> None:
    group = {"name": "staff", "spn": "staff@example.com", "uuid": "u", "description": None,
             "members": ["alice@example.com"], "memberof": [], "posix": None}
    assert format_listing(group, GROUP_FIELDS).splitlines() == [
        "name:        staff",
        "spn:         staff@example.com",
        "uuid:        u",
        "description: -",
        "member:      alice@example.com",
        "memberof:    -",
        "gidnumber:   -",
        "policy:      -",
    ]


def test_output__listing_of_group_shows_the_policy_it_sets() -> None:
    group = {"name": "admins", "spn": "admins@example.com", "uuid": "u", "description": None,
             "members": [], "memberof": [], "posix": None,
             "policy": {"min_credential": "mfa", "session_lifetime": 3600,
                        "privilege_lifetime": None, "password_min_length": None}}
    lines = format_listing(group, GROUP_FIELDS).splitlines()
    assert lines[-2:] == ["policy:      min_credential mfa", "policy:      session_lifetime 3600"]


def test_output__table_pads_columns_and_trims_line_ends() -> None:
    rows = [PERSON, {**PERSON, "name": "bo", "posix": None, "displayname": "Bo"}]
    assert format_table(rows, ACCOUNT_COLUMNS).splitlines() == [
        "NAME   GIDNUMBER  DISPLAYNAME    SPN",
        "alice  70001      Alice Liddell  alice@example.com",
        "bo     -          Bo             alice@example.com",
    ]


def test_output__empty_table_has_its_header() -> None:
    assert format_table([], [Column("NAME", lambda e: e.get("name"))]) == "NAME"


def test_output__control_characters_are_neutralised() -> None:
    assert clean("evil\x1b]0;title\x07\nname") == "evil?]0;title??name"
    assert clean(None) == "-"


def _output(as_json: bool) -> tuple[Output, io.StringIO]:
    stream = io.StringIO()
    return Output(stream, as_json=as_json), stream


def test_output__write_result_unchanged_or_confirmation() -> None:
    out, stream = _output(False)
    out.write_result({"changed": False, "entry": PERSON}, "created person alice")
    out.write_result({"changed": True, "entry": PERSON}, "created person alice")
    assert stream.getvalue() == "unchanged\ncreated person alice\n"


def test_output__json_mode_prints_the_server_object() -> None:
    out, stream = _output(True)
    out.write_result({"changed": False, "entry": PERSON}, "ignored")
    out.entry(PERSON, PERSON_FIELDS)
    out.table({"persons": [PERSON]}, [PERSON], ACCOUNT_COLUMNS)
    decoder = json.JSONDecoder()
    text, objects, index = stream.getvalue(), [], 0
    while index < len(text):
        obj, index = decoder.raw_decode(text, index)
        objects.append(obj)
        index += 1  # the newline after each object
    assert objects == [{"changed": False, "entry": PERSON}, PERSON, {"persons": [PERSON]}]
