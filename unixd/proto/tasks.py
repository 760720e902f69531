"""The task socket between hermit-unixd and hermit-unixd-tasks, as validated frozen messages.

This module is the whole contract of the task socket, shared by both ends: unixd
(``unixd.resolver.tasklink``) sends ``home_create`` and parses ``local_identities``; the tasks
daemon (``unixd.tasks.link``) the other way round. It does no I/O (the framing is
``hermit_common.framing``) and decides nothing (what a home is: ``unixd.tasks.home``; what
local identities shadow: ``unixd.resolver.local``).

Wire format (docs/protocol.md, "Task socket")::

    request   {"v": 1, "id": N, "op": OP, ...fields of OP}
    response  {"re": N, "status": "ok"} | {"re": N, "status": "error", "detail": TEXT}

Rules:
- Both ends send requests on the one connection; a frame is a response when it has ``"re"``.
  Ids are chosen by the sender, non-negative integers below 2**53 (exact in every JSON
  reader).
- Each end answers one op: ``parse_request`` refuses any other with ``UnknownOp``, and checks
  ``"v"``, ``"id"``, ``"op"`` and then the fields, in that order. The tasks daemon reads the
  id first (``request_id_of``) so it can answer a refused request; unixd closes the connection
  on any refusal (the shell's one rule for a ``PeerProtocolError``).
- Every message is checked when it is built, parsed or made by our side: ``home_create``'s
  fields by type and its name by the lookup-name rule (the paths and ids against the host:
  ``unixd.tasks.home``). Unknown fields are refused, ``shadow`` among them (issue 9).
- ``local_identities`` carries the passwd and group records as ``read_identities`` makes them;
  what is not an object is dropped here, what lacks a name is skipped by its reader.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeAlias, TypeVar

from hermit_common.framing import PeerProtocolError, encode_frame
from unixd.proto import limits
from unixd.proto.errors import InvalidField, UnknownOp, UnsupportedVersion
from unixd.proto.messages import validate_lookup_name

MAX_REQUEST_ID = 2**53 - 1
# Old aliases of one account: one per rename since unixd last created its home; a handful.
MAX_OLD_ALIASES = 64
_ENVELOPE = ("v", "id", "op")

Record: TypeAlias = Mapping[str, object]


@dataclass(frozen=True)
class HomeCreate:
    """unixd asks the tasks daemon to make an account's home (and its alias) exist."""

    OP: ClassVar[str] = "home_create"
    # What the receiving end says when asked anything else.
    ANSWERED_BY: ClassVar[str] = "hermit-unixd-tasks"

    name: str
    uid: int
    gid: int
    home: str
    alias: str | None
    old_aliases: tuple[str, ...]
    use_etc_skel: bool

    def __post_init__(self) -> None:
        if self.alias is not None and not isinstance(self.alias, str):
            raise InvalidField("field 'alias' must be a path or null")
        # Tuples are what our own messages hold; lists are what JSON gives.
        if not isinstance(self.old_aliases, list | tuple) or (
                len(self.old_aliases) > MAX_OLD_ALIASES):
            raise InvalidField(f"field 'old_aliases' must be a list of at most {MAX_OLD_ALIASES}")
        if not all(isinstance(path, str) for path in self.old_aliases):
            raise InvalidField("field 'old_aliases' must hold paths")
        object.__setattr__(self, "old_aliases", tuple(self.old_aliases))
        if not isinstance(self.use_etc_skel, bool):
            raise InvalidField("field 'use_etc_skel' must be true or false")
        validate_lookup_name(self.name)
        for field_name in ("uid", "gid"):
            raw = getattr(self, field_name)
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise InvalidField(f"field {field_name!r} must be an integer")
        if not isinstance(self.home, str):
            raise InvalidField("field 'home' must be a path")

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> HomeCreate:
        """Errors: ``InvalidField`` (``InvalidLookupName`` for the name)."""
        fields = _fields(cls)
        for key in fields:  # in docs/protocol.md's order: the same one is named every time
            if key not in obj:
                raise InvalidField(f"{cls.OP} lacks the field {key!r}")
        return cls(**{key: obj[key] for key in fields})  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "old_aliases": list(self.old_aliases)}


