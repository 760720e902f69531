"""The CLI's tests without a server: ``ScriptedServer`` answers the requests a test expects, in
order, through ``httpx.MockTransport``; ``Hermit`` runs ``hermit`` in-process against it with a
token store of its own and returns a ``Result``; ``TtyStringIO`` is a stdin that says it is a
terminal. The fixtures (``server``, ``store``, ``hermit``) are in conftest.py.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hermit_cli.main import run
from hermit_cli.tokens import TokenStore
from hermit_common.secret import Secret

URL = "https://idm.test:8443"


NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class Expected:
    method: str
    path: str
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class ScriptedServer:
    expected: list[Expected] = field(default_factory=list)
    seen: list[httpx.Request] = field(default_factory=list)

    def expect(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.expected.append(Expected(method, path, status, body, headers or {}))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if not self.expected:
            pytest.fail(f"unexpected request {request.method} {request.url.raw_path!r}")
        step = self.expected.pop(0)
        assert (request.method, request.url.raw_path.decode()) == (step.method, step.path)
        if isinstance(step.body, bytes):
            return httpx.Response(step.status, content=step.body, headers=step.headers)
        return httpx.Response(step.status, json=step.body, headers=step.headers)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def sent_json(self, index: int = -1) -> Any:
        return json.loads(self.seen[index].content)


@dataclass
class Result:
    status: int
    out: str
    err: str


class TtyStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class Hermit:
    server: ScriptedServer
    store: TokenStore
    env: dict[str, str]

    def __call__(self, *argv: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        status = run(
            list(argv),
            env={**self.env, **(env or {})},
            stdin=io.StringIO(stdin),
            stdout=out,
            stderr=err,
            store=self.store,
            transport=self.server.transport(),
            now=lambda: NOW,
        )
        return Result(status, out.getvalue(), err.getvalue())

    def log_in_as(self, name: str, token: str = "tok-" + "x" * 8) -> None:
        self.store.save(URL, name, Secret(token))

