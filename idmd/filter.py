"""The filter language: its terms, its JSON form, matching, and evaluation from the indexes.

What it does not do: it knows no schema. Callers pass in which indexes an attribute has and
how its values normalise (``server/`` wires in ``schema``), and an ``IndexReader`` over the
backend's index tables.

JSON form (docs/architecture.md, "Filters")::

    {"eq": ["name", "alice"]}   {"sub": ["name", "ali"]}   {"pres": "gidnumber"}
    {"and": [F, ...]}           {"or": [F, ...]}           {"andnot": F}
    {"self": true}              only inside access control profile targets

Rules:
- nesting deeper than ``limits.MAX_FILTER_DEPTH`` is refused when parsing (recursion bound);
- ``sub`` is case-insensitive (values are compared casefolded, the trigram index is built
  casefolded);
- evaluation yields a candidate id list that is a superset of the matches; the caller loads the
  candidates and re-checks each with ``matches``. A filter whose candidates cannot be bounded by
  an index (an unindexed attribute, a short substring, an ``or`` with an unindexed branch, an
  ``andnot`` with nothing to subtract from) raises ``UnindexedFilter``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from hermit_common.errors import InvalidRequest
from idmd.be.backend import trigrams
from idmd.be.idl import IDL
from idmd.entry import Entry
from idmd.errors import UnindexedFilter
from idmd.limits import MAX_FILTER_DEPTH, MAX_NAME_LEN, MIN_SUBSTRING_LEN


@dataclass(frozen=True, slots=True)
class Eq:
    attr: str
    value: str


@dataclass(frozen=True, slots=True)
class Sub:
    attr: str
    value: str


@dataclass(frozen=True, slots=True)
class Pres:
    attr: str


@dataclass(frozen=True, slots=True)
class And:
    terms: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    terms: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class AndNot:
    term: Filter


@dataclass(frozen=True, slots=True)
class Self_:
    """The acting account itself (only meaningful in access control profile targets)."""


Filter = Eq | Sub | Pres | And | Or | AndNot | Self_


def eq(attr: str, value: str) -> Eq:
    return Eq(attr, value)


def sub(attr: str, value: str) -> Sub:
    return Sub(attr, value)


def pres(attr: str) -> Pres:
    return Pres(attr)


def and_(*terms: Filter) -> And:
    return And(tuple(terms))


def or_(*terms: Filter) -> Or:
    return Or(tuple(terms))


def andnot(term: Filter) -> AndNot:
    return AndNot(term)


# --- parsing -------------------------------------------------------------------------------

def parse_filter(obj: object, *, allow_self: bool = False) -> Filter:
    """Build a filter from its JSON form.

    Errors: ``InvalidRequest`` for anything malformed, a ``self`` term where it is not allowed,
    or nesting deeper than ``MAX_FILTER_DEPTH``.
    """
    return _parse(obj, allow_self, 1)


def _attr(raw: object) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_NAME_LEN:
        raise InvalidRequest("a filter attribute must be a non-empty string")
    return raw.lower()


def _parse(obj: object, allow_self: bool, depth: int) -> Filter:
    if depth > MAX_FILTER_DEPTH:
        raise InvalidRequest(f"a filter may be nested at most {MAX_FILTER_DEPTH} deep")
    if not isinstance(obj, dict) or len(obj) != 1:
        raise InvalidRequest("a filter term is an object with exactly one key")
    ((op, arg),) = obj.items()
    if op in ("eq", "sub"):
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], str)):
            raise InvalidRequest(f'"{op}" takes [attribute, value]')
        return (Eq if op == "eq" else Sub)(_attr(arg[0]), arg[1])
    if op == "pres":
        return Pres(_attr(arg))
    if op in ("and", "or"):
        if not isinstance(arg, list) or not arg:
            raise InvalidRequest(f'"{op}" takes a non-empty list of filters')
        terms = tuple(_parse(t, allow_self, depth + 1) for t in arg)
        return And(terms) if op == "and" else Or(terms)
    if op == "andnot":
        return AndNot(_parse(arg, allow_self, depth + 1))
    if op == "self":
        if not allow_self:
            raise InvalidRequest('"self" is allowed only in access control profile targets')
        if arg is not True:
            raise InvalidRequest('"self" takes true')
        return Self_()
    raise InvalidRequest(f"unknown filter operator {op!r}")


def to_json(filt: Filter) -> object:
    """The JSON form of ``filt`` (inverse of ``parse_filter``)."""
    match filt:
        case Eq(attr, value):
            return {"eq": [attr, value]}
        case Sub(attr, value):
            return {"sub": [attr, value]}
        case Pres(attr):
            return {"pres": attr}
        case And(terms):
            return {"and": [to_json(t) for t in terms]}
        case Or(terms):
            return {"or": [to_json(t) for t in terms]}
        case AndNot(term):
            return {"andnot": to_json(term)}
        case Self_():
            return {"self": True}


def dumps(filt: Filter) -> str:
    """The canonical stored text of a filter."""
    return json.dumps(to_json(filt), separators=(",", ":"), ensure_ascii=False)


def attributes_of(filt: Filter) -> frozenset[str]:
    """Every attribute a filter looks at (``self`` looks at ``uuid``)."""
    match filt:
        case Eq(attr, _) | Sub(attr, _) | Pres(attr):
            return frozenset({attr})
        case And(terms) | Or(terms):
            return frozenset().union(*(attributes_of(t) for t in terms))
        case AndNot(term):
            return attributes_of(term)
        case Self_():
            return frozenset({"uuid"})


def normalise_values(filt: Filter, normalise: Callable[[str, str], str]) -> Filter:
    """Put every ``eq`` value into its attribute's stored form.

    ``normalise(attr, value)`` returns the stored form, or the value unchanged when it is not a
    valid value of the attribute (such a term then matches nothing, which is the truth: no
    stored value can equal it).
    """
    match filt:
        case Eq(attr, value):
            return Eq(attr, normalise(attr, value))
        case And(terms):
            return And(tuple(normalise_values(t, normalise) for t in terms))
        case Or(terms):
            return Or(tuple(normalise_values(t, normalise) for t in terms))
        case AndNot(term):
            return AndNot(normalise_values(term, normalise))
        case _:
            return filt


# --- matching ------------------------------------------------------------------------------

def matches(filt: Filter, entry: Entry, self_uuid: str | None = None) -> bool:
    """Whether ``entry`` satisfies ``filt`` (values already normalised)."""
    match filt:
        case Eq(attr, value):
            return value in entry.get(attr)
        case Sub(attr, value):
            needle = value.casefold()
            return any(needle in v.casefold() for v in entry.get(attr))
        case Pres(attr):
            return attr in entry.attrs
        case And(terms):
            return all(matches(t, entry, self_uuid) for t in terms)
        case Or(terms):
            return any(matches(t, entry, self_uuid) for t in terms)
        case AndNot(term):
            return not matches(term, entry, self_uuid)
        case Self_():
            return self_uuid is not None and self_uuid in entry.get("uuid")


# --- evaluation from the indexes ------------------------------------------------------------

class IndexReader(Protocol):
    def eq_ids(self, attr: str, value: str) -> IDL: ...
    def pres_ids(self, attr: str) -> IDL: ...
    def sub_ids(self, attr: str, gram: str) -> IDL: ...


IndexesOf = Callable[[str], frozenset[str]]


def candidates(
    filt: Filter, reader: IndexReader, indexes_of: IndexesOf, self_uuid: str | None
) -> IDL:
    """The candidate ids for ``filt`` from the indexes.

    Errors: ``UnindexedFilter`` when the candidates cannot be bounded by an index.
    """
    result = _eval(filt, reader, indexes_of, self_uuid)
    if result is None:
        raise UnindexedFilter(
            "this filter cannot be answered from the indexes; add an indexed equality term"
        )
    return result[0]


# ``_eval`` returns None for "not bounded by an index", else (ids, exact) where exact means
# the ids are precisely the matches (so an ``andnot`` may subtract them safely).
_Result = tuple[IDL, bool] | None


def _eval(filt: Filter, r: IndexReader, idx: IndexesOf, self_uuid: str | None) -> _Result:
    match filt:
        case Eq(attr, value):
            return (r.eq_ids(attr, value), True) if "eq" in idx(attr) else None
        case Pres(attr):
            return (r.pres_ids(attr), True) if "pres" in idx(attr) else None
        case Sub(attr, value):
            if "sub" not in idx(attr) or len(value) < MIN_SUBSTRING_LEN:
                return None
            lists = sorted((r.sub_ids(attr, g) for g in trigrams(value)), key=len)
            return (IDL.intersect_all(lists), False)
        case Self_():
            if self_uuid is None:
                return (IDL.empty(), True)
            return (r.eq_ids("uuid", self_uuid), True)
        case Or(terms):
            parts = [_eval(t, r, idx, self_uuid) for t in terms]
            if any(p is None for p in parts):
                return None
            known = [p for p in parts if p is not None]
            return (IDL.union_all([p[0] for p in known]), all(p[1] for p in known))
        case And(terms):
            return _eval_and(terms, r, idx, self_uuid)
        case AndNot(_):
            return None


# Once an ``and`` has narrowed its candidates to this many, the remaining terms are left to
# the re-check: loading a handful of cached entries is cheaper than reading another long id
# list (``class=person`` holds every person).
AND_SHORTCUT = 8
_UNIQUE_HINT = frozenset({"uuid", "name", "spn", "gidnumber", "mail"})


def _cost(term: Filter) -> int:
    """Evaluation order inside an ``and``: the most selective terms first."""
    match term:
        case Eq(attr, _):
            return 0 if attr in _UNIQUE_HINT else 1
        case Self_():
            return 0
        case Sub(_, _) | Pres(_):
            return 3
        case AndNot(_):
            return 4
        case _:
            return 2


def _eval_and(
    terms: Iterable[Filter], r: IndexReader, idx: IndexesOf, self_uuid: str | None
) -> _Result:
    positives: list[IDL] = []
    negatives: list[IDL] = []
    exact = True
    for term in sorted(terms, key=_cost):
        if positives and len(positives[-1]) <= AND_SHORTCUT:
            exact = False  # the rest is re-checked on the few candidates
            break
        if isinstance(term, AndNot):
            inner = _eval(term.term, r, idx, self_uuid)
            if inner is not None and inner[1]:
                negatives.append(inner[0])
            else:
                exact = False  # re-checked on the candidates instead
            continue
        part = _eval(term, r, idx, self_uuid)
        if part is None:
            exact = False
            continue
        narrowed = part[0] if not positives else positives[-1].and_(part[0])
        positives.append(narrowed)
        exact = exact and part[1]
    if not positives:
        return None
    ids = positives[-1]
    for neg in negatives:
        if not ids:
            break
        ids = ids.andnot(neg)
    return (ids, exact)
