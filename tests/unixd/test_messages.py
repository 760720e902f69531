"""The client socket's messages: golden bytes, every request and response, every limit and
every malformed input, and a client and server core back to back over split streams."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hermit_common.framing import FrameDecoder, PeerProtocolError
from idmd.errors import InvalidName
from unixd.proto import limits
from unixd.proto.errors import InvalidField, InvalidLookupName, UnknownOp, UnsupportedVersion
from unixd.proto.messages import (
    REQUEST_TYPES,
    CacheClear,
    CacheInvalidate,
    CodePrompt,
    DeniedPrompt,
    DoneResponse,
    EncodedListResponse,
    ErrorResponse,
    Group,
    GroupByGid,
    GroupByName,
    GroupList,
    GroupResponse,
    GroupsResponse,
    Initgroups,
    InitgroupsResponse,
    NotFoundResponse,
    PamAccount,
    PamAccountResponse,
    PamAuthInit,
    PamAuthInitResponse,
    PamAuthStep,
    PamAuthStepResponse,
    PamSessionOpen,
    Passwd,
    PasswordPrompt,
    Request,
    Response,
    SshKeys,
    SshKeysResponse,
    Status,
    StatusResponse,
    SuccessPrompt,
    TextPrompt,
    UnavailResponse,
    UnknownPrompt,
    UserByName,
    UserByUid,
    UserList,
    UserResponse,
    UsersResponse,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    parse_prompt,
    parse_request,
    parse_response,
    validate_lookup_name,
)

ALICE = Passwd(
    name="alice", uid=70001, gid=70001, gecos="Alice Liddell",
    dir="/home/alice@example.com", shell="/bin/bash",
)
STAFF = Group(name="staff", gid=70100, members=("alice", "bob"))
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm4 alice@laptop"

# One of every request, with the response it is answered with: the table of docs/protocol.md.
EXCHANGES: list[tuple[Request, Response]] = [
    (UserByName(name="alice"), UserResponse(user=ALICE)),
    (UserByUid(uid=70001), UserResponse(user=ALICE)),
    (UserList(), UsersResponse(users=(ALICE,))),
    (GroupByName(name="staff"), GroupResponse(group=STAFF)),
    (GroupByGid(gid=70100), GroupResponse(group=STAFF)),
    (GroupList(), GroupsResponse(groups=(STAFF,))),
    (Initgroups(name="alice"), InitgroupsResponse(gids=(70100, 70200))),
    (SshKeys(name="alice"), SshKeysResponse(keys=(KEY, KEY + "2"))),
    (
        PamAuthInit(name="alice", service="sshd"),
        PamAuthInitResponse(session="s-1_A", next=PasswordPrompt(prompt="Password: ")),
    ),
    (PamAuthStep(session="s-1_A", response="pw"), PamAuthStepResponse(next=CodePrompt("Code: "))),
    (PamAccount(name="alice"), PamAccountResponse(result="denied", reason="not in staff")),
    (PamSessionOpen(name="alice"), DoneResponse()),
    (Status(), StatusResponse(server="offline", cached_users=3, cached_groups=4,
                              local_identities="waiting")),
    (CacheInvalidate(), DoneResponse()),
    (CacheClear(), DoneResponse()),
]


def test_request_types__cover_every_op_of_the_protocol_table() -> None:
    assert [request.OP for request, _ in EXCHANGES] == list(REQUEST_TYPES)


# Golden bytes ---------------------------------------------------------------------------


def test_encode_request__golden_bytes() -> None:
    assert (
        encode_request(SshKeys(name="alice"))
        == b'\x00\x00\x00\x26{"v":1,"op":"ssh_keys","name":"alice"}'
    )


def test_encode_response__golden_bytes() -> None:
    assert (
        encode_response(SshKeysResponse(keys=("ssh-ed25519 AAAA a",)))
        == b'\x00\x00\x00\x2d{"status":"ok","keys":["ssh-ed25519 AAAA a"]}'
    )
    assert encode_response(NotFoundResponse()) == b'\x00\x00\x00\x15{"status":"notfound"}'


def test_encode_response__passwd_golden_json() -> None:
    payload = encode_response(UserResponse(user=ALICE))[4:]
    assert json.loads(payload) == {
        "status": "ok",
        "user": {
            "name": "alice", "passwd": "*", "uid": 70001, "gid": 70001,
            "gecos": "Alice Liddell", "dir": "/home/alice@example.com", "shell": "/bin/bash",
        },
    }


def test_encode_response__prompts_carry_echo_as_the_protocol_says() -> None:
    assert PasswordPrompt("P: ").to_json() == {"kind": "password", "prompt": "P: ", "echo": False}
    assert CodePrompt("C: ").to_json() == {"kind": "code", "prompt": "C: ", "echo": True}
    assert TextPrompt("hi").to_json() == {"kind": "text", "text": "hi"}
    assert SuccessPrompt().to_json() == {"kind": "success"}
    assert DeniedPrompt("no").to_json() == {"kind": "denied", "reason": "no"}
    assert UnknownPrompt().to_json() == {"kind": "unknown"}
    assert UnknownPrompt("a local account").to_json() == {"kind": "unknown",
                                                          "reason": "a local account"}


def test_parse_prompt__unknown_may_say_why_and_nothing_else() -> None:
    assert parse_prompt({"kind": "unknown"}) == UnknownPrompt()
    assert parse_prompt({"kind": "unknown", "reason": "local"}) == UnknownPrompt("local")
    with pytest.raises(InvalidField):
        parse_prompt({"kind": "unknown", "reason": 5})
    with pytest.raises(InvalidField):
        parse_prompt({"kind": "unknown", "reason": "two\nlines"})
    with pytest.raises(InvalidField):
        parse_prompt({"kind": "unknown", "why": "local"})


# Round trips: a client core and a server core back to back --------------------------------


@pytest.mark.parametrize(("request_", "response"), EXCHANGES, ids=lambda m: type(m).__name__)
def test_exchange__round_trips_through_frames(request_: Request, response: Response) -> None:
    server = FrameDecoder(limits.MAX_REQUEST_FRAME_BYTES)
    server.feed(encode_request(request_))
    frame = server.next_frame()
    assert isinstance(frame, bytes)
    assert decode_request(frame) == request_

    client = FrameDecoder(limits.MAX_RESPONSE_FRAME_BYTES)
    client.feed(encode_response(response))
    frame = client.next_frame()
    assert isinstance(frame, bytes)
    assert decode_response(request_, frame) == response


@pytest.mark.parametrize(
    "response",
    [NotFoundResponse(), UnavailResponse(), ErrorResponse(error="invalid_name", detail="x")],
)
def test_parse_response__status_other_than_ok(response: Response) -> None:
    assert parse_response(UserByName(name="a"), response.to_json()) == response


@pytest.mark.parametrize(
    "prompt",
    [PasswordPrompt("P"), CodePrompt("C"), TextPrompt("a\nb"), SuccessPrompt(),
     DeniedPrompt("r"), UnknownPrompt()],
)
def test_parse_prompt__round_trips_every_kind(prompt: object) -> None:
    assert parse_prompt(prompt.to_json()) == prompt  # type: ignore[attr-defined]


def test_pam_account_response__reason_is_optional() -> None:
    obj = {"status": "ok", "result": "allowed"}
    assert parse_response(PamAccount(name="a"), obj) == PamAccountResponse(result="allowed")
    assert PamAccountResponse(result="allowed").to_json() == obj


names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=":/,"),
    min_size=1, max_size=20,
).filter(lambda n: n not in (".", ".."))


@given(st.lists(names, max_size=6), st.data())
def test_decoder__any_split_of_a_request_stream_yields_the_same_requests(
    request_names: list[str], data: st.DataObject
) -> None:
    requests = [SshKeys(name=name) for name in request_names]
    stream = b"".join(encode_request(request) for request in requests)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder(limits.MAX_REQUEST_FRAME_BYTES)
    got: list[Request] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        if cut > start:
            decoder.feed(stream[start:cut])
            start = cut
        while isinstance(frame := decoder.next_frame(), bytes):
            got.append(decode_request(frame))
    assert got == requests


# Names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["alice", "alice@example.com", "Alice", "a", "x" * 256, "d8e4c7f2-0000-4000-8000-1"]
)
def test_validate_lookup_name__accepts_names_spns_and_uuids(name: str) -> None:
    assert validate_lookup_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "x" * 257, "a:b", "a/b", "a,b", "a b", "a\nb", "a\x00b", "a\tb", "a\x7fb", "é", ".", ".."],
    ids=repr,
)
def test_validate_lookup_name__refuses_what_no_account_can_be_named(name: str) -> None:
    with pytest.raises(InvalidLookupName) as caught:
        validate_lookup_name(name)
    assert caught.value.code == "invalid_name"


@pytest.mark.parametrize("raw", [None, 1, ["alice"]])
def test_validate_lookup_name__refuses_what_is_not_a_string(raw: object) -> None:
    with pytest.raises(InvalidLookupName, match="must be a string"):
        validate_lookup_name(raw)


def test_lookup_name_error__is_a_peer_protocol_error_not_idmds_invalid_name() -> None:
    # The server shell answers every PeerProtocolError with an error frame and closes.
    assert issubclass(InvalidLookupName, PeerProtocolError)
    assert not issubclass(InvalidLookupName, InvalidName)


# Malformed requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "error", "message"),
    [
        ({"op": "status"}, UnsupportedVersion, '"v": 1'),
        ({"v": 2, "op": "status"}, UnsupportedVersion, '"v": 1'),
        ({"v": True, "op": "status"}, UnsupportedVersion, '"v": 1'),
        ({"v": "1", "op": "status"}, UnsupportedVersion, '"v": 1'),
        ({"v": 1}, InvalidField, '"op"'),
        ({"v": 1, "op": 7}, InvalidField, '"op"'),
        ({"v": 1, "op": "frobnicate"}, UnknownOp, "'frobnicate'"),
        ({"v": 1, "op": "x\n" * 40}, UnknownOp, "that op"),
        ({"v": 1, "op": "status", "extra": 1}, InvalidField, "unknown field 'extra'"),
        ({"v": 1, "op": "user_by_name"}, InvalidField, "lacks the field 'name'"),
        ({"v": 1, "op": "user_by_name", "name": "a:b"}, InvalidLookupName, "'name'"),
        ({"v": 1, "op": "user_by_name", "name": 5}, InvalidLookupName, "string"),
        ({"v": 1, "op": "user_by_uid", "uid": "5"}, InvalidField, "integer"),
        ({"v": 1, "op": "user_by_uid", "uid": True}, InvalidField, "integer"),
        ({"v": 1, "op": "user_by_uid", "uid": 1.5}, InvalidField, "integer"),
        ({"v": 1, "op": "user_by_uid", "uid": -1}, InvalidField, "between"),
        ({"v": 1, "op": "user_by_uid", "uid": 2**32 - 1}, InvalidField, "between"),
        ({"v": 1, "op": "group_by_gid", "gid": 2**40}, InvalidField, "between"),
        ({"v": 1, "op": "pam_auth_init", "name": "a", "service": "../x"}, InvalidField, "'/ '"),
        ({"v": 1, "op": "pam_auth_init", "name": "a", "service": ""}, InvalidField, "empty"),
        ({"v": 1, "op": "pam_auth_step", "session": "", "response": ""}, InvalidField, "session"),
        ({"v": 1, "op": "pam_auth_step", "session": "a b", "response": ""}, InvalidField, "sess"),
        ({"v": 1, "op": "pam_auth_step", "session": "s", "response": 1}, InvalidField, "string"),
        ({"v": 1, "op": "pam_auth_step", "session": "s", "response": "a\x00"}, InvalidField, "NUL"),
        ({"v": 1, "op": "pam_auth_step", "session": "s", "response": "\ud800"}, InvalidField, "Un"),
    ],
    ids=repr,
)
def test_parse_request__refuses_malformed_input(
    obj: dict[str, object], error: type[PeerProtocolError], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        parse_request(obj)
    assert isinstance(caught.value, PeerProtocolError)


@pytest.mark.parametrize(
    ("payload", "error", "code"),
    [
        (b"not json", PeerProtocolError, "protocol_error"),
        (b"[]", PeerProtocolError, "protocol_error"),
        (b'{"v":1,"op":"x"}', UnknownOp, "unknown_op"),
    ],
)
def test_decode_request__malformed_payloads_carry_their_wire_code(
    payload: bytes, error: type[PeerProtocolError], code: str
) -> None:
    with pytest.raises(error) as caught:
        decode_request(payload)
    assert type(caught.value) is error
    assert caught.value.code == code


def test_pam_auth_step__repr_and_errors_never_show_the_response() -> None:
    step = PamAuthStep(session="s", response="hunter2hunter2")
    assert "hunter2" not in repr(step)
    with pytest.raises(InvalidField) as caught:
        PamAuthStep(session="s", response="hunter2" + "x" * limits.MAX_PAM_RESPONSE_BYTES)
    assert "hunter2" not in str(caught.value)


# Limits ---------------------------------------------------------------------------------


def test_limit__request_frame_is_refused_on_the_header() -> None:
    decoder = FrameDecoder(limits.MAX_REQUEST_FRAME_BYTES)
    with pytest.raises(PeerProtocolError, match="over the limit"):
        decoder.feed((limits.MAX_REQUEST_FRAME_BYTES + 1).to_bytes(4, "big"))


def test_limit__response_frame_is_refused_on_the_header() -> None:
    decoder = FrameDecoder(limits.MAX_RESPONSE_FRAME_BYTES)
    decoder.feed(limits.MAX_RESPONSE_FRAME_BYTES.to_bytes(4, "big"))  # exactly the limit: fine
    with pytest.raises(PeerProtocolError, match="over the limit"):
        FrameDecoder(limits.MAX_RESPONSE_FRAME_BYTES).feed(
            (limits.MAX_RESPONSE_FRAME_BYTES + 1).to_bytes(4, "big")
        )


def test_limit__encode_response_refuses_a_frame_no_client_would_read() -> None:
    big = Passwd(
        name="a", uid=1, gid=1, gecos="g" * limits.MAX_GECOS_BYTES, dir="/h", shell="/bin/sh"
    )
    count = limits.MAX_RESPONSE_FRAME_BYTES // limits.MAX_GECOS_BYTES + 1
    with pytest.raises(ValueError, match="over the limit"):
        encode_response(UsersResponse(users=(big,) * count))


def test_encoded_list_response__is_the_frame_of_the_list_response() -> None:
    users = EncodedListResponse.of("users", [ALICE, ALICE])
    assert encode_response(users) == encode_response(UsersResponse(users=(ALICE, ALICE)))
    assert parse_response(UserList(), users.to_json()) == UsersResponse(users=(ALICE, ALICE))
    groups = EncodedListResponse.of("groups", iter([STAFF]))
    assert encode_response(groups) == encode_response(GroupsResponse(groups=(STAFF,)))
    assert EncodedListResponse.of("groups", []).to_json() == {"status": "ok", "groups": []}


def test_limit__encode_response_refuses_an_encoded_list_no_client_would_read() -> None:
    big = Passwd(
        name="a", uid=1, gid=1, gecos="g" * limits.MAX_GECOS_BYTES, dir="/h", shell="/bin/sh"
    )
    count = limits.MAX_RESPONSE_FRAME_BYTES // limits.MAX_GECOS_BYTES + 1
    with pytest.raises(ValueError, match="over the limit"):
        encode_response(EncodedListResponse.of("users", [big] * count))


def test_limit__lookup_name_bytes() -> None:
    assert SshKeys(name="n" * limits.MAX_LOOKUP_NAME_BYTES)
    with pytest.raises(InvalidLookupName):
        SshKeys(name="n" * (limits.MAX_LOOKUP_NAME_BYTES + 1))


def test_limit__id_range_is_uid_t_without_minus_one() -> None:
    assert UserByUid(uid=0) and UserByUid(uid=limits.MAX_ID)
    assert limits.MAX_ID == 4294967294


def test_limit__pam_service_bytes() -> None:
    assert PamAuthInit(name="a", service="s" * limits.MAX_PAM_SERVICE_BYTES)
    with pytest.raises(InvalidField, match="at most"):
        PamAuthInit(name="a", service="s" * (limits.MAX_PAM_SERVICE_BYTES + 1))


def test_limit__pam_session_id_bytes() -> None:
    assert PamAuthStep(session="s" * limits.MAX_PAM_SESSION_ID_BYTES, response="")
    with pytest.raises(InvalidField, match="session"):
        PamAuthStep(session="s" * (limits.MAX_PAM_SESSION_ID_BYTES + 1), response="")


def test_limit__pam_response_bytes_counts_utf8() -> None:
    assert PamAuthStep(session="s", response="é" * (limits.MAX_PAM_RESPONSE_BYTES // 2))
    with pytest.raises(InvalidField, match="at most"):
        PamAuthStep(session="s", response="é" * (limits.MAX_PAM_RESPONSE_BYTES // 2 + 1))


def test_limit__pam_text_bytes() -> None:
    assert TextPrompt("t" * limits.MAX_PAM_TEXT_BYTES)
    with pytest.raises(InvalidField, match="at most"):
        TextPrompt("t" * (limits.MAX_PAM_TEXT_BYTES + 1))


def test_limit__ssh_keys_count_and_length() -> None:
    assert SshKeysResponse(keys=("k",) * limits.MAX_SSH_KEYS)
    with pytest.raises(InvalidField, match="at most"):
        SshKeysResponse(keys=("k",) * (limits.MAX_SSH_KEYS + 1))
    assert SshKeysResponse(keys=("k" * limits.MAX_SSH_KEY_BYTES,))
    with pytest.raises(InvalidField, match="at most"):
        SshKeysResponse(keys=("k" * (limits.MAX_SSH_KEY_BYTES + 1),))


def test_limit__gecos_and_path_bytes() -> None:
    with pytest.raises(InvalidField, match="'gecos' may have at most"):
        Passwd(name="a", uid=1, gid=1, gecos="g" * (limits.MAX_GECOS_BYTES + 1), dir="/", shell="/")
    with pytest.raises(InvalidField, match="'dir' may have at most"):
        Passwd(name="a", uid=1, gid=1, gecos="", dir="/" * (limits.MAX_PATH_BYTES + 1), shell="/")


def test_error_response__from_exception_is_one_bounded_line() -> None:
    response = ErrorResponse.from_exception(InvalidField("bad\nthing" + "é" * 2000))
    assert response.error == "invalid_request"
    assert "\n" not in response.detail
    assert len(response.detail.encode()) <= limits.MAX_ERROR_DETAIL_BYTES


# Responses unixd could build by mistake, or a broken server could send ----------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SshKeysResponse(keys=("ssh-ed25519 AAAA\nssh-rsa BBBB",)), "control"),
        (lambda: SshKeysResponse(keys=("ssh-ed25519 AAAA\r",)), "control"),
        (lambda: SshKeysResponse(keys=("",)), "empty"),
        (lambda: Passwd(name="a", uid=1, gid=1, gecos="x:y", dir="/h", shell="/s"), "':'"),
        (lambda: Passwd(name="a", uid=1, gid=1, gecos="x\ny", dir="/h", shell="/s"), "control"),
        (lambda: Passwd(name="a", uid=1, gid=1, gecos="", dir="home", shell="/s"), "absolute"),
        (lambda: Passwd(name="a", uid=1, gid=1, gecos="", dir="/h:x", shell="/s"), "':'"),
        (lambda: Passwd(name="a:b", uid=1, gid=1, gecos="", dir="/h", shell="/s"), "'name'"),
        (lambda: Group(name="g", gid=1, members=("a,b",)), "'members'"),
        (lambda: InitgroupsResponse(gids=(-1,)), "between"),
        (lambda: PamAccountResponse(result="maybe"), "one of"),  # type: ignore[arg-type]
        (lambda: StatusResponse(server="up", cached_users=0, cached_groups=0,  # type: ignore[arg-type]
                                local_identities="received"), "one of"),
        (lambda: StatusResponse(server="online", cached_users=-1, cached_groups=0,
                                local_identities="received"), "non-neg"),
        (lambda: StatusResponse(server="online", cached_users=0, cached_groups=0,  # type: ignore[arg-type]
                                local_identities="maybe"), "one of"),
        (lambda: ErrorResponse(error="Bad Code", detail=""), "code"),
        (lambda: PamAuthInitResponse(session="a/b", next=SuccessPrompt()), "session"),
    ],
)
def test_response__refuses_values_that_break_the_protocol(build: object, message: str) -> None:
    # A name or member name is refused by the name check, with its own class.
    error = InvalidLookupName if message in ("'name'", "'members'") else InvalidField
    with pytest.raises(error, match=message) as caught:
        build()  # type: ignore[operator]
    assert type(caught.value) is error


@pytest.mark.parametrize(
    "obj",
    [
        {"status": "maybe"},
        {},
        {"status": "ok"},
        {"status": "ok", "keys": "ssh-ed25519 AAAA"},
        {"status": "ok", "keys": ["a"], "extra": 1},
        {"status": "notfound", "keys": []},
        {"status": "error", "error": "x"},
    ],
    ids=repr,
)
def test_parse_response__refuses_malformed_ssh_keys_responses(obj: dict[str, object]) -> None:
    with pytest.raises(InvalidField):
        parse_response(SshKeys(name="a"), obj)


@pytest.mark.parametrize(
    "obj",
    [
        {"kind": "password", "prompt": "P"},
        {"kind": "password", "prompt": "P", "echo": True},
        {"kind": "code", "prompt": "C", "echo": False},
        {"kind": "text"},
        {"kind": "success", "extra": 1},
        {"kind": "denied"},
        {"kind": "other"},
        [],
    ],
    ids=repr,
)
def test_parse_prompt__refuses_malformed_prompts(obj: object) -> None:
    with pytest.raises(InvalidField):
        parse_prompt(obj)


@pytest.mark.parametrize(
    "user",
    [
        {"name": "a", "uid": 1, "gid": 1, "gecos": "", "dir": "/h", "shell": "/s"},
        {"name": "a", "passwd": "x", "uid": 1, "gid": 1, "gecos": "", "dir": "/h", "shell": "/s"},
        {"name": "a", "passwd": "*", "uid": 1, "gid": 1, "gecos": "", "dir": "/h", "shell": "/s",
         "pw": 1},
        "alice",
    ],
    ids=repr,
)
def test_parse_response__refuses_malformed_passwd(user: object) -> None:
    with pytest.raises(InvalidField):
        parse_response(UserByName(name="a"), {"status": "ok", "user": user})


def test_group__members_must_be_a_tuple_our_own_bug() -> None:
    with pytest.raises(TypeError):
        Group(name="g", gid=1, members=["a"])  # type: ignore[arg-type]
