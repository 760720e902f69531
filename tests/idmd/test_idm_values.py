"""Request values: RFC 3339 times normalised to UTC, text, mail and login shell refusals."""

import pytest

from hermit_common.errors import InvalidValue
from idmd.idm.values import (
    iso_time,
    time_to_epoch,
    validate_loginshell,
    validate_mail_list,
    validate_text,
    validate_time,
)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2026-11-25T12:00:00Z", "2026-11-25T12:00:00Z"),
        ("2026-11-25t13:30:00+01:30", "2026-11-25T12:00:00Z"),
        ("2026-11-25T12:00:00.999Z", "2026-11-25T12:00:00Z"),
        ("0001-01-01T02:00:00+01:00", "0001-01-01T01:00:00Z"),
    ],
)
def test_validate_time__normalises_to_utc(raw: str, stored: str) -> None:
    assert validate_time("expire_at", raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-25",
        "2026-11-25T12:00:00",
        "20261125T120000Z",
        "2026-13-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "tomorrow",
        5,
        None,
    ],
)
def test_validate_time__refuses(raw: object) -> None:
    with pytest.raises(InvalidValue):
        validate_time("expire_at", raw)


def test_time_to_epoch__round_trip() -> None:
    assert time_to_epoch("2027-01-15T08:00:00Z") == 1_800_000_000.0
    assert time_to_epoch(None) is None


def test_iso_time__writes_whole_utc_seconds_time_to_epoch_reads() -> None:
    assert iso_time(1_800_000_000.75) == "2027-01-15T08:00:00Z"
    assert time_to_epoch(iso_time(1_800_000_000)) == 1_800_000_000.0


@pytest.mark.parametrize("raw", ["", "  ", "a\nb", "a\x7fb", "x" * 257, 3])
def test_validate_text__refuses(raw: object) -> None:
    with pytest.raises(InvalidValue):
        validate_text("displayname", raw)


@pytest.mark.parametrize("raw", ["a@b", ["a"], ["a@b@c"], ["@b"], ["a @b"], [1]])
def test_validate_mail_list__refuses(raw: object) -> None:
    with pytest.raises(InvalidValue):
        validate_mail_list(raw)


@pytest.mark.parametrize("raw", ["bin/sh", "/bin/sh:", "/bin/\nsh", "/bin/../sh", "/bin/", 1])
def test_validate_loginshell__refuses(raw: object) -> None:
    with pytest.raises(InvalidValue):
        validate_loginshell(raw)


def test_validate_loginshell__accepts_absolute_path() -> None:
    assert validate_loginshell("/usr/bin/zsh") == "/usr/bin/zsh"
