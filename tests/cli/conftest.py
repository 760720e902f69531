"""Helpers for the CLI unit tests: a scripted server at the httpx transport seam and a runner.

The scripted server answers exactly the requests it was given, in order; a request it did not
expect fails the test at once, and requests left unanswered fail it at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hermit_cli.tokens import TokenStore
from tests.cli.scripted_server import URL, Hermit, ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    left = [f"{e.method} {e.path}" for e in scripted.expected]
    assert not left, f"expected requests never came: {left}"


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "cache" / "hermit")


@pytest.fixture
def hermit(server: ScriptedServer, store: TokenStore) -> Hermit:
    return Hermit(server, store, {"HERMIT_URL": URL})
