"""A network party posts forms over the web door's size limit: each is refused with the 413
page before anything is read into a form or changed, and idmd keeps serving."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from idmd import limits
from idmd.idm import Idm
from idmd.web.forms import MAX_FORM_BYTES, MAX_FORM_FIELDS
from tests.web.web_client import ORIGIN, csrf_of, open_browser

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}


def _too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["connection"] == "close"
    assert 'role="alert"' in response.text


@pytest.mark.parametrize(
    "size", [MAX_FORM_BYTES + 1, limits.MAX_BODY_BYTES + 1, limits.MAX_DRAIN_BYTES + 1]
)
async def test_idmd_web_form_size__declared_over_the_limit_is_the_413_page(
    idm: Idm, size: int
) -> None:
    async with open_browser(idm) as browser:
        token = csrf_of(await browser.get("/ui/login"))
        pending = len(idm.login.sessions)
        body = f"csrf={token}&username=".encode() + b"a" * size
        response = await browser.post("/ui/login", content=body, headers=FORM)
        _too_large(response)
        assert len(idm.login.sessions) == pending
        assert (await browser.get("/ui/login")).status_code == 200


async def test_idmd_web_form_size__streamed_without_length_is_cut_at_the_limit(idm: Idm) -> None:
    async with open_browser(idm) as browser:
        token = csrf_of(await browser.get("/ui/reset"))
        sent = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal sent
            yield f"csrf={token}&token=".encode()
            for _ in range(MAX_FORM_BYTES // 1024 + 8):
                sent += 1024
                yield b"a" * 1024

        response = await browser.post("/ui/reset", content=chunks(), headers=FORM)
        _too_large(response)
        assert (await browser.get("/status")).status_code == 200


async def test_idmd_web_form_size__too_many_fields_is_refused(idm: Idm) -> None:
    async with open_browser(idm) as browser:
        token = csrf_of(await browser.get("/ui/login"))
        pending = len(idm.login.sessions)
        body = f"csrf={token}&username=x&" + "&".join(
            f"f{i}=1" for i in range(MAX_FORM_FIELDS)
        )
        response = await browser.post("/ui/login", content=body.encode(), headers=FORM)
        assert response.status_code == 400
        assert len(idm.login.sessions) == pending


async def test_idmd_web_form_size__a_field_twice_is_refused(idm: Idm) -> None:
    async with open_browser(idm) as browser:
        token = csrf_of(await browser.get("/ui/login"))
        pending = len(idm.login.sessions)
        body = f"csrf={token}&username=alice&username=bob"
        response = await browser.post("/ui/login", content=body.encode(), headers=FORM)
        assert response.status_code == 400
        assert len(idm.login.sessions) == pending
