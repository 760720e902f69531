"""The attacks hermit defends against, each a test that attacks as an intruder would.

Every test in this directory plays one intruder of ``docs/security.md``'s threat model (another
local uid on a host, a party on the network with an anonymous token, a delegated admin reaching
above its role, a host) and asserts three things: the refusal, that nothing changed, and that
the service still serves everyone else.

The fixtures are those of the other suites, re-exported so an attack can use the real parts:
``idmd`` (a real hermit-idmd over TLS, its own instance for this directory), ``native_build``
and ``socket_dir`` (the C modules built against a test config), ``qs``/``clock``/``db_path``
(an in-process entry database with a fake clock), ``idm``/``client``/``admin`` (the REST app
in-process on that clock), ``served``/``sockdir`` (unixd's resolver behind real sockets),
``web``/``chromium``/``page``/``people`` (Chromium against a hermit-idmd at
``https://localhost:PORT``, tests/browser/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import chromium, page, people, web
from tests.idmd.conftest import admin, client, clock, db_path, idm, qs
from tests.integration.conftest import idmd
from tests.native.conftest import native_build, socket_dir
from tests.unixd.conftest import served, sockdir

__all__ = ["admin", "chromium", "client", "clock", "db_path", "idm", "idmd", "native_build",
           "page", "people", "qs", "served", "sockdir", "socket_dir", "web"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests here that start a real hermit-idmd are integration tests, as elsewhere."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents and {"idmd", "web"} & set(
                getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
