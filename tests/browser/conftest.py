"""Real browsers against a real hermit-idmd: the fixtures of the browser tests.

- ``web`` (session): one hermit-idmd for the whole directory (``web_server.py``), bound to
  127.0.0.1 with ``origin = https://localhost:PORT``; stopped by its pid at the end.
- ``chromium`` (module): Debian's Chromium through Playwright (``contrib/harness/browser.py``),
  trusting only that server's certificate (by its SPKI hash). One per test module: starting
  Chromium costs about a second, and the tests of a module share it with cookies cleared.
- ``page`` (function): a new tab of ``chromium`` with no cookies. After the test, any CSP
  violation, console error or uncaught exception seen in any tab fails it (a test that
  provokes one on purpose takes it with ``chromium.collector.take()``).
- ``nojs_chromium`` (module) and ``nojs_page`` (function): the same with JavaScript off
  (every page but the passkey ceremonies must work so).
- ``people`` (function): ``People`` (``people.py``) on ``web``; what it made goes after.
- ``clocked`` (module) and ``clocked_people`` (function): the same app served from this
  process on a ``FakeClock`` (``clocked_server.py``), for the tests about time, and its
  ``People``. It has ``web``'s certificate, so ``chromium`` trusts it.

Chromium tests run one file at a time (``pytest tests/browser/test_web_login.py``): the
machines are small and a browser is heavy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from contrib.harness.browser import Browser, launch
from tests.browser.clocked_server import ClockedServer, clocked_idmd
from tests.browser.people import People
from tests.browser.web_server import WebServer, web_idmd
from tests.integration.idmd_server import scratch_dir


@pytest.fixture(scope="session")
def web() -> Iterator[WebServer]:
    with scratch_dir("hermit-web-") as workdir, web_idmd(workdir) as server:
        yield server


@pytest.fixture(scope="module")
def chromium(web: WebServer) -> Iterator[Browser]:
    with launch(web.spki) as browser:
        yield browser


@pytest.fixture(scope="module")
def nojs_chromium(web: WebServer) -> Iterator[Browser]:
    with launch(web.spki, javascript=False) as browser:
        yield browser


def _clean_tab(browser: Browser) -> Iterator[Page]:
    browser.forget_state()
    browser.collector.take()
    tab = browser.new_page()
    yield tab
    problems = browser.collector.describe()
    browser.collector.take()
    if problems:
        pytest.fail(f"the pages showed problems:\n{problems}")


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    yield from _clean_tab(chromium)


@pytest.fixture
def nojs_page(nojs_chromium: Browser) -> Iterator[Page]:
    yield from _clean_tab(nojs_chromium)


@pytest.fixture
def people(web: WebServer) -> Iterator[People]:
    server = web.server
    with server.client(server.login("idm_admin", server.idm_admin_password)) as client, \
            server.client(server.login("admin", server.admin_password)) as admin:
        made = People(client, admin)
        try:
            yield made
        finally:
            made.clean_up()


@pytest.fixture(scope="module")
def clocked(web: WebServer) -> Iterator[ClockedServer]:
    with scratch_dir("hermit-clocked-") as workdir, \
            clocked_idmd(workdir, web.server.workdir / "tls") as server:
        yield server


@pytest.fixture
def clocked_people(clocked: ClockedServer) -> Iterator[People]:
    with clocked.client(clocked.login("idm_admin", clocked.idm_admin_password)) as client, \
            clocked.client(clocked.login("admin", clocked.admin_password)) as admin:
        made = People(client, admin)
        try:
            yield made
        finally:
            made.clean_up()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here starts a real hermit-idmd (``-m "not integration"`` skips them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
