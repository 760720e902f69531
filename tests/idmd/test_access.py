"""Access decisions: the builtin profiles over a real QueryServer, and the pure functions."""

from __future__ import annotations

import pytest

from idmd.access import AccessProfile, Actor, applicable, check_modify, readable_attrs
from idmd.entry import Entry, freeze_attrs
from idmd.errors import AccessDenied, ReadOnlySession
from idmd.filter import and_, eq, parse_filter
from idmd.server import QueryServer
from idmd.server.builtin import (
    UUID_ADMIN,
    UUID_ANONYMOUS,
    UUID_IDM_ADMIN,
    UUID_SYSTEM_ADMINS,
)
from idmd.server.identity import INTERNAL, account_identity
from idmd.server.mods import Add, Set
from tests.idmd.entries import make_group, make_person

KEY = "laptop:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8 alice@laptop"
ANON = account_identity(UUID_ANONYMOUS, read_only=True)
IDM_ADMIN = account_identity(UUID_IDM_ADMIN, read_only=False)
ADMIN = account_identity(UUID_ADMIN, read_only=False)


@pytest.fixture
def pair(qs: QueryServer) -> tuple[Entry, Entry]:
    with qs.write() as txn:
        alice = make_person(txn, "alice", password=["$argon2id$v=19$x"])
        bob = make_person(txn, "bob")
    return alice, bob


def test_self__may_modify_own_ssh_key_not_anothers(
    qs: QueryServer, pair: tuple[Entry, Entry]
) -> None:
    alice, bob = pair
    me = account_identity(alice.uuid, read_only=False)
    with qs.write() as txn:
        after, changed = txn.modify(me, alice.uuid, [Add("ssh_publickey", KEY)])
        assert changed and after.get("ssh_publickey") == {KEY}
        with pytest.raises(AccessDenied):
            txn.modify(me, bob.uuid, [Add("ssh_publickey", KEY)])
        with pytest.raises(AccessDenied):
            txn.modify(me, alice.uuid, [Set("displayname", frozenset({"Queen"}))])


def test_read_only_identity__refused_every_write(
    qs: QueryServer, pair: tuple[Entry, Entry]
) -> None:
    alice, _ = pair
    me = account_identity(alice.uuid, read_only=True)
    with qs.write() as txn:
        with pytest.raises(ReadOnlySession):
            txn.modify(me, alice.uuid, [Add("ssh_publickey", KEY)])
        with pytest.raises(ReadOnlySession):
            txn.create(me, {"class": ["group"], "name": ["x"]})
        with pytest.raises(ReadOnlySession):
            txn.delete(me, alice.uuid)
        assert not txn.can_modify(me, alice, ["ssh_publickey"])


def test_anonymous__reads_only_posix_entries_allowed_attrs(
    qs: QueryServer, pair: tuple[Entry, Entry]
) -> None:
    alice, _ = pair
    with qs.write() as txn:
        txn.modify(INTERNAL, alice.uuid, [Add("class", "posix_account"),
                                          Add("mail", "alice@example.com"),
                                          Add("ssh_publickey", KEY)])
    with qs.read() as txn:
        found = txn.search(ANON, eq("class", "person"))
        assert [e.first("name") for e in found] == ["alice"]
        assert set(found[0].attrs) == {"class", "uuid", "name", "spn", "displayname",
                                       "gidnumber", "ssh_publickey"}
        # Probing an attribute it cannot read finds nothing.
        assert txn.search(ANON, and_(eq("class", "person"), eq("mail", "alice@example.com"))) == []
        assert txn.search(ANON, eq("name", "bob")) == []


def test_search__never_returns_secrets(qs: QueryServer, pair: tuple[Entry, Entry]) -> None:
    alice, _ = pair
    with qs.read() as txn:
        for ident in (ADMIN, account_identity(alice.uuid, read_only=True)):
            (found,) = txn.search(ident, eq("name", "alice"))
            assert "password" not in found.attrs
            assert "name" in found.attrs