@dataclass(frozen=True)
class LocalIdentitiesUpdate:
    """The tasks daemon tells unixd the host's own accounts and groups; each replaces the
    last. Never a password hash (issue 9: local passwords are pam_unix's)."""

    OP: ClassVar[str] = "local_identities"
    ANSWERED_BY: ClassVar[str] = "the task socket"

    passwd: tuple[Record, ...]
    group: tuple[Record, ...]

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> LocalIdentitiesUpdate:
        """Errors: ``InvalidField``."""
        return cls(passwd=_records(obj, "passwd"), group=_records(obj, "group"))

    def to_json(self) -> dict[str, object]:
        return {"passwd": list(self.passwd), "group": list(self.group)}


Op: TypeAlias = HomeCreate | LocalIdentitiesUpdate
_O = TypeVar("_O", HomeCreate, LocalIdentitiesUpdate)


@dataclass(frozen=True)
class Request:
    """``op`` sent as request ``id``."""

    id: int
    op: Op

    def to_json(self) -> dict[str, object]:
        return {"v": limits.PROTOCOL_VERSION, "id": self.id, "op": self.op.OP,
                **self.op.to_json()}


@dataclass(frozen=True)
class Response:
    """The answer to request ``re``: ``ok``, or an error with its ``detail``."""

    re: int
    ok: bool
    detail: str | None = None

    @classmethod
    def error(cls, re: int, detail: str) -> Response:
        return cls(re, ok=False, detail=detail[: limits.MAX_ERROR_DETAIL_BYTES])

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> Response:
        """Any status but ``ok`` is an error; a detail that is not text is none.

        Errors: ``InvalidField`` when ``"re"`` is not a request id.
        """
        re = request_id_of(obj, "re")
        detail = obj.get("detail")
        return cls(re, ok=obj.get("status") == "ok",
                   detail=detail if isinstance(detail, str) else None)

    def to_json(self) -> dict[str, object]:
        if self.ok:
            return {"re": self.re, "status": "ok"}
        return {"re": self.re, "status": "error", "detail": self.detail or ""}


def is_response(obj: Mapping[str, object]) -> bool:
    return "re" in obj


def request_id_of(obj: Mapping[str, object], key: str = "id") -> int:
    """The id of a request (``"id"``) or of the request a response answers (``"re"``).

    Errors: ``InvalidField``.
    """
    raw = obj.get(key)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_REQUEST_ID:
        raise InvalidField(f"field {key!r} must be an integer between 0 and {MAX_REQUEST_ID}")
    return raw


def parse_request(obj: Mapping[str, object], op: type[_O]) -> tuple[int, _O]:
    """A request frame that must carry ``op``: its id and its checked message.

    Errors: ``UnsupportedVersion``, ``InvalidField``, ``UnknownOp``, ``InvalidLookupName``.
    """
    version = obj.get("v")
    if version != limits.PROTOCOL_VERSION or isinstance(version, bool):
        raise UnsupportedVersion(f'a task request must carry "v": {limits.PROTOCOL_VERSION}')
    request_id = request_id_of(obj)
    if obj.get("op") != op.OP:
        raise UnknownOp(f"{op.ANSWERED_BY} answers only {op.OP}")
    return request_id, parse_op(obj, op)


def parse_op(obj: Mapping[str, object], op: type[_O]) -> _O:
    """The fields of ``op`` in ``obj`` (besides ``v``, ``id`` and ``op``), checked.

    Errors: ``InvalidField`` for an unknown or a bad field.
    """
    known = _ENVELOPE + _fields(op)
    for key in obj:
        if key not in known:
            raise InvalidField(f"{op.OP} has an unknown field {key!r}")
    return op.from_json(obj)


def parse_home_create(obj: Mapping[str, object]) -> HomeCreate:
    """A ``home_create`` request's message (its id is ``request_id_of``'s). Errors: those of
    ``parse_request``."""
    return parse_request(obj, HomeCreate)[1]


def refusal(exc: PeerProtocolError) -> dict[str, object]:
    """The frame unixd sends before it closes a connection that broke the protocol (without
    ``"re"``: the frame may have had no id)."""
    return {"status": "error", "error": exc.code, "detail": exc.detail}


def encode(message: Request | Response) -> bytes:
    """``message`` as one frame of the task socket.

    Errors: ``ValueError`` when it would exceed ``MAX_TASK_FRAME_BYTES`` (the peer would
    refuse it).
    """
    return encode_frame(message.to_json(), limits.MAX_TASK_FRAME_BYTES)


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _records(obj: Mapping[str, object], key: str) -> tuple[Record, ...]:
    raw = obj.get(key)
    if not isinstance(raw, list | tuple):
        raise InvalidField(f"local_identities needs {key!r} as a list")
    return tuple(item for item in raw if isinstance(item, dict))

