"""The filter language: parsing each operator, refusals, and evaluation from the indexes."""

from __future__ import annotations

import pytest

from hermit_common.errors import InvalidRequest
from idmd.errors import UnindexedFilter
from idmd.filter import (
    And,
    AndNot,
    Eq,
    Or,
    Pres,
    Self_,
    Sub,
    and_,
    andnot,
    dumps,
    eq,
    or_,
    parse_filter,
    pres,
    sub,
    to_json,
)
from idmd.limits import MAX_FILTER_DEPTH
from idmd.server import QueryServer
from tests.idmd.entries import make_group, make_person


def test_parse_filter__each_operator() -> None:
    obj = {"and": [{"eq": ["Name", "alice"]}, {"sub": ["displayname", "Ali"]},
                   {"pres": "gidnumber"}, {"or": [{"eq": ["class", "person"]}]},
                   {"andnot": {"eq": ["class", "builtin"]}}]}
    assert parse_filter(obj) == And((
        Eq("name", "alice"), Sub("displayname", "Ali"), Pres("gidnumber"),
        Or((Eq("class", "person"),)), AndNot(Eq("class", "builtin")),
    ))


def test_parse_filter__round_trips_through_json() -> None:
    filt = and_(eq("name", "a"), or_(sub("name", "abc"), pres("mail")), andnot(eq("x", "y")))
    assert parse_filter(to_json(filt)) == filt


@pytest.mark.parametrize(
    "obj",
    [
        None, [], "eq", {}, {"eq": ["name"]}, {"eq": ["name", 3]}, {"eq": "name"},
        {"sub": ["name"]}, {"pres": 3}, {"pres": ""}, {"and": []}, {"or": {}},
        {"andnot": []}, {"nope": 1}, {"eq": ["a", "b"], "pres": "c"}, {"self": True},
    ],
)
def test_parse_filter__refuses_malformed(obj: object) -> None:
    with pytest.raises(InvalidRequest):
        parse_filter(obj)


def test_parse_filter__self_only_where_allowed() -> None:
    assert parse_filter({"self": True}, allow_self=True) == Self_()
    with pytest.raises(InvalidRequest):
        parse_filter({"self": False}, allow_self=True)


def _nested(depth: int) -> object:
    obj: object = {"eq": ["name", "a"]}
    for _ in range(depth - 1):
        obj = {"andnot": obj}
    return obj


def test_parse_filter__depth_limit() -> None:
    parse_filter(_nested(MAX_FILTER_DEPTH))
    with pytest.raises(InvalidRequest):
        parse_filter(_nested(MAX_FILTER_DEPTH + 1))


def test_dumps__is_canonical() -> None:
    assert dumps(parse_filter({"eq": ["name", "a"]})) == '{"eq":["name","a"]}'


@pytest.fixture
def people(qs: QueryServer) -> QueryServer:
    with qs.write() as txn:
        alice = make_person(txn, "alice", mail=["alice@example.com"])
        make_person(txn, "alicia")
        bob = make_person(txn, "bob", description=[])
        make_group(txn, "staff", (alice, bob), description=["The staff"])
    return qs


def _names(qs: QueryServer, filt: object, **kw: bool) -> list[str]:
    with qs.read() as txn:
        found = txn.internal_search(parse_filter(filt), **kw)
        full = txn.internal_search(parse_filter(filt), allow_full_scan=True, force_full_scan=True)
    names = sorted(e.first("name") or "" for e in found)
    # The indexed answer and a forced full scan always agree.
    assert names == sorted(e.first("name") or "" for e in full)
    return names


def test_search__eq_normalises_the_value(people: QueryServer) -> None:
    assert _names(people, {"eq": ["name", "ALICE"]}) == ["alice"]


def test_search__sub_is_case_insensitive_and_rechecked(people: QueryServer) -> None:
    assert _names(people, {"sub": ["name", "LIC"]}) == ["alice", "alicia"]
    assert _names(people, {"sub": ["displayname", "lici"]}) == ["alicia"]


def test_search__pres(people: QueryServer) -> None:
    assert _names(people, {"and": [{"pres": "mail"}, {"eq": ["class", "person"]}]}) == ["alice"]


def test_search__or_and_andnot(people: QueryServer) -> None:
    filt = {"and": [{"or": [{"eq": ["name", "alice"]}, {"eq": ["name", "bob"]},
                            {"eq": ["name", "staff"]}]},
                    {"andnot": {"eq": ["class", "group"]}}]}
    assert _names(people, filt) == ["alice", "bob"]


def test_search__nested_member_lookup(people: QueryServer) -> None:
    with people.read() as txn:
        staff = txn.resolve("staff")
        assert staff is not None
        filt = {"and": [{"eq": ["memberof", staff.uuid]},
                        {"andnot": {"sub": ["name", "bob"]}}]}
    assert _names(people, filt) == ["alice"]


def test_search__unindexed_attribute_is_refused(people: QueryServer) -> None:
    with people.read() as txn, pytest.raises(UnindexedFilter):
        txn.internal_search(parse_filter({"eq": ["description", "The staff"]}))
    assert _names(people, {"eq": ["description", "The staff"]}, allow_full_scan=True) == [
        "staff"
    ]


@pytest.mark.parametrize(
    "filt",
    [
        {"andnot": {"eq": ["name", "alice"]}},
        {"sub": ["name", "al"]},
        {"or": [{"eq": ["name", "alice"]}, {"eq": ["loginshell", "/bin/sh"]}]},
        {"pres": "displayname"},
    ],
)
def test_search__unbounded_filters_are_refused(people: QueryServer, filt: object) -> None:
    with people.read() as txn, pytest.raises(UnindexedFilter):
        txn.internal_search(parse_filter(filt))


def test_search__and_with_one_indexed_term_rechecks_the_rest(people: QueryServer) -> None:
    filt = {"and": [{"eq": ["class", "group"]}, {"eq": ["description", "The staff"]}]}
    assert _names(people, filt) == ["staff"]


def test_search__invalid_eq_value_matches_nothing(people: QueryServer) -> None:
    assert _names(people, {"eq": ["gidnumber", "not a number"]}) == []
