"""Parsing the host's own /etc/passwd and /etc/group into task-socket records.

This module turns the text of those files into the records hermit-unixd-tasks sends in a
``local_identities`` request (docs/protocol.md, "Task socket"): PASSWD and GROUP exactly as on
the client socket. It reads no file (the tasks daemon does), and decides nothing about
shadowing (unixd does: a local name or id always wins). /etc/shadow is no business of hermit's
(issue 9, finding 1): local passwords are pam_unix's.

Rules:
- Blank lines and lines starting with ``#`` are ignored; NIS compat lines (``+``/``-``) are
  not identities and are ignored too.
- A line with the wrong number of fields, a name no lookup could ask for (the client socket's
  name rule), or an id that is not a decimal uid_t is malformed: it is skipped, and one warning
  per file gives how many lines were and their line numbers, never their content.
- Every record built satisfies ``unixd.proto.messages.Passwd`` / ``Group``, so unixd can
  serve it as it is. Fields glibc tolerates are normalised the way login(1) reads them, so a
  local account is never dropped for a cosmetic reason (it must keep shadowing the
  directory): an empty shell is ``/bin/sh`` (passwd(5)), a home that is not an absolute path
  is ``/``, control characters in the gecos become spaces, and a gecos too long is cut.
- A group member that breaks the name rule is left out of ``members``; the group stays.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

from hermit_common.errors import HermitError
from unixd.proto import limits
from unixd.proto.messages import Group, Passwd, safe_gecos, validate_lookup_name

log = logging.getLogger(__name__)

T = TypeVar("T")

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DECIMAL_RE = re.compile(r"[0-9]{1,10}")
# passwd(5): "If this field is empty, it defaults to /bin/sh".
DEFAULT_SHELL = "/bin/sh"
# login(1) changes to / when the home directory cannot be used.
DEFAULT_HOME = "/"


class _Malformed(Exception):
    """A line that cannot be a record; counted, never shown (only its number is logged)."""


def parse_passwd(text: str) -> list[dict[str, object]]:
    """The PASSWD records of an /etc/passwd text, in file order."""
    return _parse(text, "passwd", _passwd_record)


def parse_group(text: str) -> list[dict[str, object]]:
    """The GROUP records of an /etc/group text, in file order."""
    return _parse(text, "group", _group_record)


def _parse(
    text: str, what: str, parse_line: Callable[[list[str]], dict[str, object]]
) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    skipped: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip() or line.startswith(("#", "+", "-")):
            continue
        try:
            records.append(parse_line(line.split(":")))
        except _Malformed:
            skipped.append(number)
    if skipped:
        shown = ", ".join(str(number) for number in skipped[:20])
        more = " ..." if len(skipped) > 20 else ""
        log.warning(
            "%s: skipped %d malformed line(s): line %s%s", what, len(skipped), shown, more
        )
    return records


def _name(raw: str) -> str:
    try:
        return validate_lookup_name(raw)
    except HermitError:
        raise _Malformed from None


def _id(raw: str) -> int:
    if not _DECIMAL_RE.fullmatch(raw) or int(raw) > limits.MAX_ID:
        raise _Malformed
    return int(raw)


def _path(raw: str, default: str) -> str:
    if not raw.startswith("/") or _CONTROL_RE.search(raw):
        return default
    if len(raw.encode("utf-8", errors="replace")) > limits.MAX_PATH_BYTES:
        return default
    return raw


def _passwd_record(fields: list[str]) -> dict[str, object]:
    # name:password:uid:gid:gecos:dir:shell (passwd(5))
    if len(fields) != 7:
        raise _Malformed
    name, _password, uid, gid, gecos, home, shell = fields
    return _build(
        lambda: Passwd(
            name=_name(name),
            uid=_id(uid),
            gid=_id(gid),
            gecos=safe_gecos(gecos),
            dir=_path(home, DEFAULT_HOME),
            shell=_path(shell, DEFAULT_SHELL) if shell else DEFAULT_SHELL,
        ).to_json()
    )


def _group_record(fields: list[str]) -> dict[str, object]:
    # name:password:gid:member,member (group(5))
    if len(fields) != 4:
        raise _Malformed
    name, _password, gid, members = fields
    kept = []
    for member in members.split(","):
        try:
            kept.append(validate_lookup_name(member.strip(), "members"))
        except HermitError:
            continue
    return _build(lambda: Group(name=_name(name), gid=_id(gid), members=tuple(kept)).to_json())


def _build(make: Callable[[], T]) -> T:
    try:
        return make()
    except HermitError:
        # Passwd/Group refused a field the normalisation above could not repair.
        raise _Malformed from None
