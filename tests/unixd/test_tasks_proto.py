"""The task socket's messages (unixd.proto.tasks): golden bytes, each side's encoder against
the other side's parser, every limit and the refusals each side gives."""

from __future__ import annotations

import pytest

from unixd.proto import limits
from unixd.proto import tasks as t
from unixd.proto.errors import InvalidField, InvalidLookupName, UnknownOp, UnsupportedVersion
from unixd.resolver.tasklink import TaskLink

HOME = t.HomeCreate(name="alice", uid=1500, gid=1500, home="/home/u", alias="/home/alice",
                    old_aliases=("/home/old",), use_etc_skel=True)
UPDATE = t.LocalIdentitiesUpdate(passwd=({"name": "root", "uid": 0},),
                                 group=({"name": "root", "gid": 0},))


def test_encode__golden_bytes() -> None:
    assert t.encode(t.Response(7, ok=True)) == b'\x00\x00\x00\x16{"re":7,"status":"ok"}'
    assert t.encode(t.Request(1, t.LocalIdentitiesUpdate(passwd=(), group=()))) == (
        b'\x00\x00\x00\x3d{"v":1,"id":1,"op":"local_identities","passwd":[],"group":[]}')


def test_request__home_create_from_unixd_parses_on_the_tasks_side() -> None:
    wire = t.Request(8, HOME).to_json()
    assert wire == {"v": 1, "id": 8, "op": "home_create", "name": "alice", "uid": 1500,
                    "gid": 1500, "home": "/home/u", "alias": "/home/alice",
                    "old_aliases": ["/home/old"], "use_etc_skel": True}
    assert t.parse_request(wire, t.HomeCreate) == (8, HOME)
    assert t.request_id_of(wire) == 8


def test_request__local_identities_from_the_tasks_side_parse_in_unixd() -> None:
    wire = t.Request(3, UPDATE).to_json()
    assert t.parse_request(wire, t.LocalIdentitiesUpdate) == (3, UPDATE)


def test_parse_request__each_side_refuses_the_other_sides_op() -> None:
    with pytest.raises(UnknownOp, match="hermit-unixd-tasks answers only home_create"):
        t.parse_request(t.Request(1, UPDATE).to_json(), t.HomeCreate)
    with pytest.raises(UnknownOp, match="the task socket answers only local_identities"):
        t.parse_request(t.Request(1, HOME).to_json(), t.LocalIdentitiesUpdate)


def test_parse_request__checks_version_then_id_then_op() -> None:
    wire = t.Request(1, UPDATE).to_json()
    with pytest.raises(UnsupportedVersion, match='must carry "v": 1'):
        t.parse_request({**wire, "v": 2, "id": "x", "op": "x"}, t.LocalIdentitiesUpdate)
    with pytest.raises(InvalidField, match="field 'id'"):
        t.parse_request({**wire, "id": "x", "op": "x"}, t.LocalIdentitiesUpdate)
    with pytest.raises(UnknownOp):
        t.parse_request({**wire, "op": "x"}, t.LocalIdentitiesUpdate)


@pytest.mark.parametrize("request_id", [-1, t.MAX_REQUEST_ID + 1, True, 1.0, "1", None])
def test_request_id_of__refuses_what_is_not_an_id(request_id: object) -> None:
    with pytest.raises(InvalidField, match="between 0 and 9007199254740991"):
        t.request_id_of({"id": request_id})


def test_request_id_of__the_bounds_are_ids() -> None:
    assert t.request_id_of({"id": 0}) == 0
    assert t.request_id_of({"re": t.MAX_REQUEST_ID}, "re") == t.MAX_REQUEST_ID


def test_local_identities__a_shadow_field_is_refused() -> None:
    wire = {**t.Request(1, UPDATE).to_json(), "shadow": [{"name": "root", "hash": "$6$x"}]}
    with pytest.raises(InvalidField, match="local_identities has an unknown field 'shadow'"):
        t.parse_request(wire, t.LocalIdentitiesUpdate)


def test_local_identities__records_that_are_not_objects_are_dropped() -> None:
    update = t.parse_op({"passwd": [{"name": "a"}, "b", 3], "group": []},
                        t.LocalIdentitiesUpdate)
    assert update.passwd == ({"name": "a"},)
    with pytest.raises(InvalidField, match="needs 'group' as a list"):
        t.parse_op({"passwd": []}, t.LocalIdentitiesUpdate)


def test_home_create__old_aliases_limit() -> None:
    t.HomeCreate(**{**vars(HOME), "old_aliases": ("/h/x",) * t.MAX_OLD_ALIASES})
    with pytest.raises(InvalidField, match="at most 64"):
        t.HomeCreate(**{**vars(HOME), "old_aliases": ("/h/x",) * (t.MAX_OLD_ALIASES + 1)})


def test_home_create__is_checked_when_built_by_unixd_too() -> None:
    with pytest.raises(InvalidLookupName):
        t.HomeCreate(**{**vars(HOME), "name": "a:b"})
    with pytest.raises(InvalidField, match="'uid' must be an integer"):
        t.HomeCreate(**{**vars(HOME), "uid": True})


def test_home_create__first_missing_field_in_protocol_order() -> None:
    wire = t.Request(1, HOME).to_json()
    del wire["gid"], wire["name"]
    with pytest.raises(InvalidField, match="home_create lacks the field 'name'"):
        t.parse_home_create(wire)


def test_response__ok_and_error_both_ways() -> None:
    assert t.Response.from_json({"re": 4, "status": "ok"}) == t.Response(4, ok=True)
    error = t.Response.error(4, "disk full")
    assert error.to_json() == {"re": 4, "status": "error", "detail": "disk full"}
    assert t.Response.from_json(error.to_json()) == error
    # Any other status is an error; a detail that is not text is none.
    assert t.Response.from_json({"re": 4, "status": "?", "detail": 5}) == t.Response(4, ok=False)


def test_response__error_detail_is_cut_to_its_limit() -> None:
    error = t.Response.error(1, "x" * (limits.MAX_ERROR_DETAIL_BYTES + 10))
    assert error.detail == "x" * limits.MAX_ERROR_DETAIL_BYTES


def test_encode__a_frame_over_the_task_limit_is_our_bug() -> None:
    big = t.LocalIdentitiesUpdate(passwd=({"name": "x" * limits.MAX_TASK_FRAME_BYTES},), group=())
    with pytest.raises(ValueError, match="over the limit"):
        t.encode(t.Request(1, big))


async def test_task_link__a_response_naming_no_request_is_ignored() -> None:
    link = TaskLink()
    for frame in ({"re": "x", "status": "ok"}, {"re": -1}, {"re": 5, "status": "ok"}):
        assert await link.on_frame(frame) is None
