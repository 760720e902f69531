"""The requests and responses of hermit-unixd's client socket, as validated frozen dataclasses.

This module turns JSON objects (from ``hermit_common.framing.decode_payload``) into typed
messages and messages back into frames; it does no I/O and decides nothing (the resolver
answers, the trio shell moves bytes). Both sides use it: unixd parses requests and encodes
responses, ``hermit-unix`` and the tests encode requests and parse responses.

Rules:
- Every message is checked when it is constructed, whether parsed from a peer or built by
  unixd, so a message that exists is valid: names are checked for shape and length before any
  lookup could use them, ids are in uid_t range, text that ends up in /etc/passwd-shaped
  output or in an authorized_keys line cannot carry ':' or a newline.
- A peer's mistake raises a ``PeerProtocolError`` subclass (``unixd.proto.errors``) with its
  wire code; unknown fields are refused, as in the REST API.
- A PAM response (a password or code) never shows in a repr or an error message.

Wire format (docs/protocol.md, "Client socket")::

    request   {"v": 1, "op": OP, ...fields of OP}
    response  {"status": "ok", ...fields of OP} | {"status": "notfound"}
              | {"status": "unavail"} | {"status": "error", "error": CODE, "detail": TEXT}

Implements DESIGN.md "Protocols" (client socket) and "Security invariants" (every input from
a socket is bounded and validated).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias

from hermit_common.errors import HermitError
from hermit_common.framing import HEADER, decode_payload, encode_frame
from unixd.proto import limits
from unixd.proto.errors import InvalidField, InvalidLookupName, UnknownOp, UnsupportedVersion

# Characters a looked-up name may not contain: ':' and ',' separate fields and members in
# /etc/passwd and /etc/group, '/' would make a path of it; whitespace and control characters
# (newline, NUL) break line-based files and C strings. Only printable ASCII passes: every
# hermit name, spn and uuid is ASCII, and a local name outside it is answered by the C library.
_LOOKUP_NAME_RE = re.compile(r"[!-~]+")
_LOOKUP_NAME_FORBIDDEN = frozenset(":/,")
_SESSION_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_ERROR_CODE_RE = re.compile(r"[a-z][a-z_]{0,63}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_NEWLINE_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_UNSAFE_GECOS_RE = re.compile(r"[:\x00-\x1f\x7f]")


def validate_lookup_name(raw: object, field_name: str = "name") -> str:
    """Return ``raw`` if it has the shape of a name unixd may look up, else raise.

    Checks shape and length only: 1 to ``MAX_LOOKUP_NAME_BYTES`` printable ASCII characters
    without ``:``, ``/`` or ``,``, and not ``.`` or ``..``. Case is kept; whether the name
    exists (and how it folds) is the resolver's business.

    Errors: ``InvalidLookupName`` naming the field.
    """
    if not isinstance(raw, str):
        raise InvalidLookupName(f"field {field_name!r} must be a string")
    if not raw:
        raise InvalidLookupName(f"field {field_name!r} may not be empty")
    if len(raw) > limits.MAX_LOOKUP_NAME_BYTES:
        raise InvalidLookupName(
            f"field {field_name!r} may have at most {limits.MAX_LOOKUP_NAME_BYTES} characters"
        )
    if not _LOOKUP_NAME_RE.fullmatch(raw) or _LOOKUP_NAME_FORBIDDEN.intersection(raw):
        raise InvalidLookupName(
            f"field {field_name!r} may hold only printable ASCII without ':', '/', ',' or spaces"
        )
    if raw in (".", ".."):
        raise InvalidLookupName(f"field {field_name!r} may not be '.' or '..'")
    return raw


def safe_gecos(text: str) -> str:
    """``text`` made a gecos ``Passwd`` accepts: ``:`` and control characters (they would
    break /etc/passwd's format) become spaces, and it is cut to ``MAX_GECOS_BYTES`` at a
    character boundary."""
    gecos = _UNSAFE_GECOS_RE.sub(" ", text)
    return gecos.encode("utf-8")[: limits.MAX_GECOS_BYTES].decode("utf-8", "ignore")


def _check_id(raw: object, field_name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidField(f"field {field_name!r} must be an integer")
    if not 0 <= raw <= limits.MAX_ID:
        raise InvalidField(f"field {field_name!r} must be between 0 and {limits.MAX_ID}")
    return raw


def _check_count(raw: object, field_name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise InvalidField(f"field {field_name!r} must be a non-negative integer")
    return raw


def _check_text(
    raw: object,
    field_name: str,
    max_bytes: int,
    *,
    allow_empty: bool = True,
    allow_newline: bool = False,
    forbidden: str = "",
) -> str:
    """A UTF-8 string of at most ``max_bytes`` without control characters (or ``forbidden``)."""
    if not isinstance(raw, str):
        raise InvalidField(f"field {field_name!r} must be a string")
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError:
        # json.loads accepts lone surrogates ("\ud800"); no C client could print them.
        raise InvalidField(f"field {field_name!r} must be valid Unicode") from None
    if size > max_bytes:
        raise InvalidField(f"field {field_name!r} may have at most {max_bytes} bytes")
    if not raw and not allow_empty:
        raise InvalidField(f"field {field_name!r} may not be empty")
    control = _CONTROL_BUT_NEWLINE_RE if allow_newline else _CONTROL_RE
    if control.search(raw):
        raise InvalidField(f"field {field_name!r} may not contain control characters")
    if forbidden and set(forbidden).intersection(raw):
        raise InvalidField(f"field {field_name!r} may not contain any of {forbidden!r}")
    return raw


def _check_path(raw: object, field_name: str) -> str:
    path = _check_text(raw, field_name, limits.MAX_PATH_BYTES, forbidden=":")
    if not path.startswith("/"):
        raise InvalidField(f"field {field_name!r} must be an absolute path")
    return path


def _check_list(raw: object, field_name: str) -> list[object]:
    # Tuples are what our own dataclasses hold; lists are what JSON gives.
    if not isinstance(raw, list | tuple):
        raise InvalidField(f"field {field_name!r} must be a list")
    return list(raw)


def _check_choice(raw: object, field_name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(raw, str) or raw not in choices:
        raise InvalidField(f"field {field_name!r} must be one of {', '.join(choices)}")
    return raw


def _check_object(raw: object, field_name: str) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise InvalidField(f"field {field_name!r} must be an object")
    return raw


def _check_keys(
    obj: Mapping[str, object], what: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> None:
    for key in obj:
        if key not in required and key not in optional:
            raise InvalidField(f"{what} has an unknown field {key!r}")
    for key in required:
        if key not in obj:
            raise InvalidField(f"{what} lacks the field {key!r}")


def _data_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


# Records inside responses -----------------------------------------------------------------


@dataclass(frozen=True)
class Passwd:
    """A user as NSS shows it; the password field is always ``*`` (unixd never serves one)."""

    name: str
    uid: int
    gid: int
    gecos: str
    dir: str
    shell: str

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)
        _check_id(self.uid, "uid")
        _check_id(self.gid, "gid")
        _check_text(self.gecos, "gecos", limits.MAX_GECOS_BYTES, forbidden=":")
        _check_path(self.dir, "dir")
        _check_path(self.shell, "shell")

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name, "passwd": "*", "uid": self.uid, "gid": self.gid,
            "gecos": self.gecos, "dir": self.dir, "shell": self.shell,
        }

    @classmethod
    def from_json(cls, raw: object) -> Passwd:
        obj = _check_object(raw, "user")
        _check_keys(obj, "a user", ("passwd", *_data_fields(cls)), ())
        if obj["passwd"] != "*":
            raise InvalidField("field 'passwd' must be '*'")
        return cls(**{key: obj[key] for key in _data_fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Group:
    """A group as NSS shows it: members by name; the password field is always ``*``."""

    name: str
    gid: int
    members: tuple[str, ...]

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)
        _check_id(self.gid, "gid")
        if not isinstance(self.members, tuple):
            raise TypeError("`members` must be a tuple")
        for member in self.members:
            validate_lookup_name(member, "members")

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "passwd": "*", "gid": self.gid, "members": list(self.members)}

    @classmethod
    def from_json(cls, raw: object) -> Group:
        obj = _check_object(raw, "group")
        _check_keys(obj, "a group", ("name", "passwd", "gid", "members"), ())
        if obj["passwd"] != "*":
            raise InvalidField("field 'passwd' must be '*'")
        members = tuple(_check_list(obj["members"], "members"))
        return cls(name=obj["name"], gid=obj["gid"], members=members)  # type: ignore[arg-type]


# PAM prompts: what unixd wants the PAM module to do next ------------------------------------


@dataclass(frozen=True)
class PasswordPrompt:
    KIND: ClassVar[str] = "password"
    prompt: str

    def __post_init__(self) -> None:
        _check_text(self.prompt, "prompt", limits.MAX_PAM_TEXT_BYTES)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.KIND, "prompt": self.prompt, "echo": False}


@dataclass(frozen=True)
class CodePrompt:
    KIND: ClassVar[str] = "code"
    prompt: str

    def __post_init__(self) -> None:
        _check_text(self.prompt, "prompt", limits.MAX_PAM_TEXT_BYTES)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.KIND, "prompt": self.prompt, "echo": True}


@dataclass(frozen=True)
class TextPrompt:
    """Show ``text`` to the user, then step with ``""``."""

    KIND: ClassVar[str] = "text"
    text: str

    def __post_init__(self) -> None:
        _check_text(self.text, "text", limits.MAX_PAM_TEXT_BYTES, allow_newline=True)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.KIND, "text": self.text}


@dataclass(frozen=True)
class SuccessPrompt:
    KIND: ClassVar[str] = "success"

    def to_json(self) -> dict[str, object]:
        return {"kind": self.KIND}


@dataclass(frozen=True)
class DeniedPrompt:
    KIND: ClassVar[str] = "denied"
    reason: str

    def __post_init__(self) -> None:
        _check_text(self.reason, "reason", limits.MAX_PAM_TEXT_BYTES)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.KIND, "reason": self.reason}


# Why a name is ``unknown`` when it is a local account: for people (``hermit-unix auth-test``)
# and logs; the PAM module only reads the kind.
LOCAL_ACCOUNT_REASON = "a local account: its password is pam_unix's to check, never hermit's"


@dataclass(frozen=True)
class UnknownPrompt:
    """The name is not hermit's: the PAM module answers PAM_USER_UNKNOWN.

    ``reason`` says why when unixd knows (a local account); the PAM module ignores it.
    """

    KIND: ClassVar[str] = "unknown"
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.reason is not None:
            _check_text(self.reason, "reason", limits.MAX_PAM_TEXT_BYTES)

    def to_json(self) -> dict[str, object]:
        if self.reason is None:
            return {"kind": self.KIND}
        return {"kind": self.KIND, "reason": self.reason}


Prompt: TypeAlias = (
    PasswordPrompt | CodePrompt | TextPrompt | SuccessPrompt | DeniedPrompt | UnknownPrompt
)


def parse_prompt(raw: object) -> Prompt:
    """A ``PROMPT`` object of docs/protocol.md. Errors: ``InvalidField``."""
    obj = _check_object(raw, "next")
    kind = _check_choice(
        obj.get("kind"), "kind", ("password", "code", "text", "success", "denied", "unknown")
    )
    if kind in ("password", "code"):
        _check_keys(obj, "a prompt", ("kind", "prompt", "echo"), ())
        if obj["echo"] is not (kind == "code"):
            raise InvalidField(f"a {kind} prompt must have echo {str(kind == 'code').lower()}")
        cls = PasswordPrompt if kind == "password" else CodePrompt
        return cls(prompt=obj["prompt"])  # type: ignore[arg-type]
    if kind == "text":
        _check_keys(obj, "a prompt", ("kind", "text"), ())
        return TextPrompt(text=obj["text"])  # type: ignore[arg-type]
    if kind == "denied":
        _check_keys(obj, "a prompt", ("kind", "reason"), ())
        return DeniedPrompt(reason=obj["reason"])  # type: ignore[arg-type]
    if kind == "unknown":
        _check_keys(obj, "a prompt", ("kind",), ("reason",))
        return UnknownPrompt(reason=obj.get("reason"))  # type: ignore[arg-type]
    _check_keys(obj, "a prompt", ("kind",), ())
    return SuccessPrompt()


def _check_prompt(raw: object) -> None:
    if not isinstance(
        raw, PasswordPrompt | CodePrompt | TextPrompt | SuccessPrompt | DeniedPrompt | UnknownPrompt
    ):
        raise TypeError("`next` must be a prompt")


# Responses ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserResponse:
    user: Passwd

    def to_json(self) -> dict[str, object]:
        return {"status": "ok", "user": self.user.to_json()}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> UserResponse:
        _check_keys(obj, "a response", ("status", "user"), ())
        return cls(user=Passwd.from_json(obj["user"]))


@dataclass(frozen=True)
class UsersResponse:
    users: tuple[Passwd, ...]

    def to_json(self) -> dict[str, object]:
        return {"status": "ok", "users": [user.to_json() for user in self.users]}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> UsersResponse:
        _check_keys(obj, "a response", ("status", "users"), ())
        return cls(users=tuple(Passwd.from_json(u) for u in _check_list(obj["users"], "users")))


@dataclass(frozen=True)
class EncodedListResponse:
    """An ``ok`` enumeration built by unixd: each record was validated when it was made and
    encoded right away, so a listing of thousands is held as one bytes object, never as
    thousands of dicts (``UsersResponse``/``GroupsResponse`` are what a client parses)."""

    key: Literal["users", "groups"]
    # The JSON array's items, comma-separated.
    records: bytes

    @classmethod
    def of(cls, key: Literal["users", "groups"],
           records: Iterable[Passwd | Group]) -> EncodedListResponse:
        return cls(key, b",".join(_compact_json(record.to_json()) for record in records))

    def payload(self) -> bytes:
        return b'{"status":"ok","' + self.key.encode() + b'":[' + self.records + b"]}"

    def to_json(self) -> dict[str, object]:
        return decode_payload(self.payload())


def _compact_json(obj: Mapping[str, object]) -> bytes:
    # The same encoding as ``encode_frame``.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class GroupResponse:
    group: Group

    def to_json(self) -> dict[str, object]:
        return {"status": "ok", "group": self.group.to_json()}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> GroupResponse:
        _check_keys(obj, "a response", ("status", "group"), ())
        return cls(group=Group.from_json(obj["group"]))


@dataclass(frozen=True)
class GroupsResponse:
    groups: tuple[Group, ...]

    def to_json(self) -> dict[str, object]:
        return {"status": "ok", "groups": [group.to_json() for group in self.groups]}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> GroupsResponse:
        _check_keys(obj, "a response", ("status", "groups"), ())
        groups = _check_list(obj["groups"], "groups")
        return cls(groups=tuple(Group.from_json(g) for g in groups))


@dataclass(frozen=True)
class InitgroupsResponse:
    """The supplementary gids of a user, without its primary gid."""

    gids: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.gids, tuple):
            raise TypeError("`gids` must be a tuple")
        for gid in self.gids:
            _check_id(gid, "gids")

    def to_json(self) -> dict[str, object]:
        return {"status": "ok", "gids": list(self.gids)}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> InitgroupsResponse:
        _check_keys(obj, "a response", ("status", "gids"), ())
        return cls(gids=tuple(_check_list(obj["gids"], "gids")))  # type: ignore[arg-type]


@dataclass(frozen=True)
class SshKeysResponse:
    """Public key lines for authorized_keys; one line each, so a newline can never pass."""

    keys: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.keys, tuple):
            raise TypeError("`keys` must be a tuple")
        if len(self.keys) > limits.MAX_SSH_KEYS:
            raise InvalidField(f"field 'keys' may hold at most {limits.MAX_SSH_KEYS} keys")
        for key in self.keys:
            _check_text(key, "keys", limits.MAX_SSH_KEY_BYTES, allow_empty=False)

    def to_json(self) -> dict[str, object]:
        return {"status": "ok", "keys": list(self.keys)}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> SshKeysResponse:
        _check_keys(obj, "a response", ("status", "keys"), ())
        return cls(keys=tuple(_check_list(obj["keys"], "keys")))  # type: ignore[arg-type]


@dataclass(frozen=True)
class PamAuthInitResponse:
    session: str
    next: Prompt

    def __post_init__(self) -> None:
        _check_session_id(self.session)
        _check_prompt(self.next)

    def to_json(self) -> dict[str, object]:
        return {"status": "ok", "session": self.session, "next": self.next.to_json()}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> PamAuthInitResponse:
        _check_keys(obj, "a response", ("status", "session", "next"), ())
        return cls(session=obj["session"], next=parse_prompt(obj["next"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class PamAuthStepResponse:
    next: Prompt

    def __post_init__(self) -> None:
        _check_prompt(self.next)

    def to_json(self) -> dict[str, object]:
        return {"status": "ok", "next": self.next.to_json()}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> PamAuthStepResponse:
        _check_keys(obj, "a response", ("status", "next"), ())
        return cls(next=parse_prompt(obj["next"]))


PamAccountResult: TypeAlias = Literal["allowed", "denied", "unknown"]


@dataclass(frozen=True)
class PamAccountResponse:
    result: PamAccountResult
    reason: str | None = None

    def __post_init__(self) -> None:
        _check_choice(self.result, "result", ("allowed", "denied", "unknown"))
        if self.reason is not None:
            _check_text(self.reason, "reason", limits.MAX_PAM_TEXT_BYTES)

    def to_json(self) -> dict[str, object]:
        obj: dict[str, object] = {"status": "ok", "result": self.result}
        if self.reason is not None:
            obj["reason"] = self.reason
        return obj

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> PamAccountResponse:
        _check_keys(obj, "a response", ("status", "result"), ("reason",))
        return cls(result=obj["result"], reason=obj.get("reason"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class StatusResponse:
    server: Literal["online", "offline"]
    cached_users: int
    cached_groups: int
    # Whether hermit-unixd-tasks has sent the host's own accounts yet; until then lookups,
    # SSH keys and PAM are answered ``unavail``.
    local_identities: Literal["waiting", "received"]

    def __post_init__(self) -> None:
        _check_choice(self.server, "server", ("online", "offline"))
        _check_count(self.cached_users, "cached_users")
        _check_count(self.cached_groups, "cached_groups")
        _check_choice(self.local_identities, "local_identities", ("waiting", "received"))

    def to_json(self) -> dict[str, object]:
        return {
            "status": "ok", "server": self.server,
            "cached_users": self.cached_users, "cached_groups": self.cached_groups,
            "local_identities": self.local_identities,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> StatusResponse:
        _check_keys(obj, "a response", ("status", *_data_fields(cls)), ())
        return cls(**{key: obj[key] for key in _data_fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class DoneResponse:
    """``ok`` without fields: the request was carried out."""

    def to_json(self) -> dict[str, object]:
        return {"status": "ok"}

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> DoneResponse:
        _check_keys(obj, "a response", ("status",), ())
        return cls()


@dataclass(frozen=True)
class NotFoundResponse:
    """The resolver knows there is no such entry (NSS_STATUS_NOTFOUND)."""

    def to_json(self) -> dict[str, object]:
        return {"status": "notfound"}


@dataclass(frozen=True)
class UnavailResponse:
    """The resolver cannot answer now: offline and not cached (NSS_STATUS_UNAVAIL)."""

    def to_json(self) -> dict[str, object]:
        return {"status": "unavail"}


@dataclass(frozen=True)
class ErrorResponse:
    """The request was refused; ``error`` is a wire code such as ``invalid_name``."""

    error: str
    detail: str

    def __post_init__(self) -> None:
        if not isinstance(self.error, str) or not _ERROR_CODE_RE.fullmatch(self.error):
            raise InvalidField("field 'error' must be a lowercase code")
        _check_text(self.detail, "detail", limits.MAX_ERROR_DETAIL_BYTES)

    def to_json(self) -> dict[str, object]:
        return {"status": "error", "error": self.error, "detail": self.detail}

    @classmethod
    def from_exception(cls, exc: HermitError) -> ErrorResponse:
        """The frame that answers ``exc``; its detail made one bounded line."""
        line = _CONTROL_RE.sub(" ", exc.detail).encode("utf-8", "replace")
        # Cutting may split a character; "ignore" drops the broken tail.
        detail = line[: limits.MAX_ERROR_DETAIL_BYTES].decode("utf-8", "ignore")
        return cls(error=exc.code, detail=detail)


Response: TypeAlias = (
    UserResponse | UsersResponse | EncodedListResponse | GroupResponse | GroupsResponse
    | InitgroupsResponse
    | SshKeysResponse | PamAuthInitResponse | PamAuthStepResponse | PamAccountResponse
    | StatusResponse | DoneResponse | NotFoundResponse | UnavailResponse | ErrorResponse
)
OkResponse: TypeAlias = (
    type[UserResponse] | type[UsersResponse] | type[GroupResponse] | type[GroupsResponse]
    | type[InitgroupsResponse] | type[SshKeysResponse] | type[PamAuthInitResponse]
    | type[PamAuthStepResponse] | type[PamAccountResponse] | type[StatusResponse]
    | type[DoneResponse]
)


# Requests -------------------------------------------------------------------------------


def _check_session_id(raw: object) -> str:
    if (
        not isinstance(raw, str)
        or len(raw) > limits.MAX_PAM_SESSION_ID_BYTES
        or not _SESSION_ID_RE.fullmatch(raw)
    ):
        raise InvalidField(
            f"field 'session' must be 1 to {limits.MAX_PAM_SESSION_ID_BYTES} characters "
            "of A-Z a-z 0-9 _ -"
        )
    return raw


class _Request:
    """What every request shares: its op, the ``ok`` response it expects, its encoding."""

    OP: ClassVar[str]
    RESPONSE: ClassVar[OkResponse]

    def to_json(self) -> dict[str, object]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {"v": limits.PROTOCOL_VERSION, "op": self.OP, **fields}


@dataclass(frozen=True)
class UserByName(_Request):
    OP = "user_by_name"
    RESPONSE = UserResponse
    name: str

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)


@dataclass(frozen=True)
class UserByUid(_Request):
    OP = "user_by_uid"
    RESPONSE = UserResponse
    uid: int

    def __post_init__(self) -> None:
        _check_id(self.uid, "uid")


@dataclass(frozen=True)
class UserList(_Request):
    OP = "user_list"
    RESPONSE = UsersResponse


@dataclass(frozen=True)
class GroupByName(_Request):
    OP = "group_by_name"
    RESPONSE = GroupResponse
    name: str

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)


@dataclass(frozen=True)
class GroupByGid(_Request):
    OP = "group_by_gid"
    RESPONSE = GroupResponse
    gid: int

    def __post_init__(self) -> None:
        _check_id(self.gid, "gid")


@dataclass(frozen=True)
class GroupList(_Request):
    OP = "group_list"
    RESPONSE = GroupsResponse


@dataclass(frozen=True)
class Initgroups(_Request):
    OP = "initgroups"
    RESPONSE = InitgroupsResponse
    name: str

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)


@dataclass(frozen=True)
class SshKeys(_Request):
    OP = "ssh_keys"
    RESPONSE = SshKeysResponse
    name: str

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)


@dataclass(frozen=True)
class PamAuthInit(_Request):
    OP = "pam_auth_init"
    RESPONSE = PamAuthInitResponse
    name: str
    service: str

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)
        _check_text(
            self.service, "service", limits.MAX_PAM_SERVICE_BYTES,
            allow_empty=False, forbidden="/ ",
        )


@dataclass(frozen=True)
class PamAuthStep(_Request):
    OP = "pam_auth_step"
    RESPONSE = PamAuthStepResponse
    session: str
    # A password or a code: kept out of repr, and no check below quotes it.
    response: str = field(repr=False)

    def __post_init__(self) -> None:
        _check_session_id(self.session)
        if not isinstance(self.response, str):
            raise InvalidField("field 'response' must be a string")
        try:
            size = len(self.response.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidField("field 'response' must be valid Unicode") from None
        if size > limits.MAX_PAM_RESPONSE_BYTES:
            raise InvalidField(
                f"field 'response' may have at most {limits.MAX_PAM_RESPONSE_BYTES} bytes"
            )
        if "\x00" in self.response:
            raise InvalidField("field 'response' may not contain NUL")


@dataclass(frozen=True)
class PamAccount(_Request):
    OP = "pam_account"
    RESPONSE = PamAccountResponse
    name: str

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)


@dataclass(frozen=True)
class PamSessionOpen(_Request):
    OP = "pam_session_open"
    RESPONSE = DoneResponse
    name: str

    def __post_init__(self) -> None:
        validate_lookup_name(self.name)


@dataclass(frozen=True)
class Status(_Request):
    OP = "status"
    RESPONSE = StatusResponse


@dataclass(frozen=True)
class CacheInvalidate(_Request):
    OP = "cache_invalidate"
    RESPONSE = DoneResponse


@dataclass(frozen=True)
class CacheClear(_Request):
    """Peer uid 0 only: the server answers others ``error`` ``permission_denied``."""

    OP = "cache_clear"
    RESPONSE = DoneResponse


Request: TypeAlias = (
    UserByName | UserByUid | UserList | GroupByName | GroupByGid | GroupList | Initgroups
    | SshKeys | PamAuthInit | PamAuthStep | PamAccount | PamSessionOpen | Status
    | CacheInvalidate | CacheClear
)

# Every op of docs/protocol.md's table, in its order.
REQUEST_TYPES: dict[str, type[Request]] = {
    cls.OP: cls
    for cls in (
        UserByName, UserByUid, UserList, GroupByName, GroupByGid, GroupList, Initgroups,
        SshKeys, PamAuthInit, PamAuthStep, PamAccount, PamSessionOpen, Status,
        CacheInvalidate, CacheClear,
    )
}


def parse_request(obj: Mapping[str, object]) -> Request:
    """The request a peer sent, checked.

    Errors: ``UnsupportedVersion``, ``UnknownOp``, ``InvalidField`` or ``InvalidLookupName``
    (all ``PeerProtocolError``).
    """
    version = obj.get("v")
    if isinstance(version, bool) or version != limits.PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"a request must carry \"v\": {limits.PROTOCOL_VERSION} (this is protocol version "
            f"{limits.PROTOCOL_VERSION})"
        )
    op = obj.get("op")
    if not isinstance(op, str):
        raise InvalidField("a request must carry \"op\" as a string")
    cls = REQUEST_TYPES.get(op)
    if cls is None:
        # The op is echoed only if it is short and tame: it goes into a log line.
        shown = repr(op) if re.fullmatch(r"[a-z_]{1,32}", op) else "that op"
        raise UnknownOp(f"unixd does not know {shown}")
    names = _data_fields(cls)
    _check_keys(obj, f"a {op} request", ("v", "op", *names), ())
    return cls(**{name: obj[name] for name in names})  # type: ignore[arg-type]


def parse_response(request: Request, obj: Mapping[str, object]) -> Response:
    """The response unixd sent to ``request``, checked.

    Errors: ``InvalidField`` (a ``PeerProtocolError``) when it breaks the protocol.
    """
    status = _check_choice(obj.get("status"), "status", ("ok", "notfound", "unavail", "error"))
    if status == "ok":
        return request.RESPONSE.from_json(obj)
    if status == "error":
        _check_keys(obj, "an error response", ("status", "error", "detail"), ())
        return ErrorResponse(error=obj["error"], detail=obj["detail"])  # type: ignore[arg-type]
    _check_keys(obj, f"a {status} response", ("status",), ())
    return NotFoundResponse() if status == "notfound" else UnavailResponse()


def decode_request(payload: bytes) -> Request:
    """A frame's payload as a request. Errors: any ``PeerProtocolError``."""
    return parse_request(decode_payload(payload))


def decode_response(request: Request, payload: bytes) -> Response:
    """A frame's payload as the response to ``request``. Errors: any ``PeerProtocolError``."""
    return parse_response(request, decode_payload(payload))


def encode_request(request: Request) -> bytes:
    """``request`` as one frame of the client socket."""
    return encode_frame(request.to_json(), limits.MAX_REQUEST_FRAME_BYTES)


def encode_response(response: Response) -> bytes:
    """``response`` as one frame of the client socket.

    Errors: ``ValueError`` if it would exceed ``MAX_RESPONSE_FRAME_BYTES`` (the caller answers
    with an error instead; a client would refuse the frame).
    """
    if isinstance(response, EncodedListResponse):
        payload = response.payload()
        if len(payload) > limits.MAX_RESPONSE_FRAME_BYTES:
            raise ValueError(f"a frame of {len(payload)} bytes is over the limit of "
                             f"{limits.MAX_RESPONSE_FRAME_BYTES}")
        return HEADER.pack(len(payload)) + payload
    return encode_frame(response.to_json(), limits.MAX_RESPONSE_FRAME_BYTES)
