"""memberof and directmemberof: nesting, cycles, removal and deletion update every affected
entry (the qs fixture's verify() then checks them against the member graph)."""

from __future__ import annotations

from idmd.entry import Entry
from idmd.server import QueryServer
from idmd.server.identity import INTERNAL
from idmd.server.mods import Add, Remove
from tests.idmd.entries import make_group, make_person


def _get(qs: QueryServer, name: str) -> Entry:
    with qs.read() as txn:
        entry = txn.resolve(name)
        assert entry is not None
        return entry


def test_memberof__nested_groups(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        inner = make_group(txn, "inner", (alice,))
        outer = make_group(txn, "outer", (inner,))
    alice = _get(qs, "alice")
    assert alice.get("directmemberof") == {inner.uuid}
    assert alice.get("memberof") == {inner.uuid, outer.uuid}
    assert _get(qs, "inner").get("memberof") == {outer.uuid}
    assert _get(qs, "outer").get("memberof") == frozenset()


def test_memberof__adding_a_group_to_a_parent_reaches_its_members(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        inner = make_group(txn, "inner", (alice,))
        outer = make_group(txn, "outer")
        txn.modify(INTERNAL, outer.uuid, [Add("member", inner.uuid)])
    assert _get(qs, "alice").get("memberof") == {inner.uuid, outer.uuid}


def test_memberof__cycle(qs: QueryServer) -> None:
    with qs.write() as txn:
        a = make_group(txn, "a")
        b = make_group(txn, "b", (a,))
        c = make_group(txn, "c", (b,))
        txn.modify(INTERNAL, a.uuid, [Add("member", c.uuid)])  # A in B in C in A
        bob = make_person(txn, "bob")
        txn.modify(INTERNAL, a.uuid, [Add("member", bob.uuid)])
    assert _get(qs, "a").get("memberof") == {b.uuid, c.uuid}
    assert _get(qs, "b").get("memberof") == {a.uuid, c.uuid}
    assert _get(qs, "c").get("memberof") == {a.uuid, b.uuid}
    assert _get(qs, "bob").get("memberof") == {a.uuid, b.uuid, c.uuid}


def test_memberof__removing_a_member_updates_nested(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        inner = make_group(txn, "inner", (alice,))
        outer = make_group(txn, "outer", (inner,))
        top = make_group(txn, "top", (outer,))
    with qs.write() as txn:
        txn.modify(INTERNAL, outer.uuid, [Remove("member", inner.uuid)])
    assert _get(qs, "alice").get("memberof") == {inner.uuid}
    assert _get(qs, "inner").get("memberof") == frozenset()
    assert _get(qs, "outer").get("memberof") == {top.uuid}


def test_memberof__breaking_a_cycle(qs: QueryServer) -> None:
    with qs.write() as txn:
        a = make_group(txn, "a")
        b = make_group(txn, "b", (a,))
        txn.modify(INTERNAL, a.uuid, [Add("member", b.uuid)])
    with qs.write() as txn:
        txn.modify(INTERNAL, a.uuid, [Remove("member", b.uuid)])
    assert _get(qs, "a").get("memberof") == {b.uuid}
    assert _get(qs, "b").get("memberof") == frozenset()


def test_memberof__deleting_a_middle_group(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        inner = make_group(txn, "inner", (alice,))
        outer = make_group(txn, "outer", (inner,))
    with qs.write() as txn:
        assert txn.delete(INTERNAL, inner.uuid)
    assert _get(qs, "alice").get("memberof") == frozenset()
    assert _get(qs, "outer").get("member") == frozenset()
    assert outer.uuid not in _get(qs, "alice").get("memberof")


def test_memberof__only_affected_entries_are_rewritten(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        bystander = make_person(txn, "carol")
        staff = make_group(txn, "staff", (bystander,))
        _, changed = txn.modify(INTERNAL, staff.uuid, [Add("member", alice.uuid)])
        assert changed
        # The bystander's stored entry is the very object staged when it joined: untouched.
        before = txn.resolve("carol")
        txn.modify(INTERNAL, staff.uuid, [Remove("member", alice.uuid)])
        assert txn.resolve("carol") is before
