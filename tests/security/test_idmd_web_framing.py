"""A page on another origin frames hermit's pages (clickjacking) or loads script, style or
images into them: every page forbids it by its headers (the browser-level proof is
tests/security/test_idmd_browser_*). Pages hold no inline script or style to allow."""

from __future__ import annotations

import re

import httpx
import pytest

from idmd.idm import Idm
from tests.idmd.app_client import make_person
from tests.web.web_client import open_browser, sign_in

PASSWORD = "correct horse battery staple 9"
PUBLIC = ["/ui/login", "/ui/reset", "/ui/nothing"]
SIGNED_IN = ["/ui/", "/ui/credentials"]


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def _no_inline(page: str) -> None:
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
    assert "<style" not in page
    assert re.search(r"\sstyle=", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    assert "javascript:" not in page


async def _check(response: httpx.Response) -> None:
    directives = _directives(response.headers["content-security-policy"])
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    _no_inline(response.text)


@pytest.mark.parametrize("path", PUBLIC)
async def test_idmd_web_framing__public_pages_cannot_be_framed(idm: Idm, path: str) -> None:
    async with open_browser(idm) as browser:
        await _check(await browser.get(path))


async def test_idmd_web_framing__signed_in_pages_cannot_be_framed(
    idm: Idm, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(client, admin, "alice", PASSWORD)
    async with open_browser(idm) as browser:
        await sign_in(browser, "alice", PASSWORD)
        for path in SIGNED_IN:
            response = await browser.get(path)
            assert response.status_code == 200, path
            await _check(response)


async def test_idmd_web_framing__refusal_pages_cannot_be_framed(idm: Idm) -> None:
    async with open_browser(idm) as browser:
        refused = await browser.post("/ui/logout", data={"csrf": "x"})
        assert refused.status_code == 403
        await _check(refused)
