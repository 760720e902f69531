"""Shared fixtures for idmd's storage tests: a QueryServer on a real SQLite file in tmp_path,
verified at teardown (every storage test ends with ``server.verify() == []``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hermit_common.clock import FakeClock
from idmd.entry import Entry
from idmd.server import QueryServer, WriteTxn
from idmd.server.identity import INTERNAL

DOMAIN = "example.com"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "hermit.db")


@pytest.fixture
def qs(db_path: str, clock: FakeClock) -> Iterator[QueryServer]:
    server = QueryServer(db_path, domain=DOMAIN, clock=clock)
    try:
        yield server
        assert server.verify() == []
    finally:
        server.close()


def make_person(txn: WriteTxn, name: str, **attrs: list[str]) -> Entry:
    return txn.create(
        INTERNAL, {"class": ["person"], "name": [name], "displayname": [name.title()], **attrs}
    )


def make_group(txn: WriteTxn, name: str, members: tuple[Entry, ...] = (), **attrs: list[str]
               ) -> Entry:
    extra = {"member": [m.uuid for m in members]} if members else {}
    return txn.create(INTERNAL, {"class": ["group"], "name": [name], **extra, **attrs})
