"""Shared fixtures of idmd's tests, each verified at teardown (``verify() == []``).

- storage: ``qs``, a QueryServer on a real SQLite file in tmp_path, on the ``clock`` fixture
  (a FakeClock); ``make_person``/``make_group`` write entries in a transaction;
- the REST app: ``idm`` (a real ``Idm`` on a SQLite file), ``client`` (the app driven
  in-process over ``httpx.ASGITransport``) and ``admin`` (the headers of an idm_admin session);
  the helpers that speak to it are in ``app_client.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from idmd.clock import FakeClock
from idmd.entry import Entry
from idmd.https.app import build_app
from idmd.idm import Idm
from idmd.server import QueryServer, WriteTxn
from idmd.server.identity import INTERNAL
from tests.idmd.app_client import BASE_URL, bearer, login

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


@pytest.fixture
def idm(tmp_path: Path, clock: FakeClock) -> Iterator[Idm]:
    opened = Idm.open(
        str(tmp_path / "hermit.db"), domain="example.com", origin=BASE_URL, clock=clock
    )
    yield opened
    assert opened.verify() == []
    opened.close()


@pytest.fixture
async def client(idm: Idm) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(build_app(idm), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


@pytest.fixture
async def admin(idm: Idm, client: httpx.AsyncClient) -> dict[str, str]:
    """Headers of an idm_admin session (manages people, groups, POSIX, service accounts)."""
    password, _ = await idm.recover_account("idm_admin")
    return bearer(await login(client, "idm_admin", password))
