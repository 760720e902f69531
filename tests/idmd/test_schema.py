"""The schema: unknown attributes and classes, must/may, single values, ssh key labels, and the
same rules enforced by the write path."""

from __future__ import annotations

import pytest

from hermit_common.errors import InvalidValue
from idmd.errors import InvalidAttribute, SchemaViolation
from idmd.schema import complete_classes, normalise_attrs, validate_entry
from idmd.server import QueryServer
from idmd.server.identity import INTERNAL
from idmd.server.mods import Add, Purge
from tests.idmd.entries import make_person

U = "0b1e9c2e-7a4b-4c7e-9f57-3d2f1c1a8e11"


def _person(**extra: list[str]) -> dict[str, list[str]]:
    base = {"class": ["object", "account", "person"], "uuid": [U], "name": ["alice"],
            "spn": ["alice@example.com"], "displayname": ["Alice"]}
    base.update(extra)
    return base


def test_validate_entry__accepts_a_person() -> None:
    validate_entry(_person())


@pytest.mark.parametrize(
    ("attrs", "error"),
    [
        (_person(shoe_size=["44"]), InvalidAttribute),
        (_person(displayname=["A", "B"]), SchemaViolation),
        (_person(displayname=[]), SchemaViolation),
        (_person(**{"class": ["object", "person"]}), SchemaViolation),
        (_person(**{"class": ["account", "person"]}), SchemaViolation),
        (_person(**{"class": ["object", "account", "person", "group"]}), SchemaViolation),
        (_person(**{"class": ["object", "account", "wizard"]}), SchemaViolation),
        (_person(**{"class": ["object", "account", "posix_group"]}), SchemaViolation),
        (_person(gidnumber=["70000"]), SchemaViolation),
        (_person(member=[U]), SchemaViolation),
        (_person(name=["Alice"]), InvalidValue),
        (_person(ssh_publickey=["a:k1", "a:k2"]), SchemaViolation),
        ({k: v for k, v in _person().items() if k != "displayname"}, SchemaViolation),
        ({"class": ["object", "access_control_profile"], "uuid": [U], "name": ["p"],
          "spn": ["p@example.com"], "acp_target": ['{"pres":"class"}']}, SchemaViolation),
    ],
)
def test_validate_entry__refuses(attrs: dict[str, list[str]], error: type[Exception]) -> None:
    with pytest.raises(error):
        validate_entry(attrs)


def test_complete_classes__adds_object_and_implied() -> None:
    assert complete_classes(["person"]) == {"object", "account", "person"}
    assert complete_classes(["posix_account"]) == {"object", "posix_account"}


def test_normalise_attrs__unknown_attribute_and_bare_string() -> None:
    with pytest.raises(InvalidAttribute):
        normalise_attrs({"shoe_size": ["44"]})
    with pytest.raises(InvalidValue):
        normalise_attrs({"name": "alice"})
    assert normalise_attrs({"NAME": ["Alice"], "mail": []}) == {"name": {"alice"}}


def test_write__schema_violations_are_refused(qs: QueryServer) -> None:
    with qs.write() as txn:
        with pytest.raises(SchemaViolation):
            txn.create(INTERNAL, {"class": ["person"], "name": ["alice"]})
        with pytest.raises(SchemaViolation):
            txn.create(INTERNAL, {"class": ["posix_account"], "name": ["alice"]})
        with pytest.raises(InvalidAttribute):
            make_person(txn, "alice", shoe_size=["44"])
        alice = make_person(txn, "alice")
        with pytest.raises(SchemaViolation):
            txn.modify(INTERNAL, alice.uuid, [Purge("displayname")])
        with pytest.raises(SchemaViolation):
            txn.modify(INTERNAL, alice.uuid, [Add("member", alice.uuid)])
        with pytest.raises(SchemaViolation):
            txn.modify(INTERNAL, alice.uuid, [Add("class", "posix_group")])