def test_idm_admin__may_create_persons_a_person_may_not(
    qs: QueryServer, pair: tuple[Entry, Entry]
) -> None:
    alice, _ = pair
    person = {"class": ["person"], "name": ["carol"], "displayname": ["Carol"]}
    with qs.write() as txn:
        with pytest.raises(AccessDenied):
            txn.create(account_identity(alice.uuid, read_only=False), person)
        carol = txn.create(IDM_ADMIN, person)
        assert carol.has_class("person")
        # ...but not an access control profile, nor a person with a POSIX gid at birth.
        with pytest.raises(AccessDenied):
            txn.create(IDM_ADMIN, {"class": ["person", "posix_account"], "name": ["dave"],
                                   "displayname": ["Dave"]})
        assert txn.delete(IDM_ADMIN, carol.uuid)


def test_idm_admin__manages_groups_and_posix_but_not_builtin_membership(
    qs: QueryServer, pair: tuple[Entry, Entry]
) -> None:
    alice, _ = pair
    with qs.write() as txn:
        staff = txn.create(IDM_ADMIN, {"class": ["group"], "name": ["staff"]})
        txn.modify(IDM_ADMIN, staff.uuid, [Add("member", alice.uuid),
                                           Add("class", "posix_group")])
        txn.modify(IDM_ADMIN, alice.uuid, [Add("class", "posix_account")])
        with pytest.raises(AccessDenied):
            txn.modify(IDM_ADMIN, staff.uuid, [Add("class", "person")])
        with pytest.raises(AccessDenied):
            txn.modify(IDM_ADMIN, UUID_SYSTEM_ADMINS, [Add("member", alice.uuid)])
        with pytest.raises(AccessDenied):
            txn.modify(IDM_ADMIN, UUID_ADMIN, [Add("ssh_publickey", KEY)])
        txn.modify(ADMIN, UUID_SYSTEM_ADMINS, [Add("member", alice.uuid)])
    with qs.read() as txn:
        after = txn.get(alice.uuid)
        assert after is not None and UUID_SYSTEM_ADMINS in after.get("memberof")


def test_nested_receiver__membership_through_nesting_counts(
    qs: QueryServer, pair: tuple[Entry, Entry]
) -> None:
    alice, bob = pair
    with qs.write() as txn:
        helpers = make_group(txn, "helpers", (alice,))
        txn.modify(ADMIN, "00000000-0000-0000-0000-000000000012",  # idm_people_admins
                   [Add("member", helpers.uuid)])
        me = account_identity(alice.uuid, read_only=False)
        txn.modify(me, bob.uuid, [Set("displayname", frozenset({"Robert"}))])


def test_deleted_actor__is_refused(qs: QueryServer, pair: tuple[Entry, Entry]) -> None:
    alice, _ = pair
    with qs.write() as txn:
        txn.delete(INTERNAL, alice.uuid)
    with qs.read() as txn, pytest.raises(AccessDenied):
        txn.search(account_identity(alice.uuid, read_only=True), eq("name", "bob"))


# --- the pure functions --------------------------------------------------------------------

def _profile(**kw: object) -> AccessProfile:
    base: dict[str, object] = dict(
        uuid="p", name="p", receivers=frozenset({"g"}), receiver_all=False,
        target=parse_filter({"eq": ["class", "person"]}), search_attrs=frozenset({"name"}),
        modify_attrs=frozenset({"class"}), modify_classes=frozenset({"posix_account"}),
        create_classes=frozenset(), create_attrs=frozenset(), delete=False,
    )
    base.update(kw)
    return AccessProfile(**base)  # type: ignore[arg-type]


PERSON = Entry(1, freeze_attrs({"class": ["object", "account", "person"], "uuid": ["u"],
                                "name": ["n"], "password": ["x"]}))


def test_applicable__receiver_all_excludes_anonymous() -> None:
    everyone = _profile(receivers=frozenset(), receiver_all=True)
    assert applicable([everyone], Actor("u", frozenset({"u"}), anonymous=False)) == [everyone]
    assert applicable([everyone], Actor("a", frozenset({"a"}), anonymous=True)) == []


def test_readable_attrs__secrets_removed_even_if_granted() -> None:
    p = _profile(search_attrs=frozenset({"name", "password"}))
    actor = Actor("x", frozenset({"x", "g"}), anonymous=False)
    assert readable_attrs([p], actor, PERSON) == {"name"}


def test_check_modify__class_values_judged() -> None:
    actor = Actor("x", frozenset({"x", "g"}), anonymous=False)
    check_modify([_profile()], actor, PERSON, {"class": {"posix_account"}})
    with pytest.raises(AccessDenied):
        check_modify([_profile()], actor, PERSON, {"class": {"builtin"}})
