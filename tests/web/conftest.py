"""Fixtures of the web door's in-process tests: idmd's app (REST API and pages) driven over
``httpx.ASGITransport``, the same ``idm``/``client``/``admin`` as tests/idmd, and ``browser``:
a client with its own cookie jar, like a second browser. The helpers that read pages and post
forms are in ``web_client.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from idmd.idm import Idm
from tests.idmd.conftest import admin, client, clock, idm
from tests.web.web_client import open_browser

__all__ = ["admin", "browser", "client", "clock", "idm"]


@pytest.fixture
async def browser(idm: Idm) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own (cookie jar) on the same server as ``client``."""
    async with open_browser(idm) as c:
        yield c
