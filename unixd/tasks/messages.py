"""The frames hermit-unixd-tasks sends and the ``home_create`` request it parses.

This module builds and checks task-socket objects for the tasks side; it does no I/O (the
framing is ``hermit_common.framing``, the connection ``unixd.tasks.link``). unixd's side of the same
contract is ``unixd.resolver.tasklink``.

Wire format (docs/protocol.md, "Task socket")::

    request   {"v": 1, "id": N, "op": OP, ...fields of OP}
    response  {"re": N, "status": "ok"} | {"re": N, "status": "error", "detail": TEXT}

Rules:
- ``home_create`` is checked field by field before anything is touched: unknown or missing
  fields, wrong types and names that break the lookup-name rule are refused with
  ``InvalidField`` (the paths themselves are checked by ``unixd.tasks.home``).
- Ids are non-negative integers below 2**53 (exact in every JSON reader).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from unixd.proto import limits
from unixd.proto.errors import InvalidField, UnknownOp, UnsupportedVersion
from unixd.proto.messages import validate_lookup_name
from unixd.tasks.home import HomeRequest

MAX_ID = 2**53 - 1
# Old aliases of one account: one per rename since unixd last created its home; a handful.
MAX_OLD_ALIASES = 64
# In docs/protocol.md's order, so the first missing field reported is the same every time.
_HOME_CREATE_FIELDS = (
    "v", "id", "op", "name", "uid", "gid", "home", "alias", "old_aliases", "use_etc_skel",
)


def local_identities(
    request_id: int,
    passwd: Sequence[Mapping[str, object]],
    group: Sequence[Mapping[str, object]],
) -> dict[str, object]:
    """The names and ids of the host's accounts and groups; never a password hash (issue 9:
    local passwords are pam_unix's, hermit neither holds nor checks them)."""
    return {
        "v": limits.PROTOCOL_VERSION, "id": request_id, "op": "local_identities",
        "passwd": list(passwd), "group": list(group),
    }


def ok(request_id: int) -> dict[str, object]:
    return {"re": request_id, "status": "ok"}


def error(request_id: int, detail: str) -> dict[str, object]:
    return {"re": request_id, "status": "error", "detail": detail[: limits.MAX_ERROR_DETAIL_BYTES]}


def request_id_of(obj: Mapping[str, object], key: str = "id") -> int:
    """The id of a request (``"id"``) or of the request a response answers (``"re"``).

    Errors: ``InvalidField``.
    """
    raw = obj.get(key)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_ID:
        raise InvalidField(f"field {key!r} must be an integer between 0 and {MAX_ID}")
    return raw


def parse_home_create(obj: Mapping[str, object]) -> HomeRequest:
    """Check a request from unixd and return it as a ``HomeRequest``.

    Errors: ``UnsupportedVersion``, ``UnknownOp`` (any op but ``home_create``),
    ``InvalidField`` naming the field.
    """
    if obj.get("v") != limits.PROTOCOL_VERSION or isinstance(obj.get("v"), bool):
        raise UnsupportedVersion(f'a task request must carry "v": {limits.PROTOCOL_VERSION}')
    if obj.get("op") != "home_create":
        raise UnknownOp("hermit-unixd-tasks answers only home_create")
    for key in obj:
        if key not in _HOME_CREATE_FIELDS:
            raise InvalidField(f"home_create has an unknown field {key!r}")
    for key in _HOME_CREATE_FIELDS:
        if key not in obj:
            raise InvalidField(f"home_create lacks the field {key!r}")
    alias = obj["alias"]
    if alias is not None and not isinstance(alias, str):
        raise InvalidField("field 'alias' must be a path or null")
    old_aliases = obj["old_aliases"]
    if not isinstance(old_aliases, list) or len(old_aliases) > MAX_OLD_ALIASES:
        raise InvalidField(f"field 'old_aliases' must be a list of at most {MAX_OLD_ALIASES}")
    if not all(isinstance(path, str) for path in old_aliases):
        raise InvalidField("field 'old_aliases' must hold paths")
    if not isinstance(obj["use_etc_skel"], bool):
        raise InvalidField("field 'use_etc_skel' must be true or false")
    return HomeRequest(
        name=validate_lookup_name(obj["name"]),
        uid=_account_id(obj["uid"], "uid"),
        gid=_account_id(obj["gid"], "gid"),
        home=_path(obj["home"], "home"),
        alias=alias,
        old_aliases=tuple(old_aliases),
        use_etc_skel=obj["use_etc_skel"],
    )


def _account_id(raw: object, field_name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidField(f"field {field_name!r} must be an integer")
    return raw


def _path(raw: object, field_name: str) -> str:
    if not isinstance(raw, str):
        raise InvalidField(f"field {field_name!r} must be a path")
    return raw
