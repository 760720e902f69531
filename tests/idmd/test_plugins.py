"""The plugins, one invariant each: base, names, gidnumber, uniqueness, referential integrity
and builtin protection (memberof has its own file)."""

from __future__ import annotations

import pytest

from hermit_common.errors import InvalidRequest, InvalidValue
from idmd.errors import AccessDenied, Conflict, InvalidName, ReservedGid
from idmd.names import ALLOC_RANGE
from idmd.server import QueryServer
from idmd.server.builtin import UUID_ADMIN, UUID_SYSTEM_ADMINS
from idmd.server.identity import INTERNAL
from idmd.server.mods import Add, Purge, Set
from tests.idmd.entries import make_group, make_person


def test_base__assigns_uuid_classes_and_spn(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "Alice")
    assert alice.get("class") == {"object", "account", "person"}
    assert alice.get("spn") == {"alice@example.com"}
    assert len(alice.uuid) == 36


def test_base__rename_recomputes_spn(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        after, changed = txn.modify(INTERNAL, alice.uuid, [Set("name", frozenset({"alyx"}))])
    assert changed
    assert after.get("spn") == {"alyx@example.com"}


@pytest.mark.parametrize("attr", ["spn", "memberof", "directmemberof"])
def test_base__computed_attributes_cannot_be_written(qs: QueryServer, attr: str) -> None:
    with qs.write() as txn:
        group = make_group(txn, "staff")
        alice = make_person(txn, "alice")
        value = "x@example.com" if attr == "spn" else group.uuid
        with pytest.raises(InvalidRequest):
            txn.modify(INTERNAL, alice.uuid, [Add(attr, value)])
        with pytest.raises(InvalidRequest):
            make_person(txn, "bob", **{attr: [value]})


def test_base__uuid_never_changes(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        with pytest.raises(InvalidRequest):
            txn.modify(INTERNAL, alice.uuid, [Set("uuid", frozenset({UUID_ADMIN[:-2] + "99"}))])


@pytest.mark.parametrize("name", ["root", "nobody", "systemd-x", "12345"])
def test_names__reserved_and_numeric_names_are_refused(qs: QueryServer, name: str) -> None:
    with qs.write() as txn, pytest.raises((InvalidName, InvalidValue)):
        make_person(txn, name)


def test_names__rename_to_reserved_refused(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        with pytest.raises(InvalidName):
            txn.modify(INTERNAL, alice.uuid, [Set("name", frozenset({"root"}))])


@pytest.mark.parametrize(
    ("attr", "first", "second"),
    [
        ("name", "alice", "ALICE"),
        ("mail", "a@example.com", "a@EXAMPLE.com"),
        ("gidnumber", "70000", "070000"),
    ],
)
def test_uniqueness__refuses_a_taken_value(
    qs: QueryServer, attr: str, first: str, second: str
) -> None:
    extra = {"class": ["person", "posix_account"]} if attr == "gidnumber" else {}
    with qs.write() as txn:
        a = {"name": ["alice"], attr: [first], **extra}
        txn.create(INTERNAL, {"class": ["person"], "displayname": ["A"], **a})
        b = {"name": ["bob"], attr: [second], **extra}
        with pytest.raises(Conflict):
            txn.create(INTERNAL, {"class": ["person"], "displayname": ["B"], **b})


def test_uniqueness__group_gid_may_not_equal_an_account_gid(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice", **{"class": ["person", "posix_account"]})
        with pytest.raises(Conflict):
            make_group(txn, "staff", **{"class": ["group", "posix_group"],
                                        "gidnumber": list(alice.get("gidnumber"))})


def test_gidnumber__allocated_from_the_range_skipping_a_manual_one(qs: QueryServer) -> None:
    low = ALLOC_RANGE[0]
    with qs.write() as txn:
        manual = make_person(txn, "manual", **{"class": ["person", "posix_account"],
                                               "gidnumber": [str(low + 1)]})
        a = make_person(txn, "alice", **{"class": ["person", "posix_account"]})
        b = make_person(txn, "bob", **{"class": ["person", "posix_account"]})
        g = make_group(txn, "staff", **{"class": ["group", "posix_group"]})
    gids = [e.first("gidnumber") for e in (manual, a, b, g)]
    assert gids == [str(low + 1), str(low), str(low + 2), str(low + 3)]


def test_gidnumber__enabling_posix_on_modify_allocates(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        after, _ = txn.modify(INTERNAL, alice.uuid, [Add("class", "posix_account")])
    assert after.first("gidnumber") == str(ALLOC_RANGE[0])
    # The change is stored, not only returned.
    with qs.read() as txn:
        stored = txn.get(alice.uuid)
        assert stored is not None and stored.first("gidnumber") == str(ALLOC_RANGE[0])


@pytest.mark.parametrize("gid", ["0", "999", "65534", "60001", "2147483648"])
def test_gidnumber__reserved_manual_gid_refused(qs: QueryServer, gid: str) -> None:
    with qs.write() as txn, pytest.raises(ReservedGid):
        make_person(txn, "alice", **{"class": ["person", "posix_account"], "gidnumber": [gid]})


def test_refint__reference_must_exist(qs: QueryServer) -> None:
    with qs.write() as txn:
        group = make_group(txn, "staff")
        with pytest.raises(InvalidValue):
            txn.modify(INTERNAL, group.uuid,
                       [Add("member", "11111111-2222-3333-4444-555555555555")])


def test_refint__delete_removes_references(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        owners = make_group(txn, "owners", (alice,))
        robot = txn.create(INTERNAL, {"class": ["service_account"], "name": ["robot"],
                                      "displayname": ["Robot"], "managed_by": [owners.uuid]})
    with qs.write() as txn:
        assert txn.delete(INTERNAL, owners.uuid)
        assert txn.delete(INTERNAL, owners.uuid) is False
        robot_after = txn.get(robot.uuid)
        assert robot_after is not None and robot_after.get("managed_by") == frozenset()
        assert txn.delete(INTERNAL, alice.uuid)


def test_refint__deleting_a_sole_profile_receiver_is_refused(qs: QueryServer) -> None:
    from idmd.errors import SchemaViolation

    with qs.write() as txn:
        group = make_group(txn, "helpdesk")
        txn.create(INTERNAL, {"class": ["access_control_profile"], "name": ["acp_helpdesk"],
                              "acp_receiver": [group.uuid],
                              "acp_target": ['{"eq": ["class", "person"]}']})
        with pytest.raises(SchemaViolation):
            txn.delete(INTERNAL, group.uuid)
        assert txn.get(group.uuid) is not None


def test_builtin__cannot_be_deleted_or_renamed(qs: QueryServer) -> None:
    with qs.write() as txn:
        with pytest.raises(AccessDenied):
            txn.delete(INTERNAL, UUID_ADMIN)
        with pytest.raises(AccessDenied):
            txn.modify(INTERNAL, UUID_ADMIN, [Set("name", frozenset({"boss"}))])
        with pytest.raises(AccessDenied):
            txn.modify(INTERNAL, UUID_SYSTEM_ADMINS, [Purge("name")])
    with qs.read() as r:
        assert r.resolve("admin") is not None
