"""The WHEN forms of ``--expire-at`` and ``--begin-at``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hermit_cli.errors import UsageError
from hermit_cli.when import parse_when

NOW = datetime(2026, 5, 1, 12, 30, 45, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("never", None),
        ("NEVER", None),
        ("now", "2026-05-01T12:30:45Z"),
        ("2026-12-31", "2026-12-31T00:00:00Z"),
        ("2026-11-25T12:00:00Z", "2026-11-25T12:00:00Z"),
        ("2026-11-25t12:00:00z", "2026-11-25T12:00:00Z"),
        ("2026-11-25 12:00:00Z", "2026-11-25T12:00:00Z"),
        ("2026-11-25T13:00:00+01:00", "2026-11-25T12:00:00Z"),
        ("2026-11-25T00:30:00-02:00", "2026-11-25T02:30:00Z"),
        ("2026-11-25T12:00:00.999Z", "2026-11-25T12:00:00Z"),
    ],
)
def test_when__accepted_forms(text: str, expected: str | None) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T12:00:00",  # no offset: RFC 3339 requires one
        "2026-13-01",
        "2026-02-30",
        "20261125T120000Z",
        "tomorrow",
        "",
        "2026-11-25T25:00:00Z",
    ],
)
def test_when__rejected_forms(text: str) -> None:
    with pytest.raises(UsageError):
        parse_when(text, NOW)
