"""verify: check every invariant of the stored database, from the stored bytes up.

Checks (each failure is one line of the result):
- every stored entry decodes and satisfies the schema, and its spn is name@domain;
- each index table holds exactly the rows the entries imply (nothing missing, nothing extra);
- ids and uuids are unique, and so is every unique attribute (name, spn, mail, gidnumber);
- every reference (member, managed_by, acp_receiver, memberof, directmemberof) resolves;
- directmemberof and memberof equal what the member graph says (plugins/memberof.py);
- every builtin entry exists; the id counter is above every id;
- the entry cache holds exactly the stored entries it claims to.
"""

from __future__ import annotations

from collections.abc import Mapping

from hermit_common.errors import HermitError
from idmd import schema
from idmd.be.backend import BackendRead, index_keys
from idmd.entry import Entry, decode_entry
from idmd.server.builtin import builtin_entries


def verify_store(be: BackendRead[Entry], cache: Mapping[int, Entry], domain: str) -> list[str]:
    problems: list[str] = []
    entries: dict[int, Entry] = {}
    for id, data in be.stored_entries():
        try:
            entries[id] = decode_entry(id, data)
        except ValueError:
            problems.append(f"entry {id}: stored bytes do not decode")
    _check_entries(entries, domain, problems)
    _check_indexes(be, entries, problems)
    _check_unique(entries, problems)
    _check_references(entries, problems)
    _check_memberof(entries, problems)
    _check_counters(be, entries, problems)
    for id, cached in cache.items():
        stored = entries.get(id)
        if stored is None or dict(stored.attrs) != dict(cached.attrs):
            problems.append(f"entry {id}: the cache differs from the stored entry")
    return problems


def _label(entry: Entry) -> str:
    return f"entry {entry.id} ({entry.first('name') or '?'})"


def _check_entries(entries: Mapping[int, Entry], domain: str, problems: list[str]) -> None:
    for entry in entries.values():
        try:
            schema.validate_entry(entry.attrs)
        except HermitError as exc:
            problems.append(f"{_label(entry)}: {exc.detail}")
        name = entry.first("name")
        if name is not None and entry.get("spn") != {f"{name}@{domain}"}:
            problems.append(f"{_label(entry)}: spn is not name@{domain}")


def _check_indexes(
    be: BackendRead[Entry], entries: Mapping[int, Entry], problems: list[str]
) -> None:
    expected: dict[str, set[bytes]] = {"eq": set(), "pres": set(), "sub": set()}
    for entry in entries.values():
        for ns, rows in index_keys(entry.attrs, entry.id, schema.INDEXES).items():
            expected[ns] |= rows
    for ns, rows in expected.items():
        actual = be.index_rows(ns)
        for key in sorted(rows - actual):
            problems.append(f"index {ns}: missing row {_show(key)}")
        for key in sorted(actual - rows):
            problems.append(f"index {ns}: stray row {_show(key)}")


def _show(key: bytes) -> str:
    parts = key[:-8].decode(errors="replace").rstrip("\0").split("\0")
    return f"{'/'.join(parts)} -> id {int.from_bytes(key[-8:], 'big')}"


def _check_unique(entries: Mapping[int, Entry], problems: list[str]) -> None:
    holders: dict[tuple[str, str], list[int]] = {}
    for entry in entries.values():
        for attr in schema.UNIQUE_ATTRS:
            for value in entry.get(attr):
                holders.setdefault((attr, value), []).append(entry.id)
    for (attr, value), ids in sorted(holders.items()):
        if len(ids) > 1:
            problems.append(f"{attr} {value!r} is held by entries {sorted(ids)}")


def _check_references(entries: Mapping[int, Entry], problems: list[str]) -> None:
    uuids = {u for e in entries.values() for u in e.get("uuid")}
    for entry in entries.values():
        for attr in sorted(schema.REFERENCE_ATTRS):
            for target in sorted(entry.get(attr) - uuids):
                problems.append(f"{_label(entry)}: {attr} {target} names no entry")


def _check_memberof(entries: Mapping[int, Entry], problems: list[str]) -> None:
    parents: dict[str, set[str]] = {}
    for entry in entries.values():
        for member in entry.get("member"):
            parents.setdefault(member, set()).add(entry.uuid)
    for entry in entries.values():
        if "uuid" not in entry.attrs:
            continue
        direct = parents.get(entry.uuid, set())
        nested: set[str] = set()
        pending = list(direct)
        while pending:
            group = pending.pop()
            if group not in nested:
                nested.add(group)
                pending.extend(parents.get(group, ()))
        nested.discard(entry.uuid)
        if entry.get("directmemberof") != direct:
            problems.append(f"{_label(entry)}: directmemberof differs from the member graph")
        if entry.get("memberof") != nested:
            problems.append(f"{_label(entry)}: memberof differs from the member graph")


def _check_counters(
    be: BackendRead[Entry], entries: Mapping[int, Entry], problems: list[str]
) -> None:
    uuids = {u for e in entries.values() for u in e.get("uuid")}
    for attrs in builtin_entries():
        if attrs["uuid"][0] not in uuids:
            problems.append(f"builtin entry {attrs['name'][0]} is missing")
    raw = be.get_meta("sys", "next_id")
    next_id = int.from_bytes(raw, "big") if raw else 1
    if entries and max(entries) >= next_id:
        problems.append(f"the id counter {next_id} is not above every id")
