"""Entries written straight through a write transaction, for idmd's storage tests:
``make_person`` and ``make_group`` (as the internal identity, in ``DOMAIN``).
"""

from __future__ import annotations

from idmd.entry import Entry
from idmd.server import WriteTxn
from idmd.server.identity import INTERNAL

DOMAIN = "example.com"


def make_person(txn: WriteTxn, name: str, **attrs: list[str]) -> Entry:
    return txn.create(
        INTERNAL, {"class": ["person"], "name": [name], "displayname": [name.title()], **attrs}
    )


def make_group(txn: WriteTxn, name: str, members: tuple[Entry, ...] = (), **attrs: list[str]
               ) -> Entry:
    extra = {"member": [m.uuid for m in members]} if members else {}
    return txn.create(INTERNAL, {"class": ["group"], "name": [name], **extra, **attrs})

