"""Request bodies, each declared once: the keys a route takes, their JSON types and bounds.

One ``Body`` gives both the handler's parsing (``await BODY.read(request)``) and the
operation's OpenAPI ``requestBody`` schema (``BODY.schema()``, used by ``openapi.py``), so a
key cannot be documented and refused, or accepted and undocumented
(``tests/idmd/test_https_bodies.py`` checks every route of the app against its document).

This module converts JSON types; it does not decide what a value may be. Where a rule is
idm's (a name's length, a password's bytes, a TOTP label, a token's scope), the key is
declared ``checked`` and its value goes on as sent, to the idm function that validates it and
raises the API's error; the schema here only describes that rule for clients.

Rules (docs/api.md "Conventions", in this order, each the first error answered):
- the body is one bounded JSON object (``inputs.read_object``);
- a key not declared is ``invalid_attribute``; a required key missing is ``invalid_request``;
- where a body takes exactly one key of a group, none or two is ``invalid_value``;
- a value of the wrong JSON type is ``invalid_value`` ("name must be a string").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from hermit_common.errors import InvalidValue
from idmd.https.inputs import read_object

JSON = dict[str, Any]
Convert = Callable[[str, object], object]


def _string(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{key} must be a string")
    return value


def _flag(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(f"{key} must be true or false")
    return value


def _strings(key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidValue(f"{key} must be a list of strings")
    return value


@dataclass(frozen=True)
class Key:
    """One key of a body.

    Invariant: ``convert`` (when set) accepts every value ``schema`` allows and returns it as
    the Python type the handler reads; ``None`` hands the JSON value on unchanged.
    """

    schema: JSON
    required: bool = True
    convert: Convert | None = None


def text(*, required: bool = True, **bounds: object) -> Key:
    """A JSON string; ``bounds`` are JSON Schema keywords (``maxLength``) that idm enforces."""
    return Key({"type": "string", **bounds}, required, _string)


def flag() -> Key:
    """A JSON boolean, optional: the handler reads an absent flag as false."""
    return Key({"type": "boolean"}, False, _flag)


def texts(*, required: bool = True, items: JSON | None = None, **bounds: object) -> Key:
    """A JSON array of strings."""
    return Key(
        {"type": "array", "items": items or {"type": "string"}, **bounds}, required, _strings
    )


def checked(schema: JSON, *, required: bool = True) -> Key:
    """A value whose JSON type and value one idm validator checks (its messages stay idm's)."""
    return Key(schema, required, None)


def _whole(key: str, value: object) -> object:
    # JSON Schema's "integer" is any number with a zero fractional part (2020-12 section
    # 6.1.1): 60.0 is the integer 60. Anything else goes on for idm's validator to refuse.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole(schema: JSON, *, required: bool = True) -> Key:
    """An integer (or null, if ``schema`` allows it) that one idm validator checks."""
    return Key(schema, required, _whole)


def nullable(schema: JSON) -> JSON:
    return {"oneOf": [schema, {"type": "null"}]}


def _closed(properties: JSON, required: list[str]) -> JSON:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Body:
    """The keys of one route's JSON object body.

    ``exactly_one_of``: keys of which a request sends exactly one (documented as ``oneOf``).
    """

    keys: Mapping[str, Key] = field(default_factory=dict)
    exactly_one_of: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name, key in self.keys.items() if key.required)

    def schema(self) -> JSON:
        """The OpenAPI ``requestBody`` schema: a closed object (or a ``oneOf`` of them)."""
        properties = {name: key.schema for name, key in self.keys.items()}
        if not self.exactly_one_of:
            return _closed(properties, list(self.required))
        shared = {n: s for n, s in properties.items() if n not in self.exactly_one_of}
        return {
            "oneOf": [
                _closed({**shared, one: properties[one]}, [*self.required, one])
                for one in self.exactly_one_of
            ]
        }

    async def read(self, request: Request) -> dict[str, Any]:
        """The body's keys, each value of its declared JSON type. Errors: see the module doc."""
        body = await read_object(request, allowed=tuple(self.keys), required=self.required)
        if self.exactly_one_of and sum(one in body for one in self.exactly_one_of) != 1:
            raise InvalidValue(f"send exactly one of {' and '.join(self.exactly_one_of)}")
        for name, key in self.keys.items():
            if name in body and key.convert is not None:
                body[name] = key.convert(name, body[name])
        return body


# The body of the routes that take no keys: an empty body, or {} (inputs.read_object).
NO_KEYS = Body()
