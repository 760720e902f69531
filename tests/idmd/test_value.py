"""Attribute syntaxes: stored forms, and a refusal for each rule."""

from __future__ import annotations

import pytest

from hermit_common.errors import InvalidValue
from idmd.value import Syntax, normalise


@pytest.mark.parametrize(
    ("syntax", "raw", "stored"),
    [
        (Syntax.INAME, " Alice ", "alice"),
        (Syntax.UUID, "0B1E9C2E7A4B4C7E9F573D2F1C1A8E11", "0b1e9c2e-7a4b-4c7e-9f57-3d2f1c1a8e11"),
        (Syntax.UTF8, " Ålice ", "Ålice"),
        (Syntax.MAIL, "Alice@Example.COM", "Alice@example.com"),
        (Syntax.UINT32, "0070000", "70000"),
        (Syntax.PATH, "/bin/bash", "/bin/bash"),
        (Syntax.SSH_KEY, "laptop:ssh-ed25519 AAAA x ", "laptop:ssh-ed25519 AAAA x"),
        (Syntax.TIME, "2030-01-01T02:00:00+02:00", "2030-01-01T00:00:00Z"),
        (Syntax.TIME, "2030-01-01T00:00:00.5Z", "2030-01-01T00:00:00.5Z"),
        (Syntax.BOOL, "TRUE", "true"),
        (Syntax.SESSION, '{"id": "s1", "a": 1}', '{"a":1,"id":"s1"}'),
        (Syntax.FILTER, '{"self": true}', '{"self":true}'),
    ],
)
def test_normalise__stored_form_is_a_fixed_point(syntax: Syntax, raw: str, stored: str) -> None:
    assert normalise(syntax, "a", raw) == stored
    assert normalise(syntax, "a", stored) == stored


@pytest.mark.parametrize(
    ("syntax", "raw"),
    [
        (Syntax.INAME, "1abc"), (Syntax.INAME, "a b"), (Syntax.UUID, "nope"),
        (Syntax.UTF8, ""), (Syntax.UTF8, "a\nb"), (Syntax.UTF8, "x" * 257),
        (Syntax.MAIL, "a@b@c"), (Syntax.MAIL, "nobody"), (Syntax.MAIL, "a b@c"),
        (Syntax.UINT32, "-1"), (Syntax.UINT32, "4294967296"), (Syntax.UINT32, "\uff11\uff12"),
        (Syntax.PATH, "bin/sh"), (Syntax.PATH, "/bin:/sh"), (Syntax.PATH, "/a/../b"),
        (Syntax.SSH_KEY, "nolabel"), (Syntax.SSH_KEY, "Bad Label:key"), (Syntax.SSH_KEY, "l:"),
        (Syntax.SSH_KEY, "l:key\nmore"), (Syntax.TIME, "2030-01-01T00:00:00"),
        (Syntax.TIME, "tomorrow"), (Syntax.CREDENTIAL, ""), (Syntax.BOOL, "yes"),
        (Syntax.SESSION, "[]"), (Syntax.SESSION, '{"id": 3}'), (Syntax.FILTER, '{"eq": 1}'),
        (Syntax.FILTER, "not json"),
    ],
)
def test_normalise__refuses(syntax: Syntax, raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalise(syntax, "a", raw)


def test_normalise__non_string_refused() -> None:
    with pytest.raises(InvalidValue):
        normalise(Syntax.UTF8, "a", 3)


def test_normalise__credential_errors_never_echo_the_value() -> None:
    with pytest.raises(InvalidValue) as info:
        normalise(Syntax.CREDENTIAL, "password", "hunter2\n")
    assert "hunter2" not in str(info.value)
