"""Reading forms: urlencoded only, bounded in bytes and fields, each field once, UTF-8."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.types import Message

from hermit_common.errors import InvalidRequest
from idmd.errors import BodyTooLarge
from idmd.web.forms import MAX_FORM_BYTES, MAX_FORM_FIELDS, NotAForm, read_form

FORM = "application/x-www-form-urlencoded"


def _request(body: bytes, *, kind: str = FORM, declared: int | None = None) -> Request:
    headers = [(b"content-type", kind.encode())]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    parts = [body[i : i + 1000] for i in range(0, len(body), 1000)] or [b""]

    async def chunks() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    stream = chunks()

    async def receive() -> Message:
        try:
            part = await stream.__anext__()
        except StopAsyncIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": part, "more_body": True}

    scope = {"type": "http", "method": "POST", "path": "/ui/login", "headers": headers}
    return Request(scope, receive)


async def test_forms__fields_are_decoded() -> None:
    form = await read_form(_request(b"csrf=abc&username=al%C3%AFce&empty="))
    assert form == {"csrf": "abc", "username": "alïce", "empty": ""}


async def test_forms__charset_parameter_is_fine() -> None:
    assert await read_form(_request(b"a=1", kind=FORM + "; charset=utf-8")) == {"a": "1"}


@pytest.mark.parametrize("kind", ["application/json", "multipart/form-data; boundary=x", ""])
async def test_forms__only_urlencoded(kind: str) -> None:
    with pytest.raises(NotAForm):
        await read_form(_request(b"a=1", kind=kind))


async def test_forms__declared_over_the_limit_is_refused_unread() -> None:
    with pytest.raises(BodyTooLarge):
        await read_form(_request(b"a=1", declared=MAX_FORM_BYTES + 1))


async def test_forms__streamed_over_the_limit_is_refused() -> None:
    with pytest.raises(BodyTooLarge):
        await read_form(_request(b"a=" + b"x" * MAX_FORM_BYTES))


async def test_forms__exactly_the_limit_is_read() -> None:
    body = b"a=" + b"x" * (MAX_FORM_BYTES - 2)
    assert len((await read_form(_request(body)))["a"]) == MAX_FORM_BYTES - 2


@pytest.mark.parametrize(
    "body",
    [
        b"&".join(b"f%d=1" % i for i in range(MAX_FORM_FIELDS + 1)),
        b"a=1&a=2",
        b"a=%FF",
        "a=é".encode(),
    ],
)
async def test_forms__malformed_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        await read_form(_request(body))
