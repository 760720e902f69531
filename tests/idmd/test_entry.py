"""Entries: accessors, the stored form, and sharing of repeated strings and class sets."""

from __future__ import annotations

from idmd.entry import Entry, decode_entry, encode_attrs, freeze_attrs


def test_entry__accessors() -> None:
    e = Entry(3, freeze_attrs({"uuid": ["u"], "class": ["person"], "mail": ["b", "a"],
                               "empty": []}))
    assert e.uuid == "u"
    assert e.get("absent") == frozenset()
    assert e.first("mail") == "a"
    assert e.first("absent") is None
    assert e.has_class("person") and not e.has_class("group")
    assert "empty" not in e.attrs
    assert e.with_attrs({"uuid"}).attrs == {"uuid": {"u"}}


def test_entry__encoding_is_canonical_and_round_trips() -> None:
    attrs = {"name": ["alice"], "class": ["b", "a"], "displayname": ["Ålice"]}
    data = encode_attrs(attrs)
    assert data == encode_attrs({"displayname": ["Ålice"], "class": ["a", "b"],
                                 "name": ["alice"]})
    assert decode_entry(9, data) == Entry(9, freeze_attrs(attrs))


def test_entry__class_sets_and_reference_values_are_shared() -> None:
    a = decode_entry(1, b'{"class":["object","person"],"memberof":["g1"]}')
    b = decode_entry(2, b'{"class":["object","person"],"memberof":["g1"]}')
    assert a.attrs["class"] is b.attrs["class"]
    assert next(iter(a.attrs["memberof"])) is next(iter(b.attrs["memberof"]))


def test_entry__repr_carries_no_credential() -> None:
    e = Entry(1, freeze_attrs({"name": ["alice"], "password": ["$argon2id$secret"]}))
    assert "secret" not in repr(e)
