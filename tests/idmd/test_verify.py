"""verify() can fail: each kind of corruption, made through the kv layer, is reported."""

from __future__ import annotations

from idmd.be.backend import eq_prefix, id_key
from idmd.entry import encode_attrs
from idmd.server import QueryServer
from tests.idmd.entries import make_group, make_person


def _raw_write(qs: QueryServer, ns: str, key: bytes, value: bytes | None) -> None:
    """Write around every plugin and index, as a bug or a stray tool would."""
    with qs.write() as txn:
        conn = txn._be.conn
        if value is None:
            conn.delete(ns, key)
        else:
            conn.put(ns, key, value)


def test_verify__reports_a_corrupt_index_row(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
    _raw_write(qs, "eq", eq_prefix("name", "alice") + id_key(alice.id), None)
    _raw_write(qs, "eq", eq_prefix("name", "mallory") + id_key(alice.id), b"")
    problems = qs.verify()
    assert any("missing row name/alice" in p for p in problems)
    assert any("stray row name/mallory" in p for p in problems)
    _raw_write(qs, "eq", eq_prefix("name", "alice") + id_key(alice.id), b"")
    _raw_write(qs, "eq", eq_prefix("name", "mallory") + id_key(alice.id), None)
    assert qs.verify() == []


def test_verify__reports_broken_memberof_and_references(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        staff = make_group(txn, "staff", (alice,))
    attrs = {a: set(v) for a, v in staff.attrs.items()}
    attrs["member"] = {"11111111-2222-3333-4444-555555555555"}
    _raw_write(qs, "entry", id_key(staff.id), encode_attrs(attrs))
    problems = qs.verify()
    assert any("member 11111111-2222-3333-4444-555555555555 names no entry" in p
               for p in problems)
    assert any("memberof differs" in p for p in problems)
    assert any("the cache differs" in p for p in problems)
    assert any("stray row member" in p for p in problems)
    _raw_write(qs, "entry", id_key(staff.id), encode_attrs(staff.attrs))


def test_verify__reports_duplicates_and_schema_violations(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        bob = make_person(txn, "bob")
    attrs = {a: set(v) for a, v in bob.attrs.items()}
    attrs["name"] = {"alice"}
    attrs.pop("displayname")
    _raw_write(qs, "entry", id_key(bob.id), encode_attrs(attrs))
    problems = qs.verify()
    assert any("name 'alice' is held by entries" in p for p in problems)
    # Both holders are named (this test once ended by asserting that two fresh entries' ids
    # differ, which cannot fail).
    assert f"name 'alice' is held by entries {sorted([alice.id, bob.id])}" in problems
    assert any("requires displayname" in p for p in problems)
    assert any("spn is not name@example.com" in p for p in problems)
    _raw_write(qs, "entry", id_key(bob.id), encode_attrs(bob.attrs))
    assert qs.verify() == []
