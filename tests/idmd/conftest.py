"""Shared fixtures of idmd's tests, each verified at teardown (``verify() == []``).

- storage: ``qs``, a QueryServer on a real SQLite file in tmp_path, on the ``clock`` fixture
  (a FakeClock); ``make_person``/``make_group`` write entries in a transaction;
- the REST app: ``idm`` (a real ``Idm`` on a SQLite file), ``client`` (the app driven
  in-process over ``httpx.ASGITransport``) and ``admin`` (the headers of an idm_admin session);
  the helpers that speak to it are in ``app_client.py``;
- ``alice``, a person in ``idm``'s database, for tests that call ``Idm`` directly (their
  callers are in ``idm_callers.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from hermit_common.clock import FakeClock
from idmd.entry import Entry
from idmd.https.app import build_app
from idmd.idm import Idm
from idmd.server import QueryServer
from tests.idmd.app_client import BASE_URL, bearer, login
from tests.idmd.entries import DOMAIN, make_person


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
    return bearer(await login(client, "idm_admin", password.reveal()))


@pytest.fixture
def alice(idm: Idm) -> Entry:
    with idm.server.write() as txn:
        return make_person(txn, "alice")
