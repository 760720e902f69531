"""One real hermit-idmd for the whole integration suite (an ``IdmdServer`` of ``idmd_server.py``).

The ``idmd`` fixture (session scope) gives every integration test the same running server:

- ``cert-generate`` into a fresh temporary directory (a CA as ``tls/ca.pem``),
- ``hermit-idmd server`` on 127.0.0.1 port 0; the port comes from its ``listening on`` line,
- ready once ``GET /status`` answers over TLS pinned to that CA (bounded wait),
- the passwords of ``idm_admin`` and ``admin`` from ``hermit-idmd recover-account``,
- stopped by its own pid (SIGTERM) at the end of the session.

Use it as::

    def test_something(idmd: IdmdServer) -> None:
        token = idmd.login("idm_admin", idmd.idm_admin_password)
        with idmd.client(token) as client:
            assert client.get("/v1/person").status_code == 200

Attributes: ``url`` (``https://127.0.0.1:PORT``), ``ca`` (the CA to pin), ``config`` (its
server.toml), ``workdir``, ``pid``, ``idm_admin_password``, ``admin_password`` (never shown in
a repr or an assertion message). Helpers: ``login(name, password) -> token`` (the stepped flow
of docs/api.md), ``client(token=None)`` (an ``httpx.Client`` pinned to the CA),
``ssl_context()``, ``run(*args)`` (``hermit-idmd ARGS -c CONFIG``), ``log_lines``.

Tests that must stop or break a server (kill -9, a broken config) start their own with
``own_idmd(workdir)`` (``idmd_server.py``), which yields the same kind of object; never stop
the shared one.
The process plumbing is ``contrib/harness/idmd_process.py`` (shared with the benchmark).
``made`` gives a test a ``Directory`` on the shared server (``directory.py``: people, groups,
keys made through the REST API), whose entries are deleted after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.directory import Directory, directory
from tests.integration.idmd_server import IdmdServer, own_idmd, scratch_dir


@pytest.fixture(scope="session")
def idmd() -> Iterator[IdmdServer]:
    with scratch_dir("hermit-idmd-") as workdir, own_idmd(workdir) as server:
        yield server


@pytest.fixture
def made(idmd: IdmdServer) -> Iterator[Directory]:
    """A ``Directory`` (``directory.py``) on the shared server; what it made goes after."""
    with directory(idmd) as made:
        yield made


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory is an integration test (``-m "not integration"`` skips)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
