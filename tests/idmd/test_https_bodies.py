"""Every route's request body, as the OpenAPI document says it and as the handler parses it.

The document's ``requestBody`` and the handler's parsing come from one ``bodies.Body``; these
tests hold the app to the document from outside: each documented key is accepted (never
``invalid_attribute``), an undocumented key is ``invalid_attribute``, and a route that
documents no body takes no key.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from hermit_common.errors import InvalidRequest, InvalidValue
from idmd.errors import InvalidAttribute
from idmd.https.bodies import NO_KEYS, Body, checked, flag, text, texts
from idmd.https.openapi import build_document
from tests.idmd.app_client import assert_error

DOCUMENT = build_document()
WRITES = ("post", "put", "patch", "delete")


def _documented_keys(operation: dict[str, Any]) -> set[str]:
    if "requestBody" not in operation:
        return set()
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    keys: set[str] = set()
    for variant in schema.get("oneOf", [schema]):
        assert variant["additionalProperties"] is False
        keys |= set(variant["properties"])
    return keys


def _operations() -> list[tuple[str, str, set[str]]]:
    return [
        (path, method, _documented_keys(operation))
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if method in WRITES
    ]


def _url(path: str) -> str:
    # Path parameters name nothing that exists: every handler reads its body before it looks.
    return re.sub(r"\{[^}]+\}", "nobody", path)


async def test_bodies__each_documented_key_is_accepted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    refused = []
    for path, method, keys in _operations():
        for key in sorted(keys):
            response = await client.request(
                method.upper(), _url(path), json={key: None}, headers=admin
            )
            if response.status_code == 400 and response.json()["error"] == "invalid_attribute":
                refused.append((method, path, key))
    assert refused == []


async def test_bodies__an_undocumented_key_is_invalid_attribute(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for path, method, keys in _operations():
        body: dict[str, object] = {key: None for key in keys} | {"undocumented": 1}
        response = await client.request(method.upper(), _url(path), json=body, headers=admin)
        assert_error(response, 400, "invalid_attribute")
        assert "'undocumented'" in response.json()["detail"], (method, path)


def _request(raw: bytes) -> Request:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": raw, "more_body": False}

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


BODY = Body(
    {
        "name": text(maxLength=5),
        "words": texts(required=False),
        "unix": flag(),
        "ttl": checked({"type": "integer"}, required=False),
    }
)


def test_body__schema_is_closed_and_names_the_required_keys() -> None:
    assert BODY.schema() == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 5},
            "words": {"type": "array", "items": {"type": "string"}},
            "unix": {"type": "boolean"},
            "ttl": {"type": "integer"},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    assert NO_KEYS.schema()["properties"] == {}


def test_body__exactly_one_of_is_documented_as_one_of() -> None:
    body = Body({"a": text(required=False), "b": text(required=False)}, exactly_one_of=("a", "b"))
    assert [variant["required"] for variant in body.schema()["oneOf"]] == [["a"], ["b"]]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b'{"name": "x", "other": 1}', InvalidAttribute),
        (b'{"words": []}', InvalidRequest),
        (b'{"name": 5}', InvalidValue),
        (b'{"name": "x", "unix": "yes"}', InvalidValue),
        (b'{"name": "x", "words": ["a", 1]}', InvalidValue),
    ],
)
async def test_body__read_refuses_with_the_api_errors(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        await BODY.read(_request(raw))


async def test_body__read_hands_checked_values_on_unchanged() -> None:
    body = await BODY.read(_request(b'{"name": "x", "unix": true, "ttl": "soon"}'))
    assert body == {"name": "x", "unix": True, "ttl": "soon"}


async def test_body__exactly_one_of_refuses_none_and_both() -> None:
    body = Body({"a": text(required=False), "b": text(required=False)}, exactly_one_of=("a", "b"))
    for raw in (b"{}", b'{"a": "1", "b": "2"}'):
        with pytest.raises(InvalidValue):
            await body.read(_request(raw))
    assert await body.read(_request(b'{"b": "2"}')) == {"b": "2"}
