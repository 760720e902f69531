"""How the CLI prints: readable listings and tables for people, JSON with ``--json``.

It does not decide what to fetch or whether something changed (the commands do); errors are
printed by ``main.py`` alone.

Rules:
- ``--json`` prints the server's JSON object unchanged (indent 2), so scripts see the API;
- human output shows one ``key: value`` line per value (a key repeats for each value of a
  list, so ``grep`` works) and tables with an upper-case header row;
- every string from the server is printed with control characters replaced by ``?``, so a
  crafted display name cannot move the cursor or retitle the terminal;
- a write prints a short confirmation when the server says ``"changed": true`` and
  ``unchanged`` when it says ``false`` (DESIGN.md "Idempotent administration"), then
  ``sessions ended: N`` when the write ended sessions of the account (a new password);
- no secret is printed here except the value a command hands to ``secret_line`` on purpose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from hermit_cli.client import JsonObject

EMPTY = "-"
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

FieldGetter = Callable[[JsonObject], list[str]]


def clean(value: object) -> str:
    """A value as one safe line: ``-`` for null, control characters as ``?``."""
    if value is None:
        return EMPTY
    return _CONTROL_RE.sub("?", str(value))


def _scalar(key: str) -> FieldGetter:
    return lambda entry: [clean(entry.get(key))]


def _many(key: str) -> FieldGetter:
    return lambda entry: [clean(item) for item in entry.get(key) or []]


def _posix(key: str) -> FieldGetter:
    def get(entry: JsonObject) -> list[str]:
        posix = entry.get("posix")
        return [clean(posix.get(key))] if isinstance(posix, dict) else [EMPTY]

    return get


def _policy(entry: JsonObject) -> list[str]:
    policy = entry.get("policy")
    if not isinstance(policy, dict):
        return [EMPTY]
    return [f"{key} {clean(value)}" for key, value in policy.items() if value is not None]


def _ssh_keys(entry: JsonObject) -> list[str]:
    return [
        f"{clean(key.get('label'))} {clean(key.get('fingerprint'))}"
        for key in entry.get("ssh_keys") or []
        if isinstance(key, dict)
    ]


PERSON_FIELDS: list[tuple[str, FieldGetter]] = [
    ("name", _scalar("name")),
    ("spn", _scalar("spn")),
    ("uuid", _scalar("uuid")),
    ("displayname", _scalar("displayname")),
    ("mail", _many("mail")),
    ("memberof", _many("memberof")),
    ("gidnumber", _posix("gidnumber")),
    ("loginshell", _posix("loginshell")),
    ("ssh_key", _ssh_keys),
    ("valid_from", _scalar("valid_from")),
    ("expire_at", _scalar("expire_at")),
]
SERVICE_ACCOUNT_FIELDS = [*PERSON_FIELDS[:4], ("managed_by", _scalar("managed_by")),
                          *PERSON_FIELDS[4:]]
GROUP_FIELDS: list[tuple[str, FieldGetter]] = [
    ("name", _scalar("name")),
    ("spn", _scalar("spn")),
    ("uuid", _scalar("uuid")),
    ("description", _scalar("description")),
    ("member", _many("members")),
    ("memberof", _many("memberof")),
    ("gidnumber", _posix("gidnumber")),
    ("policy", _policy),
]
WHOAMI_FIELDS: list[tuple[str, FieldGetter]] = [
    ("name", _scalar("name")),
    ("spn", _scalar("spn")),
    ("uuid", _scalar("uuid")),
    ("scope", _scalar("scope")),
    ("session_id", _scalar("session_id")),
    ("expires_at", _scalar("expires_at")),
    ("privileged_until", _scalar("privileged_until")),
]


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[JsonObject], object]


def format_listing(entry: JsonObject, fields: Sequence[tuple[str, FieldGetter]]) -> str:
    """``key: value`` lines, values aligned; an empty list shows one ``-``."""
    width = max(len(label) for label, _ in fields) + 1
    lines = []
    for label, get in fields:
        for value in get(entry) or [EMPTY]:
            lines.append(f"{label + ':':<{width}} {value}")
    return "\n".join(lines)


def format_table(rows: Sequence[JsonObject], columns: Sequence[Column]) -> str:
    """A header row and one row per entry, columns padded to their widest cell."""
    cells = [[column.header for column in columns]]
    cells += [[clean(column.get(row)) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        for line in cells
    )


class Output:
    """Everything a command prints goes through here."""

    def __init__(self, stream: TextIO, *, as_json: bool) -> None:
        self.stream = stream
        self.as_json = as_json

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")

    def json(self, value: Any) -> None:
        self.line(json.dumps(value, indent=2, ensure_ascii=False))

    def entry(self, entry: JsonObject, fields: Sequence[tuple[str, FieldGetter]]) -> None:
        if self.as_json:
            self.json(entry)
        else:
            self.line(format_listing(entry, fields))

    def table(
        self, body: JsonObject, rows: Sequence[JsonObject], columns: Sequence[Column]
    ) -> None:
        if self.as_json:
            self.json(body)
        else:
            self.line(format_table(rows, columns))

    def write_result(self, response: JsonObject, confirmation: str) -> None:
        """After a write: the server's JSON, or the confirmation, or ``unchanged``; then the
        sessions the write ended, if any (``sessions_ended``)."""
        if self.as_json:
            self.json(response)
            return
        if response.get("changed") is False:
            self.line("unchanged")
        else:
            self.line(confirmation)
        self.sessions_ended(response)

    def sessions_ended(self, response: JsonObject) -> None:
        """``sessions ended: N`` when a credential change ended N sessions of the account
        (a new password signs every other session out; nothing is said when none ended)."""
        ended = response.get("sessions_ended")
        if not self.as_json and isinstance(ended, int) and not isinstance(ended, bool) and ended:
            self.line(f"sessions ended: {ended}")

    def secret_line(self, key: str, value: str) -> None:
        """The one deliberate way a secret reaches the screen (``password: VALUE``)."""
        self.line(f"{key}: {value}")


def posix_gid(entry: JsonObject) -> object:
    posix = entry.get("posix")
    return posix.get("gidnumber") if isinstance(posix, dict) else None


ACCOUNT_COLUMNS = [
    Column("NAME", lambda e: e.get("name")),
    Column("GIDNUMBER", posix_gid),
    Column("DISPLAYNAME", lambda e: e.get("displayname")),
    Column("SPN", lambda e: e.get("spn")),
]
GROUP_COLUMNS = [
    Column("NAME", lambda e: e.get("name")),
    Column("GIDNUMBER", posix_gid),
    Column("MEMBERS", lambda e: len(e.get("members") or [])),
    Column("DESCRIPTION", lambda e: e.get("description")),
]
SSH_KEY_COLUMNS = [
    Column("LABEL", lambda k: k.get("label")),
    Column("FINGERPRINT", lambda k: k.get("fingerprint")),
    Column("KEY", lambda k: k.get("key")),
]
