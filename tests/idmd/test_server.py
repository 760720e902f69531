"""QueryServer transactions: atomicity, durability across reopen, one writer, the cache."""

from __future__ import annotations

import pytest

from hermit_common.clock import FakeClock
from idmd.errors import Conflict, InvalidAttribute, NotFound, SchemaViolation, Unavailable
from idmd.filter import eq
from idmd.server import QueryServer, WriteInProgress
from idmd.server.builtin import UUID_ANONYMOUS, UUID_SYSTEM_CONFIG, builtin_entries
from idmd.server.identity import INTERNAL
from idmd.server.mods import Add, Remove, Set
from tests.idmd.entries import DOMAIN, make_group, make_person


class Boom(Exception):
    pass


def test_open__seeds_every_builtin_entry(qs: QueryServer) -> None:
    with qs.read() as txn:
        for attrs in builtin_entries():
            entry = txn.get(attrs["uuid"][0])
            assert entry is not None and entry.first("name") == attrs["name"][0]
        anonymous = txn.resolve("anonymous")
        assert anonymous is not None and anonymous.uuid == UUID_ANONYMOUS


def test_write__rollback_on_error_leaves_nothing(qs: QueryServer) -> None:
    with pytest.raises(Boom), qs.write() as txn:
        alice = make_person(txn, "alice")
        make_group(txn, "staff", (alice,))
        raise Boom
    with qs.read() as txn:
        assert txn.resolve("alice") is None
        assert txn.resolve("staff") is None
        assert txn.internal_search(eq("class", "person")) == []


def test_write__a_refused_operation_is_undone_alone(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        with pytest.raises(SchemaViolation):
            txn.modify(INTERNAL, alice.uuid, [Add("mail", "a@example.com"),
                                              Add("displayname", "Second")])
        with pytest.raises(Conflict):
            make_person(txn, "alice")
        make_person(txn, "bob")
    with qs.read() as txn:
        after = txn.resolve("alice")
        assert after is not None and after.get("mail") == frozenset()
        assert txn.resolve("bob") is not None


def test_write__second_concurrent_write_refused(qs: QueryServer) -> None:
    with qs.write(), pytest.raises(WriteInProgress), qs.write():
        pass
    with qs.write() as txn:  # and the writer is free again afterwards
        make_person(txn, "alice")


def test_read__sees_only_committed_while_a_write_is_open(qs: QueryServer) -> None:
    with qs.write() as txn:
        make_person(txn, "alice")
        with qs.read() as reader:
            assert reader.resolve("alice") is None
        assert txn.resolve("alice") is not None
    with qs.read() as reader:
        assert reader.resolve("alice") is not None


def test_cache__coherent_after_rollback(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
    with qs.read() as txn:
        assert txn.get(alice.uuid) is not None  # now cached
    with pytest.raises(Boom), qs.write() as txn:
        txn.modify(INTERNAL, alice.uuid, [Set("displayname", frozenset({"Changed"}))])
        raise Boom
    with qs.read() as txn:
        again = txn.get(alice.uuid)
        assert again is not None and again.get("displayname") == {"Alice"}


def test_reopen__persists_entries_indexes_and_meta(db_path: str) -> None:
    qs = QueryServer(db_path, domain=DOMAIN, clock=FakeClock())
    with qs.write() as txn:
        alice = make_person(txn, "alice", **{"class": ["person", "posix_account"]})
        make_group(txn, "staff", (alice,))
        txn.set_meta("signing_key", b"\x00key")
    qs.close()
    qs = QueryServer(db_path, domain=DOMAIN, clock=FakeClock())
    try:
        with qs.read() as txn:
            again = txn.resolve("alice@example.com")
            assert again is not None and again.uuid == alice.uuid
            assert txn.resolve(alice.first("gidnumber") or "") == again
            assert txn.get_meta("signing_key") == b"\x00key"
            assert txn.get_meta("absent") is None
            staff = txn.resolve("STAFF")
            assert staff is not None and staff.uuid in again.get("memberof")
        assert qs.verify() == []
    finally:
        qs.close()


def test_open__a_second_server_on_the_file_is_refused(qs: QueryServer, db_path: str) -> None:
    with pytest.raises(Unavailable):
        QueryServer(db_path, domain=DOMAIN, clock=FakeClock())


def test_modify__unchanged_reports_false(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice")
        after, changed = txn.modify(INTERNAL, alice.uuid, [Add("displayname", "Alice"),
                                                           Remove("mail", "x@example.com")])
        assert not changed and after == alice


def test_modify__missing_entry_and_unknown_attribute(qs: QueryServer) -> None:
    with qs.write() as txn:
        with pytest.raises(NotFound):
            txn.modify(INTERNAL, "11111111-2222-3333-4444-555555555555", [])
        alice = make_person(txn, "alice")
        with pytest.raises(InvalidAttribute):
            txn.modify(INTERNAL, alice.uuid, [Add("shoe_size", "44")])


def test_resolve__by_name_spn_uuid_and_gid(qs: QueryServer) -> None:
    with qs.write() as txn:
        alice = make_person(txn, "alice", **{"class": ["person", "posix_account"]})
    with qs.read() as txn:
        for text in ("Alice", "alice@example.com", alice.uuid.upper(), alice.first("gidnumber")):
            assert txn.resolve(text or "") == alice
        assert txn.resolve("nobody-here") is None


@pytest.mark.parametrize("text", ["a\x00b", "alice\x00", "\udcff", "ali\udbd4"])
def test_read__unstorable_lookup_values_find_nothing(qs: QueryServer, text: str) -> None:
    with qs.write() as txn:
        make_person(txn, "alice")
    with qs.read() as txn:
        assert txn.resolve(text) is None
        assert txn.internal_search(eq("name", text)) == []
        assert [e.first("name") for e in txn.internal_search(eq("name", "alice"))] == ["alice"]


def test_open__creates_builtin_entries_an_older_database_lacks(
    db_path: str, clock: FakeClock
) -> None:
    first = QueryServer(db_path, domain=DOMAIN, clock=clock)
    try:
        # An older hermit's database: the system_config entry did not exist yet.
        be = first._backend.begin_write()
        assert be is not None
        with first.read() as txn:
            old = txn.get(UUID_SYSTEM_CONFIG)
        assert old is not None
        with be.operation():
            be.stage(old.id, old, None)
        be.commit()
        assert any("system_config is missing" in p for p in first.verify())
    finally:
        first.close()
    reopened = QueryServer(db_path, domain=DOMAIN, clock=clock)
    try:
        with reopened.read() as txn:
            assert txn.get(UUID_SYSTEM_CONFIG) is not None
        assert reopened.verify() == []
    finally:
        reopened.close()
